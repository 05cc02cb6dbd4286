#include "runtime/runtime_core.hpp"

#include "runtime/envelopes.hpp"

#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <typeinfo>

#include "cluster/log.hpp"

namespace cluster::internal {
namespace {

using detail::envelope;
using detail::envelope_kind;

// Lets a matcher look at a pending envelope without taking it.
class borrowed_message {
 public:
  explicit borrowed_message(envelope* e) : m_(std::unique_ptr<envelope>(e)) {}
  ~borrowed_message() { (void)m_.release().release(); }
  const message& get() const { return m_; }

 private:
  message m_;
};

// Links are a set: false if `other` is there already.
bool add_link(std::vector<pid>& links, const pid& other) {
  if (std::find(links.begin(), links.end(), other) != links.end()) return false;
  links.push_back(other);
  return true;
}

std::size_t default_workers(std::size_t requested) {
  if (requested) return requested;
  const unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

}  // namespace

process* process::make(std::uint64_t pid_id, runtime_core& owner, bool pooled) {
  if (!pooled) return new process(pid_id, owner, false);
  void* memory = detail::pool_allocate(sizeof(process));
  try {
    return new (memory) process(pid_id, owner, true);
  } catch (...) {
    detail::pool_free(memory, sizeof(process));
    throw;
  }
}

void process::destroy() {
  if (!pooled) {
    delete this;
    return;
  }
  this->~process();
  detail::pool_free(this, sizeof(process));
}

process::~process() {
  if (coroutine) coroutine.destroy();
  pending.clear();
}

namespace {
std::atomic<std::uint64_t> next_runtime_serial{1};
}  // namespace

runtime_core::runtime_core(runtime_config cfg)
    : serial_(next_runtime_serial.fetch_add(1)),
      cfg_(std::move(cfg)),
      atom_(cfg_.node),
      timers_(cfg_.manual ? static_cast<const clock&>(manual_clock_) : steady_, !cfg_.manual),
      scheduler_(
          cfg_.manual ? 0 : default_workers(cfg_.workers), [this](process* p) { run(p); }, cfg_.busy_wait) {
  if (cfg_.budget == 0) cfg_.budget = 1;
}

runtime_core::~runtime_core() { shutdown(); }

// -- the process table ------------------------------------------------------

void runtime_core::insert(process* p) {
  shard& s = shard_of(p->id);
  std::unique_lock lock(s.mutex);
  s.map.emplace(p->id, p);
}

void runtime_core::erase(std::uint64_t id) {
  shard& s = shard_of(id);
  std::unique_lock lock(s.mutex);
  s.map.erase(id);
}

process_ref runtime_core::find(std::uint64_t id) const {
  shard& s = shard_of(id);
  std::shared_lock lock(s.mutex);
  const auto it = s.map.find(id);
  return it == s.map.end() ? process_ref() : process_ref(it->second);
}

bool runtime_core::alive(const pid& p) const {
  if (!is_local(p)) return false;
  const process_ref r = find(p.id);
  return r && r->state.load() != process_state::exited;
}

// -- spawning -----------------------------------------------------------------

pid runtime_core::spawn(behavior b, const spawn_options& o) {
  process* p = create(b.label(), false);
  try {
    if (b.is_coroutine()) {
      // Call the stored function, so a coroutine lambda's captures outlive the call.
      p->coroutine_fn = std::move(b).coroutine();
      p->coroutine = p->coroutine_fn(p->ctx).release();
    } else {
      p->handler = std::move(b).handler();
    }
  } catch (...) {
    p->release();  // as in spawn_frame
    throw;
  }
  return launch(*p, o);
}

process* runtime_core::create(std::string label, bool pooled) {
  process* p = process::make(next_id_.fetch_add(1, std::memory_order_relaxed), *this, pooled);
  p->label = std::move(label);
  return p;
}

pid runtime_core::launch(process& p, const spawn_options& o) {
  const pid self = pid_of(p);
  // Added as a set: a plain function that returns a task runs in spawn,
  // and may have linked already.
  if (o.link_to) {
    add_link(p.ext().links, pid_of(*o.link_to));
    add_link(o.link_to->ext().links, self);
  }
  if (o.monitor_by) {
    p.ext().monitored_by.emplace_back(o.monitor, pid_of(*o.monitor_by));
    o.monitor_by->ext().monitoring.emplace_back(o.monitor, self);
  }
  if (o.linked_with) add_link(p.ext().links, *o.linked_with);
  if (o.monitored_by) p.ext().monitored_by.push_back(*o.monitored_by);
  const bool coroutine = static_cast<bool>(p.coroutine);
  spawned_.fetch_add(1, std::memory_order_relaxed);
  alive_.fetch_add(1, std::memory_order_relaxed);
  // A coroutine must run to its first receive. Mark it scheduled before it is
  // visible, so a message arriving meanwhile does not queue it a second time.
  if (coroutine) {
    p.state.store(process_state::scheduled);
    p.add_ref();  // the run queue's
  }
  insert(&p);  // the table owns the initial reference
  if (shut_down_.load()) signal(self, envelope_kind::exit_signal, exit_signal{self, reason::kill(), false});
  if (coroutine) scheduler_.schedule(&p);
  return self;
}

process_ref runtime_core::create_external() {
  process* p = process::make(next_id_.fetch_add(1, std::memory_order_relaxed), *this, false);
  p->external = std::make_unique<external_waiter>();
  p->trap_exit = true;
  spawned_.fetch_add(1, std::memory_order_relaxed);
  alive_.fetch_add(1, std::memory_order_relaxed);
  insert(p);
  return process_ref(p);
}

void runtime_core::end_external(process& p) {
  absorb(p);
  terminate(p, reason::normal());
}

// -- delivery -----------------------------------------------------------------

process* runtime_core::find_for_send(std::uint64_t id) {
  // Senders usually send to the same process many times in a row: remember
  // the last one per thread and skip the table. The cached reference keeps
  // the object alive; a process that has exited fails the push anyway.
  struct last_target {
    std::uint64_t runtime = 0;
    std::uint64_t id = 0;
    process_ref ref;
  };
  thread_local last_target last;
  if (last.runtime == serial_ && last.id == id && last.ref) return last.ref.get();
  process_ref found = find(id);
  if (!found) return nullptr;
  last.runtime = serial_;
  last.id = id;
  last.ref = std::move(found);
  return last.ref.get();
}

// What senders touch and what the process writes for every message never
// share a cache line, however the record is aligned (see process.hpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
static_assert(offsetof(process, held) < offsetof(process, inbox));
static_assert(offsetof(process, external) > offsetof(process, inbox));
static_assert(offsetof(process, accepted) >= offsetof(process, external) + sizeof(process::external) + 64);
#pragma GCC diagnostic pop

namespace {

// Taken from the mailbox by the process and not yet handled.
std::uint64_t unhandled(const process& p) {
  const auto accepted = p.accepted.load(std::memory_order_relaxed);
  const auto consumed = p.consumed.load(std::memory_order_relaxed);
  return accepted > consumed ? accepted - consumed : 0;
}

// Waiting in the mailbox, plus taken by the process and not yet handled, as
// the process last published it (on taking messages, and at the end of each
// turn): what it handles during a turn still counts until the turn ends. A
// snapshot: concurrent senders may overshoot a limit by a few messages.
std::uint64_t mailbox_length(const process& p) { return p.inbox.queued() + p.held.load(std::memory_order_relaxed); }

// The same, exactly: for introspection, which may read the process's own lines.
std::uint64_t mailbox_length_now(const process& p) { return p.inbox.queued() + unhandled(p); }

}  // namespace

void runtime_core::deliver(const pid& to, std::unique_ptr<envelope> e, bool bounded) {
  if (!is_local(to) && remote_ && to.node != atom_) {
    remote_->route(to, std::move(e));
    return;
  }
  if (!is_local(to)) {
    // Distribution routes remote PIDs; a stale creation of this node is dead.
    if (e->kind == envelope_kind::user)
      dropped_foreign_.fetch_add(1, std::memory_order_relaxed);
    else
      bounce(to, std::move(e));
    return;
  }
  process* p = find_for_send(to.id);
  if (p && bounded && cfg_.max_mailbox != 0 && e->kind == envelope_kind::user &&
      mailbox_length(*p) >= cfg_.max_mailbox) {
    dropped_mailbox_full_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!p || !p->inbox.push(e.get())) {
    bounce(to, std::move(e));
    return;
  }
  (void)e.release();  // the mailbox owns it now
  wake(*p);
}

void runtime_core::wake(process& p) {
  // Most sends find the receiver already queued or running: look before
  // paying for a compare-and-swap on a contended line.
  if (p.state.load(std::memory_order_seq_cst) != process_state::idle && !p.external) return;
  if (p.external) {
    std::lock_guard lock(p.external->mutex);
    p.external->ready.notify_all();
    return;
  }
  process_state expected = process_state::idle;
  if (p.state.compare_exchange_strong(expected, process_state::scheduled, std::memory_order_seq_cst)) {
    p.add_ref();
    scheduler_.schedule(&p);
  }
}

void runtime_core::bounce(const pid& target, std::unique_ptr<envelope> e) {
  switch (e->kind) {
    case envelope_kind::link:
      signal(payload<link_signal>(e.get()).from, envelope_kind::exit_signal,
             exit_signal{target, reason::noproc(), true});
      return;
    case envelope_kind::monitor: {
      const auto& m = payload<monitor_signal>(e.get());
      deliver(m.watcher, user_envelope(down_message{m.monitor, target, reason::noproc()}));
      return;
    }
    case envelope_kind::user:
      dropped_dead_.fetch_add(1, std::memory_order_relaxed);
      return;
    default:
      return;  // a signal to a process that is gone has nothing left to do
  }
}

// -- a process's own work ---------------------------------------------------------

void runtime_core::act_on(process& p, envelope* e) {
  switch (e->kind) {
    case envelope_kind::user:
      if (payload_if<down_message>(e)) {
        // A DOWN counts only for a monitor we still hold: after demonitor it
        // is dropped, whenever it arrives. Its arrival also ends the monitor.
        const ref& r = payload<down_message>(e).monitor;
        if (!p.extras || std::erase_if(p.extras->monitoring, [&](const auto& m) { return m.first == r; }) == 0) {
          delete e;
          return;
        }
      }
      p.pending.push_back(e);
      p.accepted.fetch_add(1, std::memory_order_relaxed);
      return;
    case envelope_kind::exit_signal: {
      std::unique_ptr<envelope> owned(e);
      auto& s = payload<exit_signal>(e);
      // A link's exit counts only while the link exists: once unlinked (or
      // already told, e.g. noconnection twice), it has no effect, as in Erlang.
      if (s.from_link && (!p.extras || std::erase(p.extras->links, s.from) == 0)) return;
      if (p.exit_reason) return;
      if (!s.from_link && reason::is(s.reason, "kill")) {
        p.exit_reason = std::make_unique<term>(reason::killed());
      } else if (p.trap_exit) {
        p.pending.push_back(user_envelope(exit_message{s.from, std::move(s.reason)}).release());
        p.accepted.fetch_add(1, std::memory_order_relaxed);
      } else if (!reason::is(s.reason, "normal")) {
        p.exit_reason = std::make_unique<term>(std::move(s.reason));
      }
      return;
    }
    case envelope_kind::link: {
      std::unique_ptr<envelope> owned(e);
      auto& links = p.ext().links;
      const pid& from = payload<link_signal>(e).from;
      if (std::find(links.begin(), links.end(), from) == links.end()) links.push_back(from);
      return;
    }
    case envelope_kind::unlink: {
      std::unique_ptr<envelope> owned(e);
      if (p.extras) std::erase(p.extras->links, payload<link_signal>(e).from);
      return;
    }
    case envelope_kind::monitor: {
      std::unique_ptr<envelope> owned(e);
      const auto& m = payload<monitor_signal>(e);
      p.ext().monitored_by.emplace_back(m.monitor, m.watcher);
      return;
    }
    case envelope_kind::demonitor: {
      std::unique_ptr<envelope> owned(e);
      if (p.extras)
        std::erase_if(p.extras->monitored_by,
                      [&](const auto& m) { return m.first == payload<demonitor_signal>(e).monitor; });
      return;
    }
    case envelope_kind::watching: {
      std::unique_ptr<envelope> owned(e);
      const auto& w = payload<watching_signal>(e);
      p.ext().monitoring.emplace_back(w.monitor, w.target);
      return;
    }
    case envelope_kind::timeout: {
      std::unique_ptr<envelope> owned(e);
      if (p.waiting && p.waiting->seq == payload<timeout_signal>(e).seq) p.waiting->timed_out = true;
      return;
    }
  }
}

void runtime_core::absorb(process& p) {
  envelope* e = p.inbox.take_all();
  if (!e) return;
  while (e) {
    envelope* next = e->next;
    act_on(p, e);
    e = next;
  }
  // The mailbox just emptied into the pending list: without this, senders
  // could fill the mailbox again before the turn ends.
  publish_held(p);
}

void runtime_core::publish_held(process& p) {
  const auto held = static_cast<std::uint32_t>(std::min<std::uint64_t>(unhandled(p), UINT32_MAX));
  // Stored only when it changed: the line is the one senders write.
  if (p.held.load(std::memory_order_relaxed) != held) p.held.store(held, std::memory_order_relaxed);
}

bool runtime_core::take_match(process& p, const matcher* m, std::optional<message>& out) {
  envelope* prev = nullptr;
  for (envelope* e = p.pending.head; e; prev = e, e = e->next) {
    bool accepted = true;
    if (m && *m) {
      const borrowed_message view(e);
      accepted = (*m)(view.get());
    }
    if (accepted) {
      p.pending.remove(prev, e);
      p.consumed.fetch_add(1, std::memory_order_relaxed);
      out.emplace(std::unique_ptr<envelope>(e));
      return true;
    }
  }
  return false;
}

void runtime_core::run_handler(process& p) {
  for (std::size_t n = 0; n < cfg_.budget && !p.exit_reason && !p.blocked_by; ++n) {
    // Refill from the mailbox within the same turn: a busy receiver keeps
    // going instead of being queued again for every batch.
    if (p.pending.empty()) {
      absorb(p);
      if (p.pending.empty() || p.exit_reason) break;
    }
    message m{std::unique_ptr<envelope>(p.pending.pop_front())};
    p.consumed.fetch_add(1, std::memory_order_relaxed);
    try {
      p.handler(p.ctx, m);
    } catch (const std::exception& ex) {
      crashed_.fetch_add(1, std::memory_order_relaxed);
      p.exit_reason = std::make_unique<term>(std::string(ex.what()));
    } catch (...) {
      crashed_.fetch_add(1, std::memory_order_relaxed);
      p.exit_reason = std::make_unique<term>(std::string("unknown exception"));
    }
  }
}

void runtime_core::run_coroutine(process& p) {
  std::coroutine_handle<> next = p.coroutine;
  if (p.started) {
    if (!p.waiting) return;
    auto& w = *p.waiting;
    bool matched = w.yield;
    try {
      if (!matched) matched = take_match(p, w.match, *w.slot);  // a match that arrived with the timeout still wins
    } catch (const std::exception& ex) {
      crashed_.fetch_add(1, std::memory_order_relaxed);
      p.exit_reason = std::make_unique<term>(std::string(ex.what()));  // the matcher threw: the process dies
      return;
    }
    if (!matched && !w.timed_out) return;  // still waiting
    if (w.timer) timers_.cancel(w.timer);
    next = w.resume;  // the innermost waiting coroutine; it returns to its awaiters
    p.waiting.reset();
  }
  p.started = true;
  p.handled = 0;
  next.resume();
  if (p.coroutine.done() && !p.exit_reason) {
    if (const auto& error = p.coroutine.promise().error) {
      crashed_.fetch_add(1, std::memory_order_relaxed);
      std::string text = "unknown exception";
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& ex) {
        text = ex.what();
      } catch (...) {
      }
      p.exit_reason = std::make_unique<term>(std::move(text));
    } else {
      p.exit_reason = std::make_unique<term>(reason::normal());
    }
  }
}

namespace {
thread_local process* running_process = nullptr;

/// Marks the process whose turn this thread runs, for the distribution layer
/// (a send to a busy node blocks the sender, whichever call it came from).
class running_scope {
 public:
  explicit running_scope(process& p) : saved_(std::exchange(running_process, &p)) {}
  ~running_scope() { running_process = saved_; }
  running_scope(const running_scope&) = delete;
  running_scope& operator=(const running_scope&) = delete;

