// The machinery shared by process groups and global names: an
// authority_table kept in step across nodes by one process per node (a
// "replica", registered under a fixed name). The replica
//
//   - learns which nodes are up from the node's membership events, and sends
//     each node that comes up its full copy of our entries (and asks for
//     theirs); a node that goes down or leaves loses its entries here;
//   - broadcasts each change of our entries to every node that is up, in the
//     order the changes were made;
//   - monitors our processes that have entries, and removes theirs when they end.
//
// API calls change our own entries under the lock at once (so this node sees
// them without waiting) and hand the broadcast to the replica process.
// Messages between replicas are terms (docs/PROTOCOL.md, "Groups and global
// names"). Thread-safety: the public members may be called from any thread;
// `mutex_` guards the table and the set of up nodes.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cluster/process.hpp"
#include "cluster/runtime.hpp"
#include "services/authority_table.hpp"

namespace cluster::internal {

/// What a replica needs from its node.
struct replica_hooks {
  std::function<std::vector<std::string>()> up_nodes;  ///< alive members now, without us
  std::function<void(const pid&)> monitor_nodes;       ///< node_events to this process from now on
};

class replica {
 public:
  replica(cluster::runtime& rt, std::string process_name, replica_hooks hooks);
  virtual ~replica() = default;
  replica(const replica&) = delete;
  replica& operator=(const replica&) = delete;

  /// Spawns the replica process.
  void start();
  const std::string& process_name() const { return name_; }
  const std::string& self_node() const { return self_; }

 protected:
  /// Adds or removes our own entry, and tells the other nodes.
  bool add_own(const std::string& key, authority_table::entry e);
  bool remove_own(const std::string& key, const pid& p);

  /// Called on the replica process after the table changed (any node's
  /// entries), with the mutex released.
  virtual void changed(context& ctx, const std::string& key, bool added, const std::vector<pid>& pids) = 0;
  /// A term message of another kind (e.g. a publish); false if unknown.
  virtual bool handle(context& ctx, const term_list& msg) = 0;

  cluster::runtime& runtime_;
  mutable std::mutex mutex_;  // guards table_ and up_
  authority_table table_;
  std::set<std::string> up_;

 private:
  struct own_change {
    bool added;
    std::string key;
    authority_table::entry e;
  };
  task run(context& ctx);
  void node_up(context& ctx, const std::string& node);
  void node_gone(context& ctx, const std::string& node);
  void apply_sync(context& ctx, const std::string& node, const term& entries);
  void own_ended(context& ctx, const pid& p);
  void broadcast(context& ctx, const term& msg);
  term sync_message() const;  // our entries; the mutex held

  std::string name_, self_;
  replica_hooks hooks_;
  pid process_;
  std::map<pid, std::pair<ref, int>>
      watched_;  // our processes with entries: monitor, entry count (replica process only)
};

}  // namespace cluster::internal
