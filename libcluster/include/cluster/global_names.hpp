// Global names: a name for a process that every node of the cluster knows,
// without global locks. Each node is the authority for the names of its own
// processes and tells the others; whereis answers from what this node knows,
// at once. A name is freed everywhere when its process ends or its node goes
// down.
//
// Conflicts. Two processes may claim one name when their nodes could not
// hear each other (a partition) or claimed it at the same moment (unless
// they used `claim_global`, which waits for every node's agreement). Every node
// then picks the same owner by one rule: the earlier claim (its node's clock
// when it registered, in milliseconds), then the smaller PID. `whereis`
// answers that owner on every node that knows both claims; the loser's node
// withdraws its claim and sends the losing process the term
// `[name_conflict, Name, Winner]` (`name_conflict` an atom). Once the nodes
// have exchanged their names, no name has two owners.
//
// For processes of a node; in a runtime that belongs to no node these fail.
// Thread-safety: used from inside a process (its context).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/message.hpp"
#include "cluster/pid.hpp"
#include "cluster/process.hpp"

namespace cluster {

/// Registers `p` (a process of this node) under `name` in the whole
/// cluster; false if this node knows an owner already, or `p` is not local.
bool register_global(context& ctx, const std::string& name, const pid& p);
/// Registers as `register_global` does, then waits until every node that is
/// up has the claim and agrees that it wins (at most `timeout`; a node that
/// goes down meanwhile is not waited for). With every node answering, no
/// other process can own the name anywhere in the connected cluster: of two
/// claims made at once, each node agrees to one, the same one. `out` is ok,
/// or `rejected` (taken, or another claim won: the name is not ours), or
/// `timeout` (not every node answered in time: the claim stays, and may
/// still win or lose; unregister it if that is not good enough).
/// A coroutine: `co_await claim_global(ctx, "leader", ctx.self(), 5s, out)`.
task claim_global(context& ctx, std::string name, pid p, std::chrono::milliseconds timeout, result<void>& out);
/// Removes this node's claim on `name`, if it has one.
void unregister_global(context& ctx, const std::string& name);
/// The owner of `name`, as this node knows it.
std::optional<pid> whereis_global(context& ctx, const std::string& name);
/// Sends to the owner of `name`; false if no process has it.
bool send_global(context& ctx, const std::string& name, message m);
/// Every global name this node knows, with its owner.
std::vector<std::pair<std::string, pid>> registered_global(context& ctx);

}  // namespace cluster
