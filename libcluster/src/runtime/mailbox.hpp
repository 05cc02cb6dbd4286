// A process's mailbox: a multi-producer, single-consumer intrusive queue of
// envelopes. Producers append under a tiny spinlock (held for two pointer
// writes); the owner takes the whole queue at once. Closing it (when the
// process exits) makes later pushes fail, so a sender learns the receiver is
// gone instead of leaving a message (or a monitor request) in a dead mailbox.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

#include "cluster/message.hpp"
#include "runtime/cpu_relax.hpp"

namespace cluster::internal {

/// A list of envelopes the process has taken from its mailbox but not yet
/// consumed (the "save queue" of selective receive).
struct envelope_list {
  detail::envelope* head = nullptr;
  detail::envelope* tail = nullptr;

  bool empty() const { return head == nullptr; }
  void push_back(detail::envelope* e) {
    e->next = nullptr;
    if (tail)
      tail->next = e;
    else
      head = e;
    tail = e;
  }
  detail::envelope* pop_front() {
    detail::envelope* e = head;
    if (e) {
      head = e->next;
      if (!head) tail = nullptr;
      e->next = nullptr;
    }
    return e;
  }
  /// Unlinks `e`, whose predecessor is `prev` (nullptr for the head).
  void remove(detail::envelope* prev, detail::envelope* e) {
    (prev ? prev->next : head) = e->next;
    if (tail == e) tail = prev;
    e->next = nullptr;
  }
  void clear() {
    while (detail::envelope* e = pop_front()) delete e;
  }
};

class mailbox {
 public:
  mailbox() = default;
  mailbox(const mailbox&) = delete;
  ~mailbox() { free_list(take_all()); }

  /// Appends `e` (ownership passes on success); false if the mailbox is closed.
  bool push(detail::envelope* e) {
    lock();
    const bool open = !closed_;
    if (open) {
      queue_.push_back(e);
      queued_.fetch_add(1, std::memory_order_relaxed);
    }
    unlock();
    return open;
  }

  /// Takes every queued envelope, oldest first, as a linked list.
  detail::envelope* take_all() {
    lock();
    detail::envelope* list = std::exchange(queue_, {}).head;
    queued_.store(0, std::memory_order_relaxed);
    unlock();
    return list;
  }

  /// Envelopes waiting (any thread; a snapshot).
  std::uint32_t queued() const { return queued_.load(std::memory_order_relaxed); }

  /// Closes the mailbox and takes what was left in it.
  detail::envelope* close() {
    lock();
    closed_ = true;
    queued_.store(0, std::memory_order_relaxed);
    detail::envelope* list = std::exchange(queue_, {}).head;
    unlock();
    return list;
  }

  bool empty() const {
    lock();
    const bool e = queue_.empty();
    unlock();
    return e;
  }

  static void free_list(detail::envelope* e) {
    while (e) {
      detail::envelope* next = e->next;
      delete e;
      e = next;
    }
  }

 private:
  void lock() const {
    while (busy_.exchange(true, std::memory_order_acquire))
      while (busy_.load(std::memory_order_relaxed)) cpu_relax();
  }
  void unlock() const { busy_.store(false, std::memory_order_release); }

  mutable std::atomic<bool> busy_{false};  // guards queue_ and closed_
  std::atomic<std::uint32_t> queued_{0};   // queue_'s length, readable without the lock
  bool closed_ = false;
  envelope_list queue_;
};

}  // namespace cluster::internal
