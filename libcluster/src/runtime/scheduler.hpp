// Runs processes on N worker threads, or on the caller's thread in manual mode.
//
// Each worker owns a run queue (FIFO, mutex-guarded: with a handful of cores
// the lock is uncontended almost always). A process made runnable from a
// worker goes to that worker's queue, so a ping-pong pair stays on one core
// and never pays for a wake-up; an idle worker steals from the others before
// it sleeps. Before sleeping, an idle worker busy-waits for `busy_wait`,
// yielding the CPU between looks: waking a sleeping thread costs tens of
// microseconds on a VM, more than a round trip's own work, while a yielding
// waiter costs the threads that have work nothing. Sleeping workers are woken
// only when work arrives and someone is actually asleep, and not already being
// woken. Fairness comes from the runtime: a process yields after a budget of
// messages and goes to the back of the queue.
//
// Manual mode (0 workers) runs nothing by itself: `run_one` executes one
// queued process on the calling thread, for deterministic tests.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/process.hpp"

namespace cluster::internal {

/// Work a busy-waiting worker may do between its looks for processes: the
/// node's I/O, so that a message read by the worker that will run its
/// receiver needs no hand-over between threads.
class idle_work {
 public:
  /// Does what there is without blocking; true if it found any.
  virtual bool poll() = 0;

 protected:
  ~idle_work() = default;
};

class scheduler {
 public:
  using run_fn = std::function<void(process*)>;

  /// `run` executes one turn of a process and releases the queue's reference.
  scheduler(std::size_t workers, run_fn run, std::chrono::microseconds busy_wait = std::chrono::microseconds(300));
  ~scheduler();

  /// Queues a runnable process (the caller passes one reference to the queue).
  void schedule(process* p);
  /// Manual mode: runs one queued process; false if none was queued.
  bool run_one();
  /// Stops and joins the workers (queued processes are released unrun).
  void stop();

  bool manual() const { return workers_.empty(); }
  /// True on one of this scheduler's worker threads.
  bool on_worker() const;
  std::size_t worker_count() const { return workers_.size(); }
  /// What busy-waiting workers do between looks (nullptr: nothing). The
  /// object must outlive the workers, or be replaced first.
  void set_idle_work(idle_work* w) { idle_work_.store(w, std::memory_order_release); }

 private:
  struct run_queue {
    std::mutex mutex;  // guards queue
    std::deque<process*> queue;
  };
  void work(std::size_t index);
  /// True once some queue has work, false after `busy_wait_` without any.
  bool busy_wait_for_work();
  /// Processes in every worker's queue (each queue locked in turn).
  std::size_t queued_processes() const;
  process* take(std::size_t index);
  /// Wakes up to `n` sleepers, none twice.
  void wake_sleepers(std::size_t n);

  run_fn run_;
  std::chrono::microseconds busy_wait_;
  std::vector<std::unique_ptr<run_queue>> workers_;
  run_queue manual_queue_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<int> waiting_{0};  // workers busy-waiting for work (at most one)
  std::atomic<int> woken_{0};    // sleepers woken and not yet up (changed under sleep_mutex_)
  std::atomic<bool> stopping_{false};
  std::atomic<idle_work*> idle_work_{nullptr};
  std::mutex sleep_mutex_;  // pairs with wake_
  std::condition_variable wake_;
};

}  // namespace cluster::internal
