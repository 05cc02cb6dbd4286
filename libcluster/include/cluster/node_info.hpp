// What a node says about itself and about the nodes it is connected to.
// Plain value types.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cluster {

/// A peer node as this node knows it.
struct peer_node {
  std::string name;  ///< `name@host`
  std::string host;
  std::uint16_t port = 0;
  std::uint32_t creation = 0;

  friend bool operator==(const peer_node&, const peer_node&) = default;
};

/// A node's identity and vital statistics (`clusterctl info`).
struct node_info {
  std::string name;  ///< `name@host`
  std::string host;
  std::uint16_t port = 0;
  std::uint32_t creation = 0;
  std::chrono::milliseconds uptime{0};
  std::string version;  ///< the libcluster version the node runs
  std::uint64_t process_count = 0;
  std::uint64_t node_count = 0;  ///< connected peer nodes
  std::uint16_t dist_port = 0;   ///< where node links arrive (the direct lane); 0: through ZeroMQ only
};

}  // namespace cluster
