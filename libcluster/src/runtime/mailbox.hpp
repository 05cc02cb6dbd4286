// A process's mailbox: a multi-producer, single-consumer intrusive queue of
// envelopes. Producers append under a tiny spinlock (held for two pointer
// writes); the owner takes the whole queue at once. Closing it (when the
// process exits) makes later pushes fail, so a sender learns the receiver is
// gone instead of leaving a message (or a monitor request) in a dead mailbox.
#pragma once

#include <atomic>

#include "cluster/message.hpp"

namespace cluster::internal {

class mailbox {
 public:
  mailbox() = default;
  mailbox(const mailbox&) = delete;
  ~mailbox() { free_list(take_all()); }

  /// Appends `e` (ownership passes on success); false if the mailbox is closed.
  bool push(detail::envelope* e) {
    lock();
    if (closed_) {
      unlock();
      return false;
    }
    e->next = nullptr;
    if (tail_)
      tail_->next = e;
    else
      head_ = e;
    tail_ = e;
    unlock();
    return true;
  }

  /// Takes every queued envelope, oldest first, as a linked list.
  detail::envelope* take_all() {
    lock();
    detail::envelope* list = head_;
    head_ = tail_ = nullptr;
    unlock();
    return list;
  }

  /// Closes the mailbox and takes what was left in it.
  detail::envelope* close() {
    lock();
    closed_ = true;
    detail::envelope* list = head_;
    head_ = tail_ = nullptr;
    unlock();
    return list;
  }

  bool empty() const {
    lock();
    const bool e = head_ == nullptr;
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
      while (busy_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
  }
  void unlock() const { busy_.store(false, std::memory_order_release); }

  mutable std::atomic<bool> busy_{false};  // guards head_, tail_, closed_
  bool closed_ = false;
  detail::envelope* head_ = nullptr;
  detail::envelope* tail_ = nullptr;
};

}  // namespace cluster::internal
