// The runtime's record of one process. The fields under "owner" are touched
// only by the thread running the process (one at a time, handed over through
// the scheduler's queues); `mailbox`, `state`, `refs` and `held` are shared.
#pragma once

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster/process.hpp"
#include "runtime/mailbox.hpp"

namespace cluster::internal {

class runtime_core;

/// Links, monitors and a name: most processes have none, so they live apart.
struct process_extras {
  std::vector<pid> links;
  std::vector<std::pair<ref, pid>> monitored_by;  ///< who watches us, by monitor ref
  std::vector<std::pair<ref, pid>> monitoring;    ///< whom we watch, by monitor ref
  std::string name;
};

/// `suspended`: held at a gate (a busy peer node's queue) after its turn;
/// senders only push, the gate reschedules it when it opens.
enum class process_state : std::uint8_t { idle, scheduled, running, suspended, exited };

class process_ref;

/// Somewhere a process waits without a receive: the outbound queue of a
/// peer node that is over its bound (Erlang's busy distribution port).
class gate {
 public:
  virtual ~gate() = default;
  /// Keeps `p` (already `suspended`) until the gate opens, then hands it to
  /// `runtime_core::resume`; false, keeping nothing, if it is open already.
  virtual bool hold(process_ref p) = 0;
};

/// How a thread outside the scheduler waits on an inbox's process.
struct external_waiter {
  std::mutex mutex;  // pairs with ready
  std::condition_variable ready;
};

class process {
 public:
  /// A process from malloc, or (`pooled`) from the block pools.
  static process* make(std::uint64_t pid_id, runtime_core& owner, bool pooled);
  // Most processes are not from the block pools, unlike envelopes and
  // frames: pooled, the local send benchmark fell from 18M to 11M msg/s,
  // most likely because the fields a sender writes and those its receiver
  // writes then shared cache lines. Those of runtime_core::spawn_frame are
  // (see there for why).

  // What senders touch first, then the read-only fields, then what the
  // process itself writes for every message. The read-only fields take more
  // than a cache line (72 bytes with libstdc++; runtime_core.cpp asserts
  // it), so the first and last groups never share one, however malloc
  // aligns the record; when they did (`accepted` next to
  // the mailbox's tail), every message moved a line between the two cores
  // and back. A field that senders read for every message belongs to the
  // first group even when it never changes: `external` among the read-only
  // fields sat next to `accepted`, always on its line; moving it up took
  // local sends from a median of about 5.0M to 7.6M msg/s. (No alignas:
  // over-aligned records cost glibc's memalign, 140 bytes more per process
  // and slower spawns.)
  std::atomic<std::uint32_t> refs{1};
  std::atomic<process_state> state{process_state::idle};
  /// Taken from the mailbox and not yet consumed, as the process last
  /// published it (runtime_core::publish_held: on taking messages and at
  /// the end of each turn): what a bounded send adds to the mailbox's length
  /// (`accepted` and `consumed` change with every message; reading them
  /// would pull their line over for every send).
  std::atomic<std::uint32_t> held{0};
  mailbox inbox;
  /// Set for inboxes, run by a foreign thread (that a send must wake); set
  /// before the process is visible.
  std::unique_ptr<external_waiter> external;
  // Read-only once the process is visible.
  const std::uint64_t id;
  const bool pooled;  ///< its memory goes back to the block pools
  runtime_core& core;
  context ctx;        ///< what the process's code sees
  std::string label;  ///< what it runs (set before it is visible)
  /// Messages taken from the mailbox for the process, and consumed by it:
  /// read by other threads for `processes()`, so atomic (relaxed).
  std::atomic<std::uint64_t> accepted{0}, consumed{0};

  // -- owner only --
  behavior::handler_fn handler;                         ///< event-driven processes
  behavior::coroutine_fn coroutine_fn;                  ///< keeps a coroutine lambda's captures alive
  std::coroutine_handle<task::promise_type> coroutine;  ///< coroutine processes
  bool started = false;                                 ///< coroutine ran to its first await
  bool trap_exit = false;
  bool yielded = false;               ///< used up its budget: run again soon
  std::uint32_t handled = 0;          ///< messages taken in this turn
  std::unique_ptr<term> exit_reason;  ///< set: exit at the end of this turn
  envelope_list pending;              ///< taken from the mailbox, not consumed
  std::unique_ptr<process_extras> extras;
  /// Set by a send to a busy peer node: the process stops handling messages
  /// and is held there once its current handler (or coroutine step) returns.
  std::shared_ptr<gate> blocked_by;

  // A coroutine suspended in a receive.
  struct waiting_receive {
    std::coroutine_handle<> resume;  ///< the coroutine that waits (maybe a nested task)
    bool yield = false;              ///< `co_await ctx.yield()`: resume on the next turn, no message
    const matcher* match = nullptr;  ///< null matches anything
    std::optional<message>* slot = nullptr;
    std::uint64_t seq = 0;  ///< identifies this receive's timeout
    std::uint64_t timer = 0;
    bool timed_out = false;
  };
  std::optional<waiting_receive> waiting;
  std::uint64_t receive_seq = 0;

  process_extras& ext() {
    if (!extras) extras = std::make_unique<process_extras>();
    return *extras;
  }

  void add_ref() { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
  }

 private:
  process(std::uint64_t pid_id, runtime_core& owner, bool from_pool)
      : id(pid_id), pooled(from_pool), core(owner), ctx(*this, owner) {}
  // Private: a pooled record must not meet `delete`; the last release()
  // ends every record, through destroy().
  ~process();
  void destroy();
};

/// An owning reference to a process.
class process_ref {
 public:
  process_ref() = default;
  explicit process_ref(process* p, bool add = true) : p_(p) {
    if (p_ && add) p_->add_ref();
  }
  process_ref(const process_ref& o) : process_ref(o.p_) {}
  process_ref(process_ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  process_ref& operator=(process_ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~process_ref() {
    if (p_) p_->release();
  }
  process* get() const { return p_; }
  process* operator->() const { return p_; }
  process& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  process* p_ = nullptr;
};

}  // namespace cluster::internal
