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

#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/process.hpp"
#include "cluster/term.hpp"

namespace cluster {

/// Thrown by a function whose arguments do not fit it.
struct bad_arguments : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A function body: may receive and await (it runs in its own process), and
/// stores its result in `result`.
using function_body = std::function<task(context& ctx, term args, term& result)>;

class function_registry {
 public:
  /// A plain function of its arguments.
  void add(const std::string& name, std::function<term(const term& args)> fn);
  /// A coroutine body (for functions that wait).
  void add_coroutine(const std::string& name, function_body body);
  std::optional<function_body> find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  mutable std::shared_mutex mutex_;  // guards functions_
  std::unordered_map<std::string, function_body> functions_;
};

}  // namespace cluster
