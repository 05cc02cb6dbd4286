// A cluster of link managers on the simulated network, driven by a manual
// clock: no threads, no sockets, no sleeps. The same seed replays the same run.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/testing/sim_network.hpp"
#include "links/link_manager.hpp"

namespace sim {

using namespace cluster;
using namespace cluster::internal;

struct sim_node final : link_listener {
  std::string name;
  std::unique_ptr<link_manager> links;
  std::vector<std::string> log;  ///< "up n2@h", "down n2@h no_connection", ...

  void on_link_up(const link_info& p) override {
    if (p.kind == wire::peer_kind::node) log.push_back("up " + p.name);
  }
  void on_link_down(const link_info& p, const error& e) override {
    if (p.kind == wire::peer_kind::node) log.push_back("down " + p.name + " " + std::string(to_string(e.code)));
  }
  std::map<std::string, std::vector<std::uint64_t>> received;  ///< `pong` sequence numbers, by sender
  void on_message(const link_info& from, wire::message&& m) override {
    if (const auto* p = std::get_if<wire::pong>(&m)) received[from.name].push_back(p->seq);
  }

  std::set<std::string> peers() const {
    std::set<std::string> out;
    for (const auto& l : links->nodes()) out.insert(l.name);
    return out;
  }
};

class sim_cluster {
 public:
  /// Frames arrive at once (no delay), and are lost with probability `loss`.
  explicit sim_cluster(std::uint64_t seed, double loss = 0.0) : net_(clock_, {seed, {}, {}, loss}), seed_(seed) {}
  /// Any network: seeded delays, loss.
  explicit sim_cluster(testing::sim_options network) : net_(clock_, network), seed_(network.seed) {}

  /// Starts `name` (as `name@host`, each on its own host) with the cookie and seeds.
  sim_node& start(const std::string& name, const std::string& cookie = "secret",
                  const std::vector<std::string>& join = {}) {
    auto n = std::make_unique<sim_node>();
    n->name = name;
    const auto parsed = *parse_node_name(name);
    link_config c;
    c.self = {wire::peer_kind::node, name, parsed.port, next_creation_++, 0};
    c.host = parsed.host;
    c.handshake_key = crypto::derive_key(cookie, crypto::key_purpose::handshake);
    // Seeded nonces keep the whole run reproducible.
    c.random = [this](std::size_t len) {
      std::vector<std::uint8_t> out(len);
      for (auto& b : out) b = static_cast<std::uint8_t>(rng_());
      return out;
    };
    auto& ep = net_.add(parsed.host, parsed.port);
    n->links = std::make_unique<link_manager>(c, ep, clock_, *n);
    for (const auto& j : join) n->links->join(*parse_node_name(j));
    auto& ref = *n;
    nodes_[name] = std::move(n);
    return ref;
  }

  /// Kills a node abruptly: its connections close as after a crash.
  void crash(const std::string& name) {
    const auto parsed = *parse_node_name(name);
    nodes_.erase(name);
    net_.crash(parsed.host + ":" + std::to_string(parsed.port));
  }

  /// A graceful stop: the node says goodbye first.
  void stop(const std::string& name) {
    nodes_.at(name)->links->leave("shutdown");
    run_for(milliseconds(50));
    crash(name);
  }

  /// Advances simulated time by `d`, delivering frames and firing timers in order.
  void run_for(duration d) {
    const time_point end = clock_.now() + d;
    for (int guard = 0; guard < 10'000'000; ++guard) {
      std::optional<time_point> next = net_.next_event();
      for (auto& [name, n] : nodes_)
        if (auto t = n->links->next_deadline(); t && (!next || *t < *next)) next = t;
      if (!next || *next > end) break;
      clock_.advance_to(*next);
      net_.deliver_due();
      for (auto& [name, n] : nodes_) n->links->tick();
    }
    clock_.advance_to(end);
    net_.deliver_due();
  }

  sim_node& operator[](const std::string& name) { return *nodes_.at(name); }
  bool has(const std::string& name) const { return nodes_.count(name) > 0; }
  testing::sim_network& network() { return net_; }
  testing::manual_clock& clock() { return clock_; }
  std::uint64_t seed() const { return seed_; }

  /// True when every running node is linked to every other running node.
  bool full_mesh() const {
    for (const auto& [name, n] : nodes_) {
      std::set<std::string> expected;
      for (const auto& [other, m] : nodes_)
        if (other != name) expected.insert(other);
      if (n->peers() != expected) return false;
    }
    return true;
  }

 private:
  testing::manual_clock clock_;
  testing::sim_network net_;
  std::uint64_t seed_;
  std::mt19937_64 rng_{seed_};
  std::uint32_t next_creation_ = 1;
  std::map<std::string, std::unique_ptr<sim_node>> nodes_;
};

}  // namespace sim
