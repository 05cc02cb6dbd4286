// `noded --metrics-port P`: the node's counters as Prometheus text over HTTP
// (GET /metrics), served by a small Asio thread of its own. It reads the node
// through its public API only (`stats`, `members`, `info`), the same figures
// `clusterctl stats` prints.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cluster/error.hpp"
#include "cluster/node.hpp"

namespace noded {

class metrics_server {
 public:
  /// Binds `address:port` and starts serving. Errors: `io_error`.
  static cluster::result<std::unique_ptr<metrics_server>> start(cluster::node& node, const std::string& address,
                                                                std::uint16_t port);
  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

 private:
  class impl;
  explicit metrics_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// The Prometheus text exposition of a node's state (used by the server; a
/// function of its own so it can be read and tested without HTTP).
std::string prometheus_text(const cluster::node_stats& stats, const std::vector<cluster::member>& members,
                            const cluster::node_info& info);

}  // namespace noded
