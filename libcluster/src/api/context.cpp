// The process-side API: thin calls into the runtime core on the process's own
// thread.
#include "runtime/runtime_core.hpp"

namespace cluster {

using internal::runtime_core;

pid context::self() const { return runtime_.pid_of(process_); }

void context::send(const pid& to, message m) const { runtime_.send(to, std::move(m)); }

bool context::send_nosuspend(const pid& to, message m) const {
  if (const auto* remote = runtime_.remote(); remote && !runtime_.is_local(to) && remote->busy(to.node)) return false;
  const bool blocked_before = process_.blocked_by != nullptr;
  runtime_.send(to, std::move(m));
  if (!blocked_before) process_.blocked_by.reset();  // this send may have made the node busy: still no suspension
  return true;
}

bool context::send(const std::string& name, message m) const {
  const auto to = runtime_.whereis(name);
  if (!to) return false;
  runtime_.send(*to, std::move(m));
  return true;
}

bool context::send(const std::string& name, const std::string& node, message m) const {
  return runtime_.send_named(name, node, std::move(m));
}

pid context::spawn(behavior b) const { return runtime_.spawn(std::move(b)); }

pid context::spawn_link(behavior b) const {
  runtime_core::spawn_options o;
  o.link_to = &process_;
  return runtime_.spawn(std::move(b), o);
}

std::pair<pid, ref> context::spawn_monitor(behavior b) const {
  runtime_core::spawn_options o;
  o.monitor_by = &process_;
  o.monitor = runtime_.make_ref();
  const ref r = o.monitor;
  return {runtime_.spawn(std::move(b), o), r};
}

void context::link(const pid& other) const { runtime_.link(process_, other); }
void context::unlink(const pid& other) const { runtime_.unlink(process_, other); }
ref context::monitor(const pid& other) const { return runtime_.monitor(process_, other); }
void context::demonitor(const ref& r) const { runtime_.demonitor(process_, r); }

void context::exit(const pid& target, term reason) const {
  runtime_.signal(target, detail::envelope_kind::exit_signal, internal::exit_signal{self(), std::move(reason), false});
}

void context::trap_exit(bool on) const { process_.trap_exit = on; }
bool context::register_name(const std::string& name) const { return runtime_.register_name(process_, name); }
void context::unregister_name() const { runtime_.unregister_name(process_); }

timer_id context::send_after(std::chrono::nanoseconds delay, const pid& to, message m) const {
  // Shared so that a cancelled timer frees its message with the callback.
  auto boxed = std::make_shared<message>(std::move(m));
  runtime_core& rt = runtime_;
  return runtime_.timers().start(std::chrono::duration_cast<duration>(delay),
                                 [&rt, to, boxed] { rt.send(to, std::move(*boxed)); });
}

bool context::cancel_timer(timer_id id) const { return runtime_.timers().cancel(id); }

void context::stop(term reason) const {
  if (!process_.exit_reason) process_.exit_reason = std::make_unique<term>(std::move(reason));
}

// -- selective receive ---------------------------------------------------------

bool receive_awaiter::await_ready() {
  runtime_core& rt = process_.core;
  if (process_.exit_reason) return false;  // suspend; the runtime ends the process
  rt.absorb(process_);
  if (process_.exit_reason) return false;
  // Blocked by a busy peer node, or out of budget: let others run, and match
  // on the next turn.
  if (process_.blocked_by || ++process_.handled > rt.budget()) {
    process_.yielded = true;
    return false;
  }
  if (rt.take_match(process_, matcher_ ? &matcher_ : nullptr, result_)) return true;
  return timeout_ && timeout_->count() <= 0;  // `after 0`: nothing now means nothing
}

void receive_awaiter::await_suspend(std::coroutine_handle<> h) {
  internal::process::waiting_receive w;
  w.resume = h;
  w.match = matcher_ ? &matcher_ : nullptr;
  w.slot = &result_;
  w.seq = ++process_.receive_seq;
  process_.waiting = w;
  if (timeout_ && !process_.exit_reason) process_.core.start_receive_timer(process_, *timeout_);
}

std::optional<message> receive_awaiter::await_resume() { return std::move(result_); }

void yield_awaiter::await_suspend(std::coroutine_handle<> h) {
  internal::process::waiting_receive w;
  w.resume = h;
  w.yield = true;
  process_.waiting = w;
  process_.yielded = true;
}

}  // namespace cluster
