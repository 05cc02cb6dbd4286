// An in-memory datagram network for membership simulations: seeded delay and
// loss, crashed hosts, partitions, and slow hosts whose every datagram leaves
// late (a process starved of CPU). Driven by a manual clock, one thread, no
// sleeps; the same seed replays the same run.
#pragma once

#include <functional>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cluster/testing/manual_clock.hpp"
#include "membership/swim.hpp"

namespace cluster::testing {

using internal::membership::endpoint;

struct datagram_options {
  duration min_delay = std::chrono::microseconds(100);
  duration max_delay = std::chrono::microseconds(1000);
  double loss = 0;  ///< probability that any one datagram vanishes
};

class sim_datagrams {
 public:
  using options = datagram_options;
  using receiver = std::function<void(const endpoint& from, std::span<const std::uint8_t>)>;

  /// A host's socket: what the engine sends through.
  class port final : public internal::membership::datagram_sink {
   public:
    port(sim_datagrams& net, endpoint self) : net_(net), self_(std::move(self)) {}
    void send_datagram(const endpoint& to, std::span<const std::uint8_t> bytes) override;

   private:
    sim_datagrams& net_;
    endpoint self_;
  };

  sim_datagrams(manual_clock& clock, std::uint64_t seed, options opts = {})
      : clock_(clock), rng_(seed), options_(opts) {}

  /// Binds `at`; datagrams for it go to `deliver`.
  port& attach(const endpoint& at, receiver deliver);
  /// A crashed (or frozen) host sends and receives nothing.
  void set_down(const std::string& host, bool down);
  /// Everything `host` sends leaves `extra` late.
  void set_slow(const std::string& host, duration extra) { slow_[host] = extra; }
  void set_loss(double p) { options_.loss = p; }
  void partition(const std::set<std::string>& side_a, const std::set<std::string>& side_b);
  void heal() { cuts_.clear(); }

  std::optional<time_point> next_delivery() const;
  /// Delivers every datagram due by now.
  void deliver_due();

  std::uint64_t sent() const { return sent_; }
  std::uint64_t lost() const { return lost_; }
  std::uint64_t bytes_sent() const { return bytes_; }
  /// Bytes each host has sent so far.
  const std::map<std::string, std::uint64_t>& bytes_by_host() const { return bytes_by_host_; }

 private:
  struct flight {
    time_point at;
    std::uint64_t seq;
    endpoint from, to;
    std::vector<std::uint8_t> bytes;
    bool operator>(const flight& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  void send(const endpoint& from, const endpoint& to, std::span<const std::uint8_t> bytes);
  bool cut(const std::string& a, const std::string& b) const;

  manual_clock& clock_;
  std::mt19937_64 rng_;
  options options_;
  std::map<endpoint, std::pair<std::unique_ptr<port>, receiver>> ports_;
  std::set<std::string> down_;
  std::map<std::string, duration> slow_;
  std::set<std::pair<std::string, std::string>> cuts_;
  std::priority_queue<flight, std::vector<flight>, std::greater<>> in_flight_;
  std::uint64_t seq_ = 0, sent_ = 0, lost_ = 0, bytes_ = 0;
  std::map<std::string, std::uint64_t> bytes_by_host_;
};

}  // namespace cluster::testing
