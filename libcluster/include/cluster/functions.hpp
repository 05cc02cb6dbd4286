// Registered functions: what remote calls and remote spawns name, as
// "module:function". No closure ever crosses the wire, so nodes running
// different code fail with a clear "undefined function" instead of Erlang's
// `badfun`. Every node has the built-ins `sys:echo` (returns its argument),
// `sys:info` (the node's name, creation, uptime and process count) and
// `sys:sleep` (waits the given milliseconds, without blocking a scheduler
// thread, then returns `ok`).
//
// A function runs in a process of its own on the node that runs it (as
// Erlang's erpc does). It may throw `bad_arguments` (the caller gets
// `errc::bad_argument`) or any exception (`errc::exception` with its text).
// Thread-safe: functions may be added while calls run.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/process.hpp"
#include "cluster/term.hpp"

namespace cluster {

/// Thrown by a function whose arguments do not fit it.
struct bad_arguments : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Thrown by a function to fail with a particular code (the caller gets
/// `code` and the text), such as `errc::not_found` or `errc::rejected`.
struct call_error : std::runtime_error {
  call_error(errc c, const std::string& what) : std::runtime_error(what), code(c) {}
  errc code;
};

/// A function body: may receive and await (it runs in its own process), and
/// stores its result in `result`.
using function_body = std::function<task(context& ctx, term args, term& result)>;

/// The answer to a call or spawn a process started (delivered to it as a
/// message; the awaiters below wait for it).
struct call_result {
  std::uint64_t id = 0;
  errc code = errc::ok;
  term value;  ///< the result, or the new process's pid for a spawn
  std::string message;
};

/// `co_await call(ctx, node, "mod:fun", args, timeout)`: runs the function on
/// `node` (this node's name or empty: here) and yields its result, or a typed
/// error as `client::call` does. The process waits in a receive, so other
/// processes run meanwhile, and never longer than `timeout`.
class call_awaiter {
 public:
  /// `monitor`: a tied spawn's monitor, yielded with the pid as [pid, ref].
  call_awaiter(context& ctx, std::uint64_t id, std::chrono::milliseconds timeout,
               std::optional<ref> monitor = std::nullopt);
  bool await_ready() { return inner_.await_ready(); }
  void await_suspend(std::coroutine_handle<> h) { inner_.await_suspend(h); }
  result<term> await_resume();

 private:
  std::uint64_t id_;
  std::chrono::milliseconds timeout_;
  std::optional<ref> monitor_;
  receive_awaiter inner_;
};

/// How a remote spawn ties the new process to the one asking, set up on the
/// other node before the new process runs, so that even an immediate exit is
/// seen (Erlang's spawn_request with link and monitor).
struct spawn_opts {
  bool link = false;     ///< linked both ways, as spawn_link
  bool monitor = false;  ///< monitored: the spawn yields [pid, ref], and a down_message with that ref comes
};

call_awaiter call(context& ctx, const std::string& node, const std::string& function, term args,
                  std::chrono::milliseconds timeout);
/// Like `call`, but starts a process there; yields its pid (a term holding a
/// pid), or with `opts.monitor` the list [pid, ref]. With `opts.link` the
/// process is linked to us before it runs. If we stop waiting (timeout), a
/// process that still starts is still linked or monitored.
call_awaiter spawn_on(context& ctx, const std::string& node, const std::string& function, term args,
                      std::chrono::milliseconds timeout, spawn_opts opts = {});
/// Runs the function there without waiting for anything.
void cast(context& ctx, const std::string& node, const std::string& function, term args);
/// Calls every node at once and waits (at most `timeout` in all); `out[i]` is
/// the answer of `nodes[i]`.
task multicall(context& ctx, std::vector<std::string> nodes, std::string function, term args,
               std::chrono::milliseconds timeout, std::vector<result<term>>& out);

class function_registry {
 public:
  /// A plain function of its arguments.
  void add(const std::string& name, std::function<term(const term& args)> fn);
  /// A coroutine body (for functions that wait).
  void add_coroutine(const std::string& name, function_body body);
  /// The body registered under `name`, or null. Shared, not copied: a
  /// lookup runs for every remote call and spawn, and copying a body would
  /// allocate; the body stays alive while a process runs it, even if its
  /// module is replaced meanwhile.
  std::shared_ptr<const function_body> find(const std::string& name) const;
  std::vector<std::string> names() const;
  /// Replaces every "module:..." function with `functions` (keyed by full
  /// name) at once: a call looks up either all the old ones or all the new.
  void replace_module(const std::string& module, std::unordered_map<std::string, function_body> functions);

 private:
  mutable std::shared_mutex mutex_;  // guards functions_
  std::unordered_map<std::string, std::shared_ptr<const function_body>> functions_;
};

}  // namespace cluster
