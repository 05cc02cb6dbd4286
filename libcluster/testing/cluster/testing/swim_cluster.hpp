// A cluster of SWIM engines on the simulated datagram network, driven by a
// manual clock: no threads, no sockets, no sleeps. The same seed replays the
// same run. Node i is "n<i>@10.0.<i/250>.<i%250+1>", UDP port 4370. Shared by
// the simulation tests and bench/membership_sim.
#pragma once

#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "cluster/testing/sim_datagrams.hpp"
#include "membership/swim.hpp"

namespace cluster::testing {

using internal::membership::change;
using internal::membership::swim;
using internal::membership::swim_listener;

struct swim_event {
  change what;
  std::string member;
  std::string reporter;
  time_point at;
};

struct swim_node final : swim_listener {
  std::string name;
  endpoint address;
  std::unique_ptr<swim> engine;
  std::vector<swim_event> events;
  bool running = true;  ///< false while crashed or frozen: not ticked
  const cluster::clock* clk = nullptr;
  std::optional<time_point> due;  ///< cached next_deadline

  void on_member_change(const member& m, change what, const std::string& reporter) override {
    events.push_back({what, m.name, reporter, clk->now()});
  }
  /// The state `other` has in this node's table, if it knows it.
  std::optional<member_state> view(const std::string& other) const { return engine->state_of(other); }
};

class swim_cluster {
 public:
  explicit swim_cluster(std::uint64_t seed, membership_config cfg = membership_config::lan(),
                        sim_datagrams::options net = {})
      : net_(clock_, seed, net), cfg_(cfg), seed_(seed) {}

  static std::string name_of(int i) {
    // Appended, not `"n" + ...`: GCC 12 at -O3 warns wrongly (-Wrestrict,
    // its bug 105651) about `const char* + std::string&&` inlined here.
    std::string name = "n";
    name += std::to_string(i);
    name += '@';
    name += host_of(i);
    return name;
  }
  static std::string host_of(int i) { return "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1); }
  static endpoint address_of(int i) { return {host_of(i), 4370}; }

  /// Starts node `i` (again, with a new creation, if it ran before) joining through `seeds`.
  swim_node& start(int i, std::vector<int> seeds = {}, std::uint32_t creation = 0) {
    auto n = std::make_unique<swim_node>();
    n->name = name_of(i);
    n->address = address_of(i);
    n->clk = &clock_;
    auto* raw = n.get();
    auto& port = net_.attach(n->address, [this, raw, i](const endpoint& from, std::span<const std::uint8_t> b) {
      if (raw->running) {
        raw->engine->on_datagram(from, b);
        reschedule(i);
      }
    });
    net_.set_down(n->address.host, false);
    swim::identity id{n->name,
                      n->address,
                      creation ? creation : static_cast<std::uint32_t>(i + 1),
                      static_cast<std::uint64_t>(clock_.now().time_since_epoch().count() / 1000000),
                      {}};
    n->engine =
        std::make_unique<swim>(cfg_, id, port, clock_, *n, seed_ * 1000003 + static_cast<std::uint64_t>(i) + creation);
    std::vector<endpoint> s;
    for (int j : seeds) s.push_back(address_of(j));
    n->engine->set_seeds(s);
    auto& placed = nodes_[i] = std::move(n);
    reschedule(i);
    return *placed;
  }

  /// Hands every running node the whole table at once, as a seed's answer
  /// to a join would: a large cluster in steady state without simulating
  /// the storm of N simultaneous joins.
  void introduce_all() {
    std::vector<cluster::internal::wire::member_update> table;
    for (auto& [i, n] : nodes_) {
      const auto& id = n->engine->self();
      table.push_back({id.name, id.address.host, id.address.port, id.creation, id.incarnation, 0, {}, id.name});
    }
    for (auto& [i, n] : nodes_) {
      for (std::size_t at = 0; at < table.size(); at += 16) {
        const auto end = std::min(table.size(), at + 16);
        const auto bytes = cluster::internal::wire::encode(cluster::internal::wire::swim_sync{
            false, name_of(0), {table.begin() + static_cast<long>(at), table.begin() + static_cast<long>(end)}});
        n->engine->on_datagram(address_of(0), bytes);
      }
      reschedule(i);
    }
  }

  swim_node& operator[](int i) { return *nodes_.at(i); }
  std::map<int, std::unique_ptr<swim_node>>& nodes() { return nodes_; }
  sim_datagrams& net() { return net_; }
  cluster::testing::manual_clock& clock() { return clock_; }

  /// The process dies: no more datagrams, no more ticks.
  void crash(int i) {
    nodes_.at(i)->running = false;
    net_.set_down(host_of(i), true);
  }
  /// SIGSTOP / SIGCONT: the same process, paused.
  void freeze(int i, bool frozen) {
    nodes_.at(i)->running = !frozen;
    net_.set_down(host_of(i), frozen);
    reschedule(i);
  }

  /// Runs the simulation for `d` of simulated time.
  void run_for(duration d) {
    const auto end = clock_.now() + d;
    while (true) {
      time_point next = end;
      if (auto t = net_.next_delivery()) next = std::min(next, *t);
      while (!agenda_.empty() && stale(agenda_.top())) agenda_.pop();
      if (!agenda_.empty()) next = std::min(next, agenda_.top().first);
      clock_.advance_to(next);
      net_.deliver_due();
      while (!agenda_.empty() && agenda_.top().first <= clock_.now()) {
        const auto [at, i] = agenda_.top();
        agenda_.pop();
        auto& n = *nodes_.at(i);
        if (stale({at, i})) continue;
        n.engine->tick();
        reschedule(i);
      }
      if (clock_.now() >= end) return;
    }
  }

  /// Runs until `pred` holds or `limit` passes; true if it held.
  template <class Pred>
  bool run_until(Pred pred, duration limit, duration step = milliseconds(10)) {
    const auto end = clock_.now() + limit;
    while (clock_.now() < end) {
      if (pred()) return true;
      run_for(step);
    }
    return pred();
  }

  /// Every running node sees exactly the running nodes as alive.
  bool converged() {
    for (auto& [i, n] : nodes_) {
      if (!n->running) continue;
      for (auto& [j, o] : nodes_) {
        if (i == j) continue;
        const auto v = n->view(o->name);
        if (o->running && v != member_state::alive) return false;
      }
    }
    return true;
  }

 private:
  using entry = std::pair<time_point, int>;
  /// Notes node i's next deadline; older agenda entries for it go stale.
  void reschedule(int i) {
    auto& n = *nodes_.at(i);
    n.due = n.running ? n.engine->next_deadline() : std::nullopt;
    if (n.due) agenda_.push({*n.due, i});
  }
  bool stale(const entry& e) const {
    const auto& n = *nodes_.at(e.second);
    return !n.running || n.due != e.first;
  }

  std::priority_queue<entry, std::vector<entry>, std::greater<>> agenda_;
  cluster::testing::manual_clock clock_;
  sim_datagrams net_;
  membership_config cfg_;
  std::uint64_t seed_;
  std::map<int, std::unique_ptr<swim_node>> nodes_;
};

}  // namespace cluster::testing
