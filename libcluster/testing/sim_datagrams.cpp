#include "cluster/testing/sim_datagrams.hpp"

namespace cluster::testing {

void sim_datagrams::port::send_datagram(const endpoint& to, std::span<const std::uint8_t> bytes) {
  net_.send(self_, to, bytes);
}

sim_datagrams::port& sim_datagrams::attach(const endpoint& at, receiver deliver) {
  auto& slot = ports_[at];
  slot.first = std::make_unique<port>(*this, at);
  slot.second = std::move(deliver);
  return *slot.first;
}

void sim_datagrams::set_down(const std::string& host, bool down) {
  if (down)
    down_.insert(host);
  else
    down_.erase(host);
}

void sim_datagrams::partition(const std::set<std::string>& side_a, const std::set<std::string>& side_b) {
  for (const auto& a : side_a)
    for (const auto& b : side_b) {
      cuts_.insert({a, b});
      cuts_.insert({b, a});
    }
}

bool sim_datagrams::cut(const std::string& a, const std::string& b) const { return cuts_.contains({a, b}); }

void sim_datagrams::send(const endpoint& from, const endpoint& to, std::span<const std::uint8_t> bytes) {
  ++sent_;
  bytes_ += bytes.size();
  bytes_by_host_[from.host] += bytes.size();
  std::uniform_real_distribution<double> coin(0, 1);
  if (down_.contains(from.host) || coin(rng_) < options_.loss) {
    ++lost_;
    return;
  }
  std::uniform_int_distribution<long> jitter(0, (options_.max_delay - options_.min_delay).count());
  auto at = clock_.now() + options_.min_delay + duration(jitter(rng_));
  if (auto it = slow_.find(from.host); it != slow_.end()) at += it->second;
  in_flight_.push({at, seq_++, from, to, {bytes.begin(), bytes.end()}});
}

std::optional<time_point> sim_datagrams::next_delivery() const {
  if (in_flight_.empty()) return std::nullopt;
  return in_flight_.top().at;
}

void sim_datagrams::deliver_due() {
  while (!in_flight_.empty() && in_flight_.top().at <= clock_.now()) {
    const flight f = in_flight_.top();
    in_flight_.pop();
    // Checked on arrival: a partition or crash that began in flight still bites.
    auto it = ports_.find(f.to);
    if (it == ports_.end() || down_.contains(f.to.host) || cut(f.from.host, f.to.host)) {
      ++lost_;
      continue;
    }
    it->second.second(f.from, f.bytes);
  }
}

}  // namespace cluster::testing
