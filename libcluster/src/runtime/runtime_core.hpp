// The runtime's internals: the process table, delivery of messages and
// signals, one turn of a process, exits with their links and monitors, local
// names and timers. `runtime`, `context` and `inbox` are thin facades on it.
//
// Signals (exit, link, unlink, monitor, demonitor, receive timeouts) travel
// through the same mailbox as messages, so the order between any two
// processes holds for both, as in Erlang. A process acts on its signals when
// it takes them from its mailbox; a signal to a process that is gone bounces:
// a link request comes back as an exit signal `noproc`, a monitor request as a
// `down_message` `noproc`.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "cluster/clock.hpp"
#include "cluster/runtime.hpp"
#include "runtime/process.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/timer_service.hpp"

namespace cluster::internal {

// Signal payloads (envelopes of a signal kind).
struct exit_signal {
  pid from;
  term reason;
  bool from_link = false;  ///< the sender was linked to us and has ended
};
struct link_signal {
  pid from;
};
struct monitor_signal {
  pid watcher;
  ref monitor;
};
struct demonitor_signal {
  ref monitor;
};
struct watching_signal {
  ref monitor;
  pid target;
};
struct timeout_signal {
  std::uint64_t seq = 0;
};

/// How a new process is tied to its spawner, set atomically at spawn.
struct spawn_options {
  process* link_to = nullptr;     ///< link the child to this (running) process
  process* monitor_by = nullptr;  ///< this (running) process monitors the child...
  ref monitor;                    ///< ...under this reference
  /// The child's half of a link or monitor with a process elsewhere (another
  /// node, or a requester that sets up its own half): in place before the
  /// child runs.
  std::optional<pid> linked_with;
  std::optional<std::pair<ref, pid>> monitored_by;
};

/// Node-wide services that processes reach through their runtime (groups,
/// global names): implemented above the runtime, by the node that owns it.
class node_services {
 public:
  virtual ~node_services() = default;
};

/// Where envelopes for processes of other nodes go (the distribution layer).
/// Called from any thread; must not block.
class remote_router {
 public:
  virtual ~remote_router() = default;
  virtual void route(const pid& to, std::unique_ptr<detail::envelope> e) = 0;
  /// False if the message cannot go (`node` is not a node's `name@host`, or
  /// the message cannot cross nodes): dropped then, and counted.
  virtual bool route_named(const std::string& node, const std::string& name, std::unique_ptr<detail::envelope> e) = 0;
  /// True while the queue to `node` is over its bound (senders are suspended).
  virtual bool busy(const node_atom& node) const = 0;
  /// Starts a call (or spawn, or cast when `reply_to` is empty) of a
  /// registered function on `node` for a process; the answer arrives at
  /// `reply_to` as a `call_result` with `id`. A spawn may be tied to
  /// `reply_to`: linked, and/or monitored under `monitor`.
  struct spawn_ties {
    bool link = false;
    std::optional<ref> monitor;
  };
  virtual void request(const std::string& node, std::optional<pid> reply_to, std::uint64_t id,
                       const std::string& function, const term& args, bool spawn, spawn_ties ties) = 0;
};

/// A clock the test moves by hand (manual-mode runtimes).
class settable_clock final : public clock {
 public:
  time_point now() const override { return time_point(duration(now_.load())); }
  void advance(duration d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<duration::rep> now_{std::chrono::hours(1).count()};
};

class runtime_core {
 public:
  explicit runtime_core(runtime_config cfg);
  ~runtime_core();

  const std::string& node() const { return cfg_.node; }
  std::uint32_t creation() const { return cfg_.creation; }
  /// The node's name as its PIDs carry it: comparing with it is a pointer comparison.
  const node_atom& atom() const { return atom_; }
  pid pid_of(const process& p) const { return pid{atom_, cfg_.creation, p.id}; }
  ref make_ref() { return ref{atom_, cfg_.creation, next_ref_.fetch_add(1, std::memory_order_relaxed)}; }
  bool is_local(const pid& p) const { return p.creation == cfg_.creation && p.node == atom_; }

  using spawn_options = internal::spawn_options;
  pid spawn(behavior b, const spawn_options& o = {});
  /// Spawns a process running the coroutine that `start(ctx)` makes, here
  /// on this thread. Nothing of `start` is kept, so the coroutine's frame
  /// must hold all it needs (parameters by value, not a lambda's captures),
  /// and the process itself comes from the block pools. For processes made
  /// on the I/O thread and ended on a scheduler thread (registered functions
  /// run for other nodes): with malloc, each such free goes back to the I/O
  /// thread's arena under its lock, and waits for that lock were the most
  /// frequent context switch in a flood of remote spawns.
  template <class Start>
  pid spawn_frame(Start&& start, std::string label, const spawn_options& o = {}) {
    process* p = create(std::move(label), true);
    try {
      p->coroutine = std::forward<Start>(start)(p->ctx).release();
    } catch (...) {
      p->release();  // no frame: nothing was tied to it or made visible
      throw;
    }
    return launch(*p, o);
  }
  /// A process driven by a foreign thread (an inbox).
  process_ref create_external();
  /// Ends an external process (its owner's thread).
  void end_external(process& p);

