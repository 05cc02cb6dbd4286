#include "runtime/scheduler.hpp"

#include <sched.h>

#include <algorithm>
#include <chrono>

namespace cluster::internal {
namespace {

// Which worker the current thread is (-1: not a worker).
thread_local const scheduler* current_scheduler = nullptr;
thread_local std::size_t current_worker = 0;

}  // namespace

scheduler::scheduler(std::size_t workers, run_fn run, std::chrono::microseconds busy_wait)
    : run_(std::move(run)), busy_wait_(busy_wait) {
  for (std::size_t i = 0; i < workers; ++i) workers_.push_back(std::make_unique<run_queue>());
  for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this, i] { work(i); });
}

scheduler::~scheduler() { stop(); }

bool scheduler::on_worker() const { return current_scheduler == this; }

void scheduler::schedule(process* p) {
  if (manual()) {
    std::lock_guard lock(manual_queue_.mutex);
    manual_queue_.queue.push_back(p);
    return;
  }
  const std::size_t target =
      current_scheduler == this ? current_worker : next_.fetch_add(1, std::memory_order_relaxed) % workers_.size();
  {
    std::lock_guard lock(workers_[target]->mutex);
    workers_[target]->queue.push_back(p);
  }
  // Seen together with the sleeper's own re-check under sleep_mutex_, this
  // cannot miss a worker that is about to sleep. A busy-waiting worker will
  // take the process (and wake a sleeper if it finds more): no wake-up here.
  if (sleepers_.load(std::memory_order_seq_cst) > woken_.load(std::memory_order_seq_cst) &&
      waiting_.load(std::memory_order_seq_cst) == 0)
    wake_sleepers(1);
}

bool scheduler::run_one() {
  process* p = nullptr;
  {
    std::lock_guard lock(manual_queue_.mutex);
    if (manual_queue_.queue.empty()) return false;
    p = manual_queue_.queue.front();
    manual_queue_.queue.pop_front();
  }
  run_(p);
  return true;
}

process* scheduler::take(std::size_t index) {
  // Our own queue first, then steal from the others.
  for (std::size_t k = 0; k < workers_.size(); ++k) {
    run_queue& q = *workers_[(index + k) % workers_.size()];
    std::lock_guard lock(q.mutex);
    if (!q.queue.empty()) {
      process* p = q.queue.front();
      q.queue.pop_front();
      return p;
    }
  }
  return nullptr;
}

std::size_t scheduler::queued_processes() const {
  std::size_t n = 0;
  for (const auto& q : workers_) {
    std::lock_guard lock(q->mutex);
    n += q->queue.size();
  }
  return n;
}

bool scheduler::busy_wait_for_work() {
  // One waiter is enough to catch the next process; more would only take
  // turns on the CPUs that the threads with work need.
  if (waiting_.fetch_add(1, std::memory_order_seq_cst) > 0) {
    waiting_.fetch_sub(1, std::memory_order_seq_cst);
    return false;
  }
  // Yielding, not pausing: on two cores a pausing waiter holds the CPU that
  // the thread bringing the work (the node's I/O thread) needs.
  const auto until = std::chrono::steady_clock::now() + busy_wait_;
  std::size_t queued = 0;
  do {
    queued = queued_processes();
    if (queued > 0 || stopping_.load(std::memory_order_relaxed)) break;
    // I/O we do here puts the processes it wakes on our own queue: we run
    // them next, with no wake-up of another thread on the way.
    if (idle_work* w = idle_work_.load(std::memory_order_acquire); w && w->poll()) continue;
    sched_yield();
  } while (std::chrono::steady_clock::now() < until);
  waiting_.fetch_sub(1, std::memory_order_seq_cst);
  if (queued == 0) return false;
  // Senders skipped waking anyone while we waited: bring in a sleeper for
  // each process beyond the one we take (a burst may have queued many).
  // Counted again now that we are no longer waiting, so a process queued by
  // a sender that still saw us is counted here; any queued later, its
  // sender wakes a sleeper itself.
  const std::size_t now_queued = queued_processes();
  const std::size_t more = now_queued > 1 ? now_queued - 1 : 0;
  if (more > 0) wake_sleepers(more);
  return true;
}

void scheduler::wake_sleepers(std::size_t n) {
  std::lock_guard lock(sleep_mutex_);
  // A sleeper already woken is on its way: waking it again is a wasted
  // system call, and with a burst of work it came up for every process.
  for (; n > 0 && sleepers_.load() > woken_.load(); --n) {
    woken_.fetch_add(1);
    wake_.notify_one();
  }
}

void scheduler::work(std::size_t index) {
  current_scheduler = this;
  current_worker = index;
  while (!stopping_.load(std::memory_order_acquire)) {
    if (process* p = take(index)) {
      run_(p);
      continue;
    }
    if (busy_wait_for_work()) continue;
    std::unique_lock lock(sleep_mutex_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    if (queued_processes() == 0 && !stopping_.load()) wake_.wait_for(lock, std::chrono::milliseconds(100));
    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    // Woken or not (a timeout), one fewer on its way: at worst a later
    // wake-up is one too many, never one too few.
    if (woken_.load() > 0) woken_.fetch_sub(1);
  }
}

void scheduler::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(sleep_mutex_);
    wake_.notify_all();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  auto drain = [](run_queue& q) {
    std::lock_guard lock(q.mutex);
    for (process* p : q.queue) p->release();
    q.queue.clear();
  };
  for (auto& q : workers_) drain(*q);
  drain(manual_queue_);
}

}  // namespace cluster::internal
