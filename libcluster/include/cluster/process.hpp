// Processes: lightweight, isolated units of execution with a mailbox, as in
// Erlang. A process is spawned from a `behavior`, either
//
//   - event-driven: `[](context& ctx, message& m) { ... }` is called once per
//     message (state lives in the lambda's captures, `mutable`), or
//   - a C++20 coroutine: `[](context& ctx) -> task { auto m = co_await
//     ctx.receive(); ... }` with Erlang-style selective receive: match by type
//     or predicate, leave the rest in the mailbox, optionally with a timeout.
//
// A process that throws exits with the exception's text as its reason; one
// whose coroutine returns (or that calls `stop()`) exits `normal`.
//
// Threading: a process runs on one scheduler thread at a time and never
// blocks it. A `context` belongs to its process and is used only from inside
// that process's handler or coroutine.
#pragma once

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "cluster/message.hpp"
#include "cluster/pid.hpp"

namespace cluster {

class context;
class runtime;
namespace internal {
class process;
class runtime_core;
}  // namespace internal

/// The return type of a coroutine process, and of coroutines it awaits: a
/// process body may `co_await` another `task` (which may itself receive), and
/// resumes when that one finishes; an exception in it propagates to the awaiter.
class task {
 public:
  struct promise_type {
    task get_return_object() { return task{std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    /// Resumes the awaiting coroutine, if any (symmetric transfer); a process
    /// body has none and stays suspended for the runtime to see it is done.
    struct final_awaiter {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        if (auto c = h.promise().continuation) return c;
        return std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }
    // Frames from the block pools: a remote spawn makes its process's frame on
    // the I/O thread, and a scheduler thread frees it.
    static void* operator new(std::size_t size) { return detail::pool_allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept { detail::pool_free(p, size); }
    std::exception_ptr error;
    std::coroutine_handle<> continuation;
  };
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&&) = delete;
  ~task() {
    if (handle_) handle_.destroy();
  }
  std::coroutine_handle<promise_type> release() { return std::exchange(handle_, {}); }

  // Awaiting a task runs it to completion inside the awaiting process.
  bool await_ready() const noexcept { return !handle_ || handle_.done(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    handle_.promise().continuation = awaiter;
    return handle_;
  }
  void await_resume() {
    if (handle_ && handle_.promise().error) std::rethrow_exception(handle_.promise().error);
  }

 private:
  explicit task(std::coroutine_handle<promise_type> h) : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

/// What a process runs: an event handler or a coroutine. Copyable, so a
/// supervisor can start the same behavior again.
class behavior {
 public:
  using handler_fn = std::function<void(context&, message&)>;
  using coroutine_fn = std::function<task(context&)>;

  template <class F>
  requires std::is_invocable_v<F&, context&, message&> behavior(F f)
      : handler_(std::move(f)) {}  // NOLINT: implicit by design
  template <class F>
  requires(!std::is_invocable_v<F&, context&, message&> && std::is_invocable_r_v<task, F&, context&>) behavior(F f)
      : coroutine_(std::move(f)) {}  // NOLINT: implicit by design

  bool is_coroutine() const { return static_cast<bool>(coroutine_); }
  const handler_fn& handler() const& { return handler_; }
  const coroutine_fn& coroutine() const& { return coroutine_; }
  /// Taken from a behavior about to go (spawn's own copy), without copying
  /// the function and what it captured.
  handler_fn handler() && { return std::move(handler_); }
  coroutine_fn coroutine() && { return std::move(coroutine_); }

  /// Names what the process runs, for `clusterctl processes` and `top`
  /// (functions spawned by name get the function's name).
  behavior&& labelled(std::string label) && {
    label_ = std::move(label);
    return std::move(*this);
  }
  const std::string& label() const { return label_; }

 private:
  handler_fn handler_;
  coroutine_fn coroutine_;
  std::string label_;
};

/// Selects messages in a selective receive.
using matcher = std::function<bool(const message&)>;

/// Matches messages holding a T.
template <class T>
matcher match_type() {
  return [](const message& m) { return m.is<T>(); };
}

/// Awaitable returned by `context::receive`; yields the first matching
/// message (or nothing, when a timeout was given and passed first).
class receive_awaiter {
 public:
  receive_awaiter(internal::process& p, matcher m, std::optional<std::chrono::nanoseconds> timeout)
      : process_(p), matcher_(std::move(m)), timeout_(timeout) {}
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  std::optional<message> await_resume();

 private:
  internal::process& process_;
  matcher matcher_;
  std::optional<std::chrono::nanoseconds> timeout_;
  std::optional<message> result_;
};

/// `receive_awaiter` without a timeout: always yields a message.
class receive_any_awaiter {
 public:
  explicit receive_any_awaiter(receive_awaiter inner) : inner_(std::move(inner)) {}
  bool await_ready() { return inner_.await_ready(); }
  void await_suspend(std::coroutine_handle<> h) { inner_.await_suspend(h); }
  message await_resume() { return std::move(*inner_.await_resume()); }

 private:
  receive_awaiter inner_;
};

/// Awaitable returned by `context::yield`.
class yield_awaiter {
 public:
  explicit yield_awaiter(internal::process& p) : process_(p) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h);
  void await_resume() const noexcept {}

 private:
  internal::process& process_;
};

/// A timer started by `send_after`, for cancelling it.
using timer_id = std::uint64_t;

/// The process's view of the runtime: its identity and everything it may do.
class context {
 public:
  context(internal::process& p, internal::runtime_core& rt) : process_(p), runtime_(rt) {}

  pid self() const;

  /// Sends to a process on this node or another; to a dead PID the message
  /// is dropped (and counted), never an error. Never blocks. When the queue
  /// to the receiver's node is over its bound (`node_config::peer_queue_bytes`)
  /// the message is still queued, and this process is suspended, as Erlang
  /// suspends a sender on a busy distribution port: an event handler's turn
  /// ends when the handler returns, a coroutine's at its next `receive` or
  /// `yield`; it runs again once the queue has drained to half its bound.
  /// A process that sends many messages from one handler call should `yield`
  /// (coroutines) or send itself a message to go on with (handlers) every few
  /// hundred: past four times the bound, messages are dropped and counted.
  void send(const pid& to, message m) const;
  template <class T>
  requires(!std::is_same_v<std::decay_t<T>, message>) void send(const pid& to, T value) const {
    send(to, message::make(std::move(value)));
  }
  /// Sends unless the receiver's node is busy (its queue over the bound):
  /// then sends nothing, does not suspend, and returns false (Erlang's
  /// `send_nosuspend`). Try again later, for example after a `yield`.
  bool send_nosuspend(const pid& to, message m) const;
  template <class T>
  requires(!std::is_same_v<std::decay_t<T>, message>) bool send_nosuspend(const pid& to, T value) const {
    return send_nosuspend(to, message::make(std::move(value)));
  }
  /// Sends to a registered name; false if no process has it.
  bool send(const std::string& name, message m) const;
  /// Sends to `name` registered on `node` (this node or another). For another
  /// node it cannot tell whether the name exists there: a missing name drops
  /// the message there, counted. False (the message dropped and counted) if
  /// no process here has the name, if `node` is not named as in its PIDs
  /// (`name@host`, no port), or if the message cannot cross nodes.
  bool send(const std::string& name, const std::string& node, message m) const;

  /// A function that throws before its coroutine exists (a plain function
  /// returning a task, or a frame that cannot be allocated) makes the spawn
  /// throw that: no process is made, and spawn_link's link or
  /// spawn_monitor's monitor is not set up (what the function itself did
  /// through its context stays done). Once running, a process that throws
  /// exits with the exception's text.
  pid spawn(behavior b) const;
  /// Spawns and links atomically: if the child dies first, we still hear of it.
  pid spawn_link(behavior b) const;
  /// Spawns and monitors atomically.
  std::pair<pid, ref> spawn_monitor(behavior b) const;

  /// Links both ways: if either ends with a reason other than `normal`, the
  /// other gets an exit signal. Linking to a dead process delivers `noproc`.
  void link(const pid& other) const;
  void unlink(const pid& other) const;
  /// Watches `other`: a `down_message` arrives when it ends (`noproc` at once
  /// if it is not alive).
  ref monitor(const pid& other) const;
  /// Stops watching; a `down_message` for `r` already in the mailbox is removed.
  void demonitor(const ref& r) const;
  /// Sends an exit signal. `reason::kill()` cannot be trapped.
  void exit(const pid& target, term reason) const;
  /// While on, exit signals arrive as `exit_message`s instead of ending us.
  void trap_exit(bool on) const;

  /// Registers this process under `name`; false if the name is taken or the
  /// process already has one. The name is freed when the process exits.
  bool register_name(const std::string& name) const;
  void unregister_name() const;

  /// Delivers `m` to `to` after `delay`.
  timer_id send_after(std::chrono::nanoseconds delay, const pid& to, message m) const;
  /// Cancels a timer; false if it already fired or never existed.
  bool cancel_timer(timer_id id) const;

  /// Ends this process with `reason` once the current handler returns
  /// (event-driven processes; a coroutine uses `co_return` or throws).
  void stop(term reason = reason::normal()) const;

  /// Waits for the first message (coroutines only).
  receive_any_awaiter receive() const { return receive_any_awaiter({process_, nullptr, std::nullopt}); }
  /// Waits for the first message `m` accepts; others stay in the mailbox.
  receive_any_awaiter receive(matcher m) const { return receive_any_awaiter({process_, std::move(m), std::nullopt}); }
  /// As above, but yields nothing once `timeout` passes (Erlang's `after`).
  receive_awaiter receive(matcher m, std::chrono::nanoseconds timeout) const {
    return receive_awaiter(process_, std::move(m), timeout);
  }

  /// Ends this turn so that other processes run; the coroutine goes on in
  /// its next turn (once the queue it filled has drained, if a send found a
  /// node busy). Coroutines only.
  yield_awaiter yield() const { return yield_awaiter(process_); }

  internal::process& process() const { return process_; }
  internal::runtime_core& core() const { return runtime_; }

 private:
  internal::process& process_;
  internal::runtime_core& runtime_;
};

}  // namespace cluster
