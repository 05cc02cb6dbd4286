// Flow control for the queue of messages to one peer node: how many encoded
// bytes wait to go (in the outbox, held for the link, or refused by a full
// transport), and the gate where senders wait while that is over the bound.
//
// The queue is "busy" from the moment it passes `bound` until it drains to
// half of it (hysteresis, so a sender is not woken for every frame). Senders
// add bytes on their own threads; the I/O thread takes them off as frames
// leave and then opens the gate, rescheduling every held process.
//
// Thread-safe: one mutex guards the counts and the held processes.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "runtime/process.hpp"

namespace cluster::internal {

class runtime_core;

class peer_flow final : public gate {
 public:
  peer_flow(runtime_core& rt, std::size_t bound) : rt_(rt), bound_(bound) {}

  /// Counts `n` more bytes; true if the queue is busy afterwards.
  bool add(std::size_t n);
  /// Counts `n` bytes as gone (sent or dropped); opens the gate once the
  /// queue is down to half the bound.
  void remove(std::size_t n);
  std::size_t bytes() const;
  bool busy() const;
  /// Processes suspended here right now.
  std::size_t held() const;

  bool hold(process_ref p) override;
  /// Opens the gate for good (the node is stopping): every held process runs,
  /// and none is held again.
  void release();

 private:
  runtime_core& rt_;
  const std::size_t bound_;
  mutable std::mutex mutex_;  // guards everything below
  std::size_t bytes_ = 0;
  bool busy_ = false;
  bool released_ = false;
  std::vector<process_ref> held_;
};

}  // namespace cluster::internal