  /// Delivers an envelope to a local PID; bounces or counts it if the
  /// receiver is gone.
  /// `bounded`: a plain send, dropped (and counted) if the receiver's
  /// mailbox is at `max_mailbox`; signals and replies are not bounded.
  void deliver(const pid& to, std::unique_ptr<detail::envelope> e, bool bounded = false);
  template <class T>
  void signal(const pid& to, detail::envelope_kind kind, T payload) {
    deliver(to, std::make_unique<detail::typed_envelope<T>>(std::move(payload), kind));
  }
  void send(const pid& to, message m) { deliver(to, m.release(), true); }
  /// Sends to `name` on `node` (this node or, through the router, another).
  bool send_named(const std::string& name, const std::string& node, message m);
  /// Installs the distribution layer; before any process sends remotely.
  void set_remote(remote_router* r) { remote_ = r; }
  remote_router* remote() const { return remote_; }
  void set_services(node_services* s) { services_ = s; }
  /// What idle workers do between their looks for processes (scheduler.hpp).
  void set_idle_work(idle_work* w) { scheduler_.set_idle_work(w); }
  node_services* services() const { return services_; }

  /// One turn of `p` (the scheduler's callback; adopts one reference).
  void run(process* p);
  /// Schedules a process a gate held (any thread).
  void resume(process_ref p);
  /// The process whose turn this thread is running, if any.
  static process* running();

  // -- called by a process on its own thread --
  /// Moves the mailbox into the pending list, acting on signals on the way.
  void absorb(process& p);
  /// Takes the first pending message `m` accepts (any, if null).
  bool take_match(process& p, const matcher* m, std::optional<message>& out);
  /// Publishes how many messages `p` holds taken but unhandled, for senders'
  /// mailbox bound (process::held): after taking messages, at the end of a
  /// turn, and by an inbox after each look.
  void publish_held(process& p);
  void link(process& p, const pid& other);
  void unlink(process& p, const pid& other);
  ref monitor(process& p, const pid& other);
  void demonitor(process& p, const ref& r);
  bool register_name(process& p, const std::string& name);
  void unregister_name(process& p);
  void start_receive_timer(process& p, std::chrono::nanoseconds timeout);

  std::optional<pid> whereis(const std::string& name) const;
  /// Every live process with its name, queue and counters (any thread; a
  /// snapshot, not a consistent cut).
  std::vector<process_info> snapshot() const;
  bool alive(const pid& p) const;
  process_ref find(std::uint64_t id) const;
  runtime_stats stats() const;
  timer_service& timers() { return timers_; }
  std::size_t budget() const { return cfg_.budget; }

  void shutdown();
  std::size_t run_until_idle();
  void advance(duration d);

 private:
  struct shard {
    mutable std::shared_mutex mutex;  // guards map
    std::unordered_map<std::uint64_t, process*> map;
  };
  static constexpr std::size_t shard_count = 16;
  shard& shard_of(std::uint64_t id) const { return shards_[id % shard_count]; }

  void wake(process& p);
  process* find_for_send(std::uint64_t id);
  void bounce(const pid& target, std::unique_ptr<detail::envelope> e);
  void act_on(process& p, detail::envelope* e);
  void run_handler(process& p);
  void run_coroutine(process& p);
  void terminate(process& p, const term& reason);
  void insert(process* p);
  void erase(std::uint64_t id);
  /// A new process record, not yet tied or visible; `pooled`: its memory
  /// from the block pools (see process). Until `launch`, release() undoes it.
  process* create(std::string label, bool pooled);
  /// Ties a process from `create` as `o` says, makes it visible and, with a
  /// coroutine, runs it. Called once its function is in place, so that a
  /// function that cannot start (its frame not allocated) leaves no ties.
  pid launch(process& p, const spawn_options& o);

  const std::uint64_t serial_;  ///< tells runtimes apart in per-thread caches
  runtime_config cfg_;
  const node_atom atom_;  // cfg_.node
  steady_clock steady_;
  settable_clock manual_clock_;
  timer_service timers_;
  scheduler scheduler_;
  mutable std::array<shard, shard_count> shards_;
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<std::uint64_t> next_ref_{1};
  mutable std::mutex names_mutex_;  // guards names_
  std::unordered_map<std::string, std::uint64_t> names_;

  std::atomic<std::uint64_t> spawned_{0}, exited_{0}, dropped_dead_{0}, dropped_foreign_{0}, dropped_at_exit_{0},
      dropped_mailbox_full_{0}, crashed_{0}, alive_{0};
  std::atomic<bool> shut_down_{false};
  remote_router* remote_ = nullptr;
  node_services* services_ = nullptr;
};

}  // namespace cluster::internal
