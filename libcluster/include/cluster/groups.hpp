// Process groups, as Erlang's pg: named groups of processes across the
// cluster, within a scope (an independent set of groups; "pg" unless named).
// Each node is the authority for its own processes' memberships and tells
// the other nodes of each change; a node that joins gets every node's groups,
// and the members of a node that goes down are removed everywhere. A member
// that ends leaves its groups. Reads (`members`) are local and never wait.
//
// `publish` sends a message to every member of a group with one copy per
// remote node, which that node's scope process hands to its local members
// (Discord's Manifold, built in): 10,000 members on two other nodes cost two
// remote sends. Each member gets a publisher's messages in the order they
// were published.
//
// These are for processes of a node (`node::processes()`); in a runtime
// that belongs to no node they do nothing and report no members.
// Thread-safety: each call is used from inside a process (its context).
#pragma once

#include <string>
#include <vector>

#include "cluster/pid.hpp"
#include "cluster/process.hpp"
#include "cluster/term.hpp"

namespace cluster {

/// Sent to a process that monitors a group when members join or leave it.
struct group_event {
  ref monitor;  ///< as returned by pg::monitor
  std::string group;
  bool joined = true;     ///< false: they left (or their node went down)
  std::vector<pid> pids;  ///< the processes that joined or left
};

namespace pg {

inline const std::string default_scope = "pg";

/// Adds `p`, a process of this node, to `group` (a process may join a group
/// more than once; it is then a member once). False for a PID of another node.
bool join(context& ctx, const std::string& group, const pid& p, const std::string& scope = default_scope);
/// Removes `p` from `group`; false if it was not a member.
bool leave(context& ctx, const std::string& group, const pid& p, const std::string& scope = default_scope);
/// The members on every node, as this node knows them.
std::vector<pid> members(context& ctx, const std::string& group, const std::string& scope = default_scope);
/// The members on this node.
std::vector<pid> local_members(context& ctx, const std::string& group, const std::string& scope = default_scope);
/// Groups with at least one member.
std::vector<std::string> which_groups(context& ctx, const std::string& scope = default_scope);
/// Watches `group`: the caller gets a `group_event` for every later change;
/// returns the reference for it (in the events) and the members now.
std::pair<ref, std::vector<pid>> monitor(context& ctx, const std::string& group,
                                         const std::string& scope = default_scope);
void demonitor(context& ctx, const ref& r, const std::string& scope = default_scope);
/// Sends `msg` to every member of `group`: directly to this node's members,
/// and once to each other node that has members. Returns how many members
/// this node knew of.
std::size_t publish(context& ctx, const std::string& group, const term& msg, const std::string& scope = default_scope);

}  // namespace pg
}  // namespace cluster
