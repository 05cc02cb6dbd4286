// One timer service per runtime: `send_after`, cancellation, and receive
// timeouts. Time comes from a `clock`; with a real clock a thread fires timers
// as they fall due, with a manual clock the test calls `fire_due` after moving
// the clock. Callbacks run without the lock held. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "cluster/clock.hpp"

namespace cluster::internal {

class timer_service {
 public:
  using callback = std::function<void()>;

  /// `threaded`: fire timers from an own thread (production); otherwise only
  /// from `fire_due`.
  timer_service(const clock& clk, bool threaded);
  ~timer_service();

  /// Runs `fn` once `delay` has passed; returns an id for `cancel` (never 0).
  std::uint64_t start(duration delay, callback fn);
  /// False if the timer already fired or never existed.
  bool cancel(std::uint64_t id);
  /// Fires every timer due at the clock's now; returns how many fired.
  std::size_t fire_due();
  /// Stops the thread; pending timers are dropped.
  void stop();
  std::size_t pending() const;
  /// The clock timers run on (the runtime's time).
  const clock& time() const { return clock_; }

 private:
  void run();

  const clock& clock_;
  mutable std::mutex mutex_;  // guards by_deadline_, by_id_, next_id_, sleeping_until_, stopping_
  std::condition_variable changed_;
  std::multimap<time_point, std::uint64_t> by_deadline_;
  std::unordered_map<std::uint64_t, std::pair<std::multimap<time_point, std::uint64_t>::iterator, callback>> by_id_;
  std::uint64_t next_id_ = 1;
  /// When the thread will look at the deadlines next: a later timer need not wake it.
  time_point sleeping_until_ = time_point::min();
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cluster::internal
