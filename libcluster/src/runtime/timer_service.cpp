#include "runtime/timer_service.hpp"

#include <vector>

namespace cluster::internal {

timer_service::timer_service(const clock& clk, bool threaded) : clock_(clk) {
  if (threaded) thread_ = std::thread([this] { run(); });
}

timer_service::~timer_service() { stop(); }

std::uint64_t timer_service::start(duration delay, callback fn) {
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  const time_point deadline = clock_.now() + delay;
  const auto it = by_deadline_.emplace(deadline, id);
  by_id_.emplace(id, std::make_pair(it, std::move(fn)));
  // Only a deadline before the one the thread sleeps until needs it awake:
  // a caller's timeout is usually cancelled long before it falls due, and
  // waking the thread for each (a futex call and a context switch, on two
  // CPUs) cost every one-at-a-time remote call.
  if (deadline < sleeping_until_) changed_.notify_one();
  return id;
}

bool timer_service::cancel(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  by_deadline_.erase(it->second.first);
  by_id_.erase(it);
  return true;
}

std::size_t timer_service::fire_due() {
  std::vector<callback> due;
  {
    std::lock_guard lock(mutex_);
    const time_point now = clock_.now();
    while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
      const auto id = by_deadline_.begin()->second;
      by_deadline_.erase(by_deadline_.begin());
      auto node = by_id_.extract(id);
      due.push_back(std::move(node.mapped().second));
    }
  }
  for (auto& fn : due) fn();
  return due.size();
}

std::size_t timer_service::pending() const {
  std::lock_guard lock(mutex_);
  return by_id_.size();
}

void timer_service::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (by_deadline_.empty()) {
      sleeping_until_ = time_point::max();
      changed_.wait(lock);
      continue;
    }
    const time_point next = by_deadline_.begin()->first;
    if (clock_.now() < next) {
      // Cancelled timers leave `next` in place: waking for one finds
      // nothing due and sleeps again, until the earliest left.
      sleeping_until_ = next;
      changed_.wait_until(lock, next);
      continue;
    }
    sleeping_until_ = time_point::min();  // firing: it looks at the deadlines again before it sleeps
    lock.unlock();
    fire_due();
    lock.lock();
  }
}

void timer_service::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    by_deadline_.clear();
    by_id_.clear();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cluster::internal
