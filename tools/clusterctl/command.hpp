// What every clusterctl subcommand gets: a connected client, the output mode
// and its own arguments. A subcommand prints its result to stdout and
// returns the exit code.
#pragma once

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "cluster/client.hpp"

namespace clusterctl {

struct context {
  cluster::client& client;
  bool json = false;
  std::chrono::milliseconds timeout{5000};
};

/// Positional arguments of call, cast, spawn and send.
struct target_args {
  std::string node;      ///< where to run (call, cast, spawn)
  std::string function;  ///< "module:function"
  std::string term;      ///< JSON: the arguments, or the message
  std::string to;        ///< send: a PID or a registered name
};

/// Arguments of load, upgrade, unload and migrate.
struct module_args {
  std::string node;    ///< where (name@host), reached through --node
  std::string what;    ///< a module file (load, upgrade) or a module name
  bool purge = false;  ///< kill the processes still running a version that must go
  bool all = false;    ///< upgrade: every alive member, one after the other
};

/// Options of processes and top.
struct process_args {
  std::string sort = "mailbox";  ///< mailbox, handled, memory, name or pid
  std::uint32_t limit = 0;       ///< 0: all (top: 20)
};

/// Exit codes: 0 success, 1 the operation failed, 2 bad usage.
inline constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2;

/// Prints "clusterctl: <what>: <message>" to stderr (and, with --json, an
/// error object to stdout) and returns exit_failed (exit_usage for bad input).
int report(bool json, const std::string& what, const cluster::error& e);

/// Prints a JSON document on one line.
inline void print(const nlohmann::json& j) { std::cout << j.dump() << "\n"; }

int run_ping(context& ctx);
int run_nodes(context& ctx);
int run_info(context& ctx);
int run_members(context& ctx);
int run_stats(context& ctx);
int run_processes(context& ctx, const process_args& a);
/// Names registered on the node, or (`global`) in the whole cluster.
int run_registered(context& ctx, bool global);
/// Process groups of `scope` with their member counts, or one group's members.
int run_groups(context& ctx, const std::string& scope);
int run_group(context& ctx, const std::string& group, const std::string& scope);
/// Redraws the busiest processes every `interval` until Ctrl-C (or `iterations` screens).
int run_top(context& ctx, const process_args& a, std::chrono::milliseconds interval, int iterations);
/// Waits for the process to end and prints its exit reason.
int run_monitor(context& ctx, const std::string& pid_text, std::chrono::milliseconds for_at_most);
/// Round trip from the connected node to `node` (a sys:echo call).
int run_ping_node(context& ctx, const std::string& node);
/// Prints how `node` got to its state in the connected node's view.
int run_why(context& ctx, const std::string& node);
/// `leave` or `stop` the connected node.
int run_admin(context& ctx, const std::string& action);
/// Streams membership changes until interrupted (or `for_at_most`, if not zero).
int run_watch(context& ctx, std::chrono::milliseconds for_at_most);
int run_call(context& ctx, const target_args& a);
int run_cast(context& ctx, const target_args& a);
int run_spawn(context& ctx, const target_args& a);
int run_send(context& ctx, const target_args& a);
int run_modules(context& ctx, const std::string& node);
int run_load(context& ctx, const module_args& a);
int run_upgrade(context& ctx, const module_args& a);
int run_unload(context& ctx, const module_args& a);
int run_migrate(context& ctx, const module_args& a);

}  // namespace clusterctl
