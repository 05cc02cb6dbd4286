#include "cluster/testing/sim_network.hpp"

namespace cluster::testing {

result<internal::conn_id> sim_endpoint::connect(const std::string& host, std::uint16_t port, const std::string&) {
  return net_.connect(*this, host + ":" + std::to_string(port));
}
bool sim_endpoint::send(internal::conn_id c, std::span<const std::uint8_t> frame) { return net_.send(*this, c, frame); }
void sim_endpoint::close(internal::conn_id c) { net_.close(*this, c); }

sim_network::sim_network(manual_clock& clock, sim_options options)
    : clock_(clock), options_(options), rng_(options.seed) {}

sim_endpoint& sim_network::add(const std::string& host, std::uint16_t port) {
  const std::string address = host + ":" + std::to_string(port);
  auto& slot = endpoints_[address];
  slot = std::make_unique<sim_endpoint>(*this, address);
  return *slot;
}

duration sim_network::delay() {
  const auto lo = options_.min_delay.count(), hi = options_.max_delay.count();
  return duration(std::uniform_int_distribution<duration::rep>(lo, std::max(lo, hi))(rng_));
}

bool sim_network::cut(const std::string& x, const std::string& y) const {
  return cuts_.count({x, y}) > 0 || frozen_.count(x) > 0 || frozen_.count(y) > 0;
}

result<internal::conn_id> sim_network::connect(sim_endpoint& from, const std::string& to) {
  // Like a ZeroMQ DEALER, connecting never fails: frames wait for a listener
  // that may never come (and are lost if none is there when they arrive).
  const std::uint64_t key = next_key_++;
  connection c;
  c.a = {from.address(), next_conn_++};
  c.b = {to, next_conn_++};
  conn_of_[{c.a.endpoint, c.a.conn}] = key;
  conn_of_[{c.b.endpoint, c.b.conn}] = key;
  connections_.emplace(key, c);
  return c.a.conn;
}

bool sim_network::send(sim_endpoint& from, internal::conn_id id, std::span<const std::uint8_t> frame) {
  const auto k = conn_of_.find({from.address(), id});
  if (k == conn_of_.end()) return false;
  connection& c = connections_.at(k->second);
  const bool forward = c.a.endpoint == from.address() && c.a.conn == id;
  const pipe_end to = forward ? c.b : c.a;
  if (cut(from.address(), to.endpoint) ||
      (options_.loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < options_.loss)) {
    ++lost_;
    return true;  // the sender cannot tell: the network ate it
  }
  time_point& last = forward ? c.last_a_to_b : c.last_b_to_a;
  last = std::max(last, clock_.now() + delay());  // FIFO per direction
  events_.push(event{last, next_seq_++, to, {frame.begin(), frame.end()}, false});
  return true;
}

void sim_network::close(sim_endpoint& from, internal::conn_id id) {
  const auto k = conn_of_.find({from.address(), id});
  if (k == conn_of_.end()) return;
  const connection c = connections_.at(k->second);
  const pipe_end other = c.a.endpoint == from.address() && c.a.conn == id ? c.b : c.a;
  // The other side learns of the close after the frames already in flight.
  const time_point& last = c.a.endpoint == from.address() ? c.last_a_to_b : c.last_b_to_a;
  if (!cut(from.address(), other.endpoint))
    events_.push(event{std::max(last, clock_.now() + delay()), next_seq_++, other, {}, true});
  conn_of_.erase(k);
}

void sim_network::crash(const std::string& address) {
  std::vector<std::pair<std::string, internal::conn_id>> mine;
  for (const auto& [key, k] : conn_of_)
    if (key.first == address) mine.push_back(key);
  auto it = endpoints_.find(address);
  if (it == endpoints_.end()) return;
  for (const auto& [ep, id] : mine) close(*it->second, id);
  endpoints_.erase(it);
  frozen_.erase(address);
}

void sim_network::freeze(const std::string& address, bool frozen) {
  if (frozen)
    frozen_.insert(address);
  else
    frozen_.erase(address);
}

void sim_network::partition(const std::set<std::string>& side_a, const std::set<std::string>& side_b) {
  for (const auto& x : side_a)
    for (const auto& y : side_b) {
      cuts_.insert({x, y});
      cuts_.insert({y, x});
    }
}

void sim_network::heal() { cuts_.clear(); }

std::optional<time_point> sim_network::next_event() const {
  if (events_.empty()) return std::nullopt;
  return events_.top().at;
}

void sim_network::deliver_due() {
  while (!events_.empty() && events_.top().at <= clock_.now()) {
    event e = events_.top();
    events_.pop();
    const auto ep = endpoints_.find(e.to.endpoint);
    if (ep == endpoints_.end() || frozen_.count(e.to.endpoint)) {
      ++lost_;
      continue;
    }
    const auto k = conn_of_.find({e.to.endpoint, e.to.conn});
    if (k == conn_of_.end()) {
      ++lost_;  // closed on this side already
      continue;
    }
    if (e.close) {
      conn_of_.erase(k);
      if (ep->second->handler_) ep->second->handler_->on_closed(e.to.conn);
      continue;
    }
    if (ep->second->handler_) ep->second->handler_->on_frame(e.to.conn, e.frame);
  }
}

}  // namespace cluster::testing
