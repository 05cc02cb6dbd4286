// An in-memory network with the `transport` interface, for deterministic
// simulation: every frame is delivered after a seeded random delay (per
// connection FIFO, like a TCP stream), may be lost with a seeded probability,
// and is dropped across a partition. Endpoints can crash (peers see the
// connection close, as after a RST) or freeze (silence, no close).
//
// Single-threaded: the test loop calls `deliver_due` after advancing the clock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cluster/testing/manual_clock.hpp"
#include "transport/transport.hpp"

namespace cluster::testing {

struct sim_options {
  std::uint64_t seed = 1;
  duration min_delay = std::chrono::microseconds(100);
  duration max_delay = std::chrono::milliseconds(2);
  double loss = 0.0;  ///< probability that any one frame is lost
};

class sim_network;

/// One node's view of the network: a transport bound at `address`.
class sim_endpoint final : public internal::transport {
 public:
  sim_endpoint(sim_network& net, std::string address) : net_(net), address_(std::move(address)) {}
  const std::string& address() const { return address_; }

  void set_handler(internal::transport_handler* h) override { handler_ = h; }
  result<internal::conn_id> connect(const std::string& host, std::uint16_t port, const std::string& peer) override;
  bool send(internal::conn_id c, std::span<const std::uint8_t> frame) override;
  void close(internal::conn_id c) override;

 private:
  friend class sim_network;
  sim_network& net_;
  std::string address_;
  internal::transport_handler* handler_ = nullptr;
};

class sim_network {
 public:
  sim_network(manual_clock& clock, sim_options options);

  /// A new endpoint listening at `host:port`.
  sim_endpoint& add(const std::string& host, std::uint16_t port);
  /// The endpoint dies: its connections close (peers are told after a delay)
  /// and it is removed. References to it become invalid.
  void crash(const std::string& address);
  /// The endpoint stops sending and receiving, but nobody is told.
  void freeze(const std::string& address, bool frozen);
  /// Frames between the two sides are lost until `heal`.
  void partition(const std::set<std::string>& side_a, const std::set<std::string>& side_b);
  void heal();
  void set_loss(double p) { options_.loss = p; }

  /// When the next frame or close is due, if any.
  std::optional<time_point> next_event() const;
  /// Delivers every frame and close due at or before the clock's now.
  void deliver_due();

  std::uint64_t frames_lost() const { return lost_; }

 private:
  friend class sim_endpoint;
  struct pipe_end {
    std::string endpoint;  // whose connection id this is
    internal::conn_id conn = 0;
  };
  struct connection {
    pipe_end a, b;  // a dialled b
    time_point last_a_to_b{}, last_b_to_a{};
  };
  struct event {
    time_point at;
    std::uint64_t seq = 0;
    pipe_end to;
    std::vector<std::uint8_t> frame;
    bool close = false;
    bool operator>(const event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  result<internal::conn_id> connect(sim_endpoint& from, const std::string& to);
  bool send(sim_endpoint& from, internal::conn_id c, std::span<const std::uint8_t> frame);
  void close(sim_endpoint& from, internal::conn_id c);
  bool cut(const std::string& x, const std::string& y) const;
  duration delay();

  manual_clock& clock_;
  sim_options options_;
  std::mt19937_64 rng_;
  std::map<std::string, std::unique_ptr<sim_endpoint>> endpoints_;
  std::set<std::string> frozen_;
  std::set<std::pair<std::string, std::string>> cuts_;
  std::map<std::pair<std::string, internal::conn_id>, std::uint64_t> conn_of_;  // (endpoint, conn) -> key
  std::map<std::uint64_t, connection> connections_;
  std::priority_queue<event, std::vector<event>, std::greater<>> events_;
  internal::conn_id next_conn_ = 1;
  std::uint64_t next_key_ = 1, next_seq_ = 1, lost_ = 0;
};

}  // namespace cluster::testing