 private:
  process* saved_;
};
}  // namespace

process* runtime_core::running() { return running_process; }

void runtime_core::resume(process_ref p) {
  p->state.store(process_state::scheduled, std::memory_order_seq_cst);
  p->add_ref();  // the run queue's reference, adopted by `run`
  scheduler_.schedule(p.get());
}

void runtime_core::run(process* raw) {
  const process_ref hold(raw, false);  // adopts the queue's reference
  process& p = *raw;
  if (p.state.load() == process_state::exited) return;
  p.state.store(process_state::running, std::memory_order_seq_cst);
  p.yielded = false;
  {
    const running_scope scope(p);
    absorb(p);
    if (!p.exit_reason) {
      if (p.coroutine)
        run_coroutine(p);
      else
        run_handler(p);
    }
  }
  if (p.exit_reason) {
    p.blocked_by.reset();
    const term reason = *p.exit_reason;
    terminate(p, reason);
    return;
  }
  // A send found a peer node's queue over its bound: wait at its gate, as
  // Erlang suspends a process on a busy distribution port.
  if (auto g = std::move(p.blocked_by)) {
    publish_held(p);  // before it is held: once held, another worker may resume it
    p.state.store(process_state::suspended, std::memory_order_seq_cst);
    if (g->hold(hold)) return;
    p.state.store(process_state::running, std::memory_order_seq_cst);  // it opened meanwhile
  }
  // Yield. Our own state is read first: once `idle` is stored another worker
  // may pick the process up. Storing `idle` before looking at the mailbox
  // pairs with a sender's push-then-CAS: one of the two always reschedules.
  const bool unfinished = p.yielded || (!p.coroutine && !p.pending.empty());
  publish_held(p);
  p.state.store(process_state::idle, std::memory_order_seq_cst);
  if (unfinished || !p.inbox.empty()) wake(p);
}

void runtime_core::start_receive_timer(process& p, std::chrono::nanoseconds timeout) {
  const pid self = pid_of(p);
  const std::uint64_t seq = p.waiting->seq;
  p.waiting->timer = timers_.start(std::chrono::duration_cast<duration>(timeout),
                                   [this, self, seq] { signal(self, envelope_kind::timeout, timeout_signal{seq}); });
}

// -- exits --------------------------------------------------------------------

void runtime_core::terminate(process& p, const term& reason) {
  p.state.store(process_state::exited, std::memory_order_seq_cst);
  const pid self = pid_of(p);
  // From here on pushes fail and bounce at the sender. Requests already in
  // the mailbox are answered as if we had seen them just before dying.
  for (envelope* e = p.inbox.close(); e;) {
    envelope* next = e->next;
    std::unique_ptr<envelope> owned(e);
    if (e->kind == envelope_kind::link) {
      signal(payload<link_signal>(e).from, envelope_kind::exit_signal, exit_signal{self, reason, true});
    } else if (e->kind == envelope_kind::monitor) {
      const auto& m = payload<monitor_signal>(e);
      deliver(m.watcher, user_envelope(down_message{m.monitor, self, reason}));
    } else if (e->kind == envelope_kind::user) {
      dropped_at_exit_.fetch_add(1, std::memory_order_relaxed);
    }
    e = next;
  }
  for (envelope* e = p.pending.head; e; e = e->next) dropped_at_exit_.fetch_add(1, std::memory_order_relaxed);
  p.pending.clear();
  if (p.waiting && p.waiting->timer) timers_.cancel(p.waiting->timer);
  p.waiting.reset();
  unregister_name(p);
  erase(p.id);

  if (p.extras) {
    // Withdraw our own monitors, so the watched do not keep us (and later
    // send DOWNs to nobody).
    for (const auto& [r, target] : p.extras->monitoring) signal(target, envelope_kind::demonitor, demonitor_signal{r});
    p.extras->monitoring.clear();
    for (const pid& l : p.extras->links) signal(l, envelope_kind::exit_signal, exit_signal{self, reason, true});
    for (const auto& [r, watcher] : p.extras->monitored_by)
      deliver(watcher, user_envelope(down_message{r, self, reason}));
    p.extras->links.clear();
    p.extras->monitored_by.clear();
  }
  if (p.coroutine) {
    p.coroutine.destroy();
    p.coroutine = {};
  }
  p.coroutine_fn = nullptr;
  p.handler = nullptr;
  exited_.fetch_add(1, std::memory_order_relaxed);
  alive_.fetch_sub(1, std::memory_order_relaxed);
  p.release();  // the table's reference
}

// -- links, monitors, names -------------------------------------------------------

void runtime_core::link(process& p, const pid& other) {
  if (other == pid_of(p)) return;
  if (!add_link(p.ext().links, other)) return;
  signal(other, envelope_kind::link, link_signal{pid_of(p)});
}

void runtime_core::unlink(process& p, const pid& other) {
  if (!p.extras) return;
  std::erase(p.extras->links, other);
  signal(other, envelope_kind::unlink, link_signal{pid_of(p)});
}

ref runtime_core::monitor(process& p, const pid& other) {
  const ref r = make_ref();
  p.ext().monitoring.emplace_back(r, other);
  signal(other, envelope_kind::monitor, monitor_signal{pid_of(p), r});
  return r;
}

void runtime_core::demonitor(process& p, const ref& r) {
  if (!p.extras) return;
  auto& watching = p.extras->monitoring;
  const auto it = std::find_if(watching.begin(), watching.end(), [&](const auto& m) { return m.first == r; });
  if (it != watching.end()) {
    signal(it->second, envelope_kind::demonitor, demonitor_signal{r});
    watching.erase(it);
  }
  // Flush: a DOWN for this monitor that already arrived is removed (one still
  // on its way is dropped when it arrives, as the monitor is gone).
  absorb(p);
  std::optional<message> flushed;
  const matcher is_this_down = [&](const message& m) {
    const auto* d = m.get_if<down_message>();
    return d && d->monitor == r;
  };
  (void)take_match(p, &is_this_down, flushed);
}

bool runtime_core::register_name(process& p, const std::string& name) {
  if (name.empty() || (p.extras && !p.extras->name.empty())) return false;
  std::lock_guard lock(names_mutex_);
  if (!names_.emplace(name, p.id).second) return false;
  p.ext().name = name;
  return true;
}

void runtime_core::unregister_name(process& p) {
  if (!p.extras || p.extras->name.empty()) return;
  std::lock_guard lock(names_mutex_);
  names_.erase(p.extras->name);
  p.extras->name.clear();
}

bool runtime_core::send_named(const std::string& name, const std::string& node, message m) {
  if (node.empty() || node == cfg_.node) {
    const auto to = whereis(name);
    if (!to) return false;
    send(*to, std::move(m));
    return true;
  }
  if (!remote_) return false;
  // Whether the name exists there is not known here, as in Erlang.
  return remote_->route_named(node, name, m.release());
}

std::optional<pid> runtime_core::whereis(const std::string& name) const {
  std::lock_guard lock(names_mutex_);
  const auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  return pid{atom_, cfg_.creation, it->second};
}

runtime_stats runtime_core::stats() const {
  runtime_stats s;
  s.spawned = spawned_.load();
  s.exited = exited_.load();
  s.alive = alive_.load();
  s.dropped_dead = dropped_dead_.load();
  s.dropped_foreign = dropped_foreign_.load();
  s.dropped_at_exit = dropped_at_exit_.load();
  s.dropped_mailbox_full = dropped_mailbox_full_.load();
  s.crashed = crashed_.load();
  return s;
}

// -- driving and stopping ------------------------------------------------------

std::size_t runtime_core::run_until_idle() {
  std::size_t turns = 0;
  while (scheduler_.run_one()) ++turns;
  return turns;
}

void runtime_core::advance(duration d) {
  manual_clock_.advance(d);
  timers_.fire_due();
  run_until_idle();
}

void runtime_core::shutdown() {
  if (scheduler_.on_worker()) {
    // A process cannot wait for every process, itself included, to end.
    log(log_level::error, "runtime::shutdown called from inside a process; ignored");
    return;
  }
  if (shut_down_.exchange(true)) return;
  auto kill_all = [this] {
    std::vector<pid> victims;
    for (auto& s : shards_) {
      std::shared_lock lock(s.mutex);
      for (const auto& [id, p] : s.map)
        if (!p->external) victims.push_back(pid_of(*p));
    }
    for (const pid& v : victims) signal(v, envelope_kind::exit_signal, exit_signal{v, reason::kill(), false});
    return victims.size();
  };
  auto internal_alive = [this] {
    std::size_t n = 0;
    for (auto& s : shards_) {
      std::shared_lock lock(s.mutex);
      for (const auto& [id, p] : s.map) n += p->external ? 0 : 1;
    }
    return n;
  };
  // Processes spawned while others die are killed on the next pass.
  for (int pass = 0; pass < 1000 && kill_all() > 0; ++pass) {
    if (scheduler_.manual()) {
      run_until_idle();
    } else {
      for (int wait = 0; wait < 200 && internal_alive() > 0; ++wait)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  timers_.stop();
  scheduler_.stop();
}

}  // namespace cluster::internal

namespace cluster::internal {

std::vector<process_info> runtime_core::snapshot() const {
  std::unordered_map<std::uint64_t, std::string> names;
  {
    std::lock_guard lock(names_mutex_);
    for (const auto& [name, id] : names_) names.emplace(id, name);
  }
  std::vector<process_info> out;
  for (const auto& sh : shards_) {
    std::shared_lock lock(sh.mutex);
    for (const auto& [id, p] : sh.map) {
      process_info i;
      i.pid = pid_of(*p);
      if (auto it = names.find(id); it != names.end()) i.name = it->second;
      i.mailbox = mailbox_length_now(*p);
      i.handled = p->consumed.load(std::memory_order_relaxed);
      // The process record and its waiting envelopes; a coroutine's frame
      // and what the messages own are not visible from here.
      i.memory = sizeof(process) + i.mailbox * sizeof(detail::envelope);
      i.function = p->label;
      out.push_back(std::move(i));
    }
  }
  return out;
}

}  // namespace cluster::internal
