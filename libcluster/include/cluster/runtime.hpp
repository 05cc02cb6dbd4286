// The process runtime of one node: the scheduler, the process table, local
// names and timers. Processes are spawned, addressed and supervised through
// it; `context` is the same API from inside a process.
//
// Threading: every member function is thread-safe and none blocks for long
// (spawn and send enqueue work; nothing waits for a process to run), except
// `shutdown`, which waits for every process to end. In manual mode the
// runtime has no threads at all: the caller drives it with `run_until_idle`
// and `advance`, which makes tests deterministic.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/process.hpp"

namespace cluster {

struct runtime_config {
  std::string node = "nonode@nohost";  ///< the node part of every PID
  std::uint32_t creation = 1;          ///< the incarnation part of every PID
  std::size_t workers = 0;             ///< scheduler threads; 0 = the number of cores
  bool manual = false;                 ///< no threads: drive with run_until_idle/advance
  std::size_t budget = 256;            ///< messages a process handles before it yields
  /// How long an idle scheduler thread keeps looking for work, yielding the
  /// CPU between looks, before it sleeps (Erlang's `+sbwt`). Waking a
  /// sleeping thread costs tens of microseconds on a VM; 0 sleeps at once.
  std::chrono::microseconds busy_wait{300};
  /// Messages that may wait in one process's mailbox. Past it, further sends
  /// to that process (local, or arriving from other nodes) are dropped and
  /// counted (`dropped_mailbox_full`); exit signals, DOWN messages and call
  /// replies always get through. A backstop against a runaway sender, not
  /// flow control (docs/SECURITY.md); 0 = no limit.
  std::size_t max_mailbox = 10'000'000;
};

/// Counters; nothing is dropped without being counted here.
struct runtime_stats {
  std::uint64_t spawned = 0;
  std::uint64_t exited = 0;
  std::uint64_t alive = 0;
  std::uint64_t dropped_dead = 0;          ///< messages to processes that were gone
  std::uint64_t dropped_foreign = 0;       ///< messages to PIDs of other nodes or incarnations
  std::uint64_t dropped_at_exit = 0;       ///< messages left unread in a mailbox at exit
  std::uint64_t dropped_mailbox_full = 0;  ///< sends to a mailbox at `max_mailbox`
  std::uint64_t crashed = 0;               ///< processes that threw
};

/// One live process as `clusterctl processes` and `top` show it.
struct process_info {
  cluster::pid pid;
  std::string name;           ///< registered name, or empty
  std::uint64_t mailbox = 0;  ///< messages waiting to be handled
  std::uint64_t handled = 0;  ///< messages handled since it started
  std::uint64_t memory = 0;   ///< bytes: an estimate (the process and its queued envelopes)
  std::string function;       ///< what it runs (`behavior::labelled`), or empty
};

class runtime {
 public:
  explicit runtime(runtime_config config = {});
  /// Shuts down: every process is stopped, then the threads are joined.
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  pid spawn(behavior b);
  void send(const pid& to, message m);
  template <class T>
  requires(!std::is_same_v<std::decay_t<T>, message>) void send(const pid& to, T value) {
    send(to, message::make(std::move(value)));
  }
  /// Sends to a registered name; false if no process has it.
  bool send(const std::string& name, message m);
  std::optional<pid> whereis(const std::string& name) const;
  /// Sends an exit signal from outside any process.
  void exit(const pid& target, term reason);
  bool alive(const pid& p) const;
  /// True if `p` belongs to this node and this incarnation: a PID of another
  /// node, or of an earlier start of this node, is not.
  bool is_local(const pid& p) const;
  /// This runtime's node name and creation, as in its PIDs.
  const std::string& node() const;
  std::uint32_t creation() const;
  std::size_t process_count() const;
  /// Every live process (a snapshot; any thread).
  std::vector<process_info> processes() const;
  runtime_stats stats() const;

  /// Stops every process (exit signal `kill`), waits for them, joins the threads.
  void shutdown();

  /// Manual mode: runs processes until none is runnable; returns the number
  /// of turns run.
  std::size_t run_until_idle();
  /// Manual mode: moves the runtime's clock, fires due timers, runs until idle.
  void advance(std::chrono::nanoseconds d);

  internal::runtime_core& core() { return *core_; }

 private:
  std::unique_ptr<internal::runtime_core> core_;
};

}  // namespace cluster
