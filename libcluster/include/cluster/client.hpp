// A light client: an authenticated connection to one node, without becoming a
// cluster member (clusterctl uses it). It proves the cookie exactly as a node
// does and then sends requests and waits for the answers.
//
// Threading: a client is used from one thread at a time. Every call blocks
// until the answer arrives or `timeout` passes; none waits longer.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/member.hpp"
#include "cluster/node.hpp"
#include "cluster/node_info.hpp"
#include "cluster/node_name.hpp"
#include "cluster/pid.hpp"
#include "cluster/runtime.hpp"
#include "cluster/term.hpp"

namespace cluster {

struct client_options {
  std::string cookie;
  std::chrono::milliseconds timeout{5000};  ///< for connecting and for each request
  std::string label = "client";             ///< how the node's logs name us
  /// Talk to a node started with --insecure-plaintext (unsealed frames).
  /// Must match the node's setting, or the handshake is refused.
  bool insecure_plaintext = false;
};

class client {
 public:
  /// Connects and authenticates. Errors: `unknown_node` (unresolvable host),
  /// `timeout` (nobody answered), `auth_failed` (cookie mismatch), `rejected`
  /// (the node at that address has another name), `unsupported_version`.
  static result<std::unique_ptr<client>> connect(const node_name& node, const client_options& options);

  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Round trip to the node.
  result<std::chrono::microseconds> ping();
  /// The node's connected peer nodes.
  result<std::vector<peer_node>> nodes();
  /// The node's identity and vital statistics.
  result<node_info> info();
  /// The node's processes, sorted by `sort` ("mailbox", "handled", "memory"
  /// largest first; "name"; "pid", the default), at most `limit` (0: all).
  /// `total` is how many the node runs.
  struct process_list {
    std::uint64_t total = 0;
    std::vector<process_info> processes;
  };
  result<process_list> processes(const std::string& sort = "pid", std::uint32_t limit = 0);
  /// The names registered on the node, sorted.
  result<std::vector<std::pair<std::string, pid>>> registered();
  /// Waits until the process `p` (on any node) ends and returns its exit
  /// reason (`noproc` if it did not exist); `timeout` when `for_at_most`
  /// passes (zero: no limit).
  result<term> monitor(const pid& p, std::chrono::milliseconds for_at_most = std::chrono::milliseconds(0));
  /// The node's counters, its links' counters and its latency histograms.
  result<node_stats> stats();
  /// How the member `node` got to its state in the node's view, newest first.
  result<std::vector<member_history_entry>> why(const std::string& node);
  /// Asks the node to leave the cluster (it keeps running, alone).
  result<void> leave();
  /// Asks the node to leave and stop (`not_found` if it is embedded and cannot).
  result<void> stop();
  /// The node's member table (SWIM membership), itself included.
  result<std::vector<member>> members();
  /// Streams the node's membership changes as they happen: calls `on_change`
  /// for each until it returns false (ok), `for_at_most` passes (ok; zero
  /// means no limit), `still_wanted` (asked every 100 ms, if given) says no
  /// (ok), or the connection is lost (`no_connection`).
  result<void> watch(const std::function<bool(const member_change&)>& on_change,
                     std::chrono::milliseconds for_at_most = std::chrono::milliseconds(0),
                     const std::function<bool()>& still_wanted = {});

  /// Runs the registered `function` with `args` on `node` (empty: the node we
  /// are connected to; another name: reached through it) and returns its
  /// result, or: `not_found` (undefined function), `bad_argument`,
  /// `exception` (with the exception's text), `no_connection` (no link to
  /// that node), `timeout` (no answer within `timeout`; never waits longer).
  result<term> call(const std::string& function, const term& args, std::chrono::milliseconds timeout,
                    const std::string& node = "");
  /// Runs `function` there without waiting for anything.
  result<void> cast(const std::string& function, const term& args, const std::string& node = "");
  /// Starts a process running `function` there; its PID.
  result<pid> spawn(const std::string& function, const term& args, const std::string& node = "");
  /// Sends `msg` to a process on any node of the cluster.
  result<void> send(const pid& to, const term& msg);
  /// Sends `msg` to the process registered as `name` on the connected node.
  result<void> send(const std::string& name, const term& msg);
  /// Sends `msg` to the process registered as `name` on `node` (any node,
  /// reached through the connected one; empty: the connected one). `node` is
  /// `name@host`, as in PIDs: anything else is a bad_argument error.
  result<void> send(const std::string& name, const std::string& node, const term& msg);

  /// The name the node proved it has.
  const std::string& node() const;

 private:
  class impl;
  explicit client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace cluster
