// clusterctl: inspect and drive a libcluster cluster from the shell. It
// connects to one node as an authenticated client (never a member).
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "cluster/cookie.hpp"
#include "cluster/log.hpp"
#include "command.hpp"
#include "json_term.hpp"

namespace clusterctl {

int report(bool json, const std::string& what, const cluster::error& e) {
  if (json) print({{"error", std::string(cluster::to_string(e.code))}, {"message", e.message}});
  std::cerr << "clusterctl: " << what << ": " << e.message << "\n";
  return e.code == cluster::errc::bad_argument && what.find("argument") != std::string::npos ? exit_usage : exit_failed;
}

}  // namespace clusterctl

int main(int argc, char** argv) {
  using namespace clusterctl;
  CLI::App app{"clusterctl: inspect and drive a libcluster cluster."};
  app.require_subcommand(1, 1);
  app.fallthrough();

  std::string node_text;
  std::optional<std::string> cookie, cookie_file;
  int timeout_ms = 5000;
  bool json = false;
  std::string level = "warn";
  app.add_option("--node", node_text, "the node to talk to: name@host or name@host:port")->required();
  app.add_option("--cookie", cookie, "the cluster's cookie (visible in ps: prefer --cookie-file)");
  app.add_option("--cookie-file", cookie_file,
                 "a file holding the cookie (default: $CLUSTER_COOKIE, else " + cluster::default_cookie_path() + ")");
  app.add_option("--timeout", timeout_ms, "milliseconds to wait for connecting and for each answer")
      ->check(CLI::Range(1, 3600000));
  app.add_flag("--json", json, "print results as JSON");
  bool plaintext = false;
  app.add_flag("--insecure-plaintext", plaintext, "talk to nodes started with --insecure-plaintext");
  app.add_option("--log-level", level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  auto* ping = app.add_subcommand("ping", "check that the node (or NODE, through it) answers, and how fast");
  std::string ping_node;
  ping->add_option("node", ping_node, "another node to reach through --node (name@host)");
  auto* nodes = app.add_subcommand("nodes", "list the nodes this node is connected to");
  auto* info = app.add_subcommand("info", "the node's name, creation, uptime, version, counts and dist port");
  auto* members = app.add_subcommand("members", "the node's member table: state, incarnation, tags, last change");
  auto* watch = app.add_subcommand("watch", "stream membership changes as the node sees them, until Ctrl-C");
  int watch_for_ms = 0;
  watch->add_option("--for", watch_for_ms, "stop after this many milliseconds (default: never)")
      ->check(CLI::Range(0, 86400000));
  auto* stats = app.add_subcommand("stats", "the node's counters, its links' traffic and its call latencies");
  std::string why_node;
  auto* why = app.add_subcommand("why", "how a member got to its state: who suspected or declared it, when, why");
  why->add_option("node", why_node, "the member, name@host")->required();
  auto* leave = app.add_subcommand("leave", "make the node leave the cluster gracefully (it keeps running alone)");
  auto* stop = app.add_subcommand("stop", "make the node leave the cluster and exit");
  process_args proc;
  const auto sort_check = CLI::IsMember({"mailbox", "handled", "memory", "name", "pid"});
  auto* processes =
      app.add_subcommand("processes", "the node's processes: pid, name, mailbox, handled, memory, function");
  processes->add_option("--sort", proc.sort, "mailbox (default), handled, memory, name or pid")->check(sort_check);
  processes->add_option("--limit", proc.limit, "at most this many (default: all)");
  auto* registered = app.add_subcommand("registered", "the names registered on the node, with their PIDs");
  bool global_names = false;
  registered->add_flag("--global", global_names, "the cluster-wide (global) names instead, as the node knows them");
  std::string group_name, group_scope = "pg";
  auto* groups = app.add_subcommand("groups", "the process groups the node knows, with their member counts");
  auto* group = app.add_subcommand("group", "the members of a process group, on every node");
  group->add_option("group", group_name, "the group")->required();
  for (auto* sub : {groups, group}) sub->add_option("--scope", group_scope, "the scope of groups (default pg)");
  process_args top_args;
  top_args.limit = 20;
  int top_interval_ms = 1000, top_iterations = 0;
  auto* top = app.add_subcommand("top", "the busiest processes, redrawn every second until Ctrl-C (as etop)");
  top->add_option("--sort", top_args.sort, "mailbox (default), handled, memory, name or pid")->check(sort_check);
  top->add_option("--limit", top_args.limit, "rows (default 20)");
  top->add_option("--interval", top_interval_ms, "milliseconds between screens (default 1000)")
      ->check(CLI::Range(50, 3600000));
  top->add_option("--iterations", top_iterations, "stop after this many screens (default: never)")
      ->check(CLI::Range(0, 1000000));
  std::string monitor_pid;
  int monitor_for_ms = 0;
  auto* monitor = app.add_subcommand("monitor", "wait until a process (on any node) ends and print its exit reason");
  monitor->add_option("pid", monitor_pid, "the PID, e.g. <n1@127.0.0.1.1234.42>")->required();
  monitor->add_option("--for", monitor_for_ms, "give up (exit 1, timeout) after this many milliseconds")
      ->check(CLI::Range(0, 86400000));
  target_args targets;
  auto* call = app.add_subcommand("call", "run a registered function on a node and print its result (JSON)");
  auto* cast = app.add_subcommand("cast", "run a registered function on a node, without waiting");
  auto* spawn = app.add_subcommand("spawn", "start a process running a registered function on a node");
  for (auto* sub : {call, cast, spawn}) {
    sub->add_option("node", targets.node, "the node to run it on (name@host), reached through --node")->required();
    sub->add_option("function", targets.function, "module:function, e.g. sys:echo")->required();
    sub->add_option("args", targets.term, "the arguments as JSON (default [])");
  }
  auto* send = app.add_subcommand("send", "send a message (JSON) to a PID, or to NAME (on --node) or NAME@NODE");
  send->add_option("to", targets.to, "a PID such as <n1@10.0.0.5.1234.42>, a registered name, or name@node")
      ->required();
  send->add_option("message", targets.term, "the message as JSON")->required();

  module_args mods;
  std::string modules_node;
  auto* modules = app.add_subcommand("modules", "the modules loaded on a node: versions, processes, files");
  modules->add_option("node", modules_node, "the node (name@host), reached through --node")->required();
  auto* load = app.add_subcommand("load", "load a module (a shared object in the node's --module-dir) on a node");
  auto* upgrade = app.add_subcommand(
      "upgrade", "load a new version of a module on a node (or, with --all, on every member, one after the other)");
  auto* unload = app.add_subcommand("unload", "unload a module; its processes finish on its code (or --purge)");
  auto* migrate = app.add_subcommand("migrate", "move a module's old servers to its current version (code_change)");
  for (auto* sub : {load, upgrade, unload, migrate}) {
    const bool by_file = sub == load || sub == upgrade;
    sub->add_option("node", mods.node, "the node (name@host), reached through --node")->required(sub != upgrade);
    sub->add_option(by_file ? "path" : "module", mods.what,
                    by_file ? "the module file: a name in --module-dir, or a path inside it" : "the module's name")
        ->required(sub != upgrade);
  }
  for (auto* sub : {upgrade, unload})
    sub->add_flag("--purge", mods.purge, "kill the processes still running a version that has to go");
  upgrade->add_flag("--all", mods.all, "every alive member, in name order; stops at the first failure");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "clusterctl: " << e.what() << " (see clusterctl --help)\n";
    return exit_usage;
  }
  cluster::set_log_level(*cluster::parse_log_level(level));

  auto node = cluster::parse_node_name(node_text);
  if (!node) {
    std::cerr << "clusterctl: --node: " << node.err().message << "\n";
    return exit_usage;
  }
  if (cookie && cookie_file) {
    std::cerr << "clusterctl: give --cookie or --cookie-file, not both\n";
    return exit_usage;
  }
  // A target node may be written with its port; requests name its identity.
  if (!ping_node.empty()) {
    auto target = cluster::parse_node_name(ping_node);
    if (!target) {
      std::cerr << "clusterctl: " << ping_node << ": " << target.err().message << "\n";
      return exit_usage;
    }
    ping_node = target->id();
  }
  if (!targets.node.empty()) {
    auto target = cluster::parse_node_name(targets.node);
    if (!target) {
      std::cerr << "clusterctl: " << targets.node << ": " << target.err().message << "\n";
      return exit_usage;
    }
    targets.node = target->id();
  }
  if (*upgrade) {  // NODE PATH, or --all PATH
    if (mods.all && mods.what.empty()) std::swap(mods.node, mods.what);
    if (mods.what.empty() || (mods.all != mods.node.empty())) {
      std::cerr << "clusterctl: upgrade takes NODE PATH, or --all PATH (see clusterctl upgrade --help)\n";
      return exit_usage;
    }
  }
  for (auto* text : {&mods.node, &modules_node}) {
    if (text->empty()) continue;
    auto target = cluster::parse_node_name(*text);
    if (!target) {
      std::cerr << "clusterctl: " << *text << ": " << target.err().message << "\n";
      return exit_usage;
    }
    *text = target->id();
  }
  auto secret = cluster::load_cookie({cookie, cookie_file});
  if (!secret) {
    std::cerr << "clusterctl: " << secret.err().message << "\n";
    return exit_failed;
  }

  cluster::client_options options;
  options.cookie = secret->secret;
  options.timeout = std::chrono::milliseconds(timeout_ms);
  options.label = "clusterctl";
  options.insecure_plaintext = plaintext;
  auto client = cluster::client::connect(*node, options);
  if (!client) {
    return report(json, "cannot connect to " + node->to_string(), client.err());
  }

  context ctx{**client, json, std::chrono::milliseconds(timeout_ms)};
  if (*ping) return ping_node.empty() ? run_ping(ctx) : run_ping_node(ctx, ping_node);
  if (*processes) return run_processes(ctx, proc);
  if (*registered) return run_registered(ctx, global_names);
  if (*groups) return run_groups(ctx, group_scope);
  if (*group) return run_group(ctx, group_name, group_scope);
  if (*top) return run_top(ctx, top_args, std::chrono::milliseconds(top_interval_ms), top_iterations);
  if (*monitor) return run_monitor(ctx, monitor_pid, std::chrono::milliseconds(monitor_for_ms));
  if (*nodes) return run_nodes(ctx);
  if (*info) return run_info(ctx);
  if (*members) return run_members(ctx);
  if (*stats) return run_stats(ctx);
  if (*why) return run_why(ctx, why_node);
  if (*leave) return run_admin(ctx, "leave");
  if (*stop) return run_admin(ctx, "stop");
  if (*watch) return run_watch(ctx, std::chrono::milliseconds(watch_for_ms));
  if (*call) return run_call(ctx, targets);
  if (*cast) return run_cast(ctx, targets);
  if (*spawn) return run_spawn(ctx, targets);
  if (*send) return run_send(ctx, targets);
  if (*modules) return run_modules(ctx, modules_node);
  if (*load) return run_load(ctx, mods);
  if (*upgrade) return run_upgrade(ctx, mods);
  if (*unload) return run_unload(ctx, mods);
  if (*migrate) return run_migrate(ctx, mods);
  return exit_usage;
}
