// The process that keeps one replicated table (process groups of a scope,
// or global names) in step with the other nodes: the shell around a
// replica_engine. It learns which nodes are up from the node's membership
// events, carries the engine's messages to the replicas of the other nodes
// (registered under the same name there), sends them a digest of our
// entries every 2 s (which catches changes lost with a replaced connection),
// and monitors our processes that have entries, so that theirs go when they end.
//
// API calls change our own entries in the engine at once (this node sees
// them without waiting) and queue the engine's output for the replica
// process under the same lock, so the other nodes hear of changes in the
// order they were made. Thread-safety: the public and protected members may
// be called from any thread; `mutex_` guards the engine.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/process.hpp"
#include "cluster/runtime.hpp"
#include "services/replica_engine.hpp"

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
  /// Adds or removes our own entry; false if there was nothing to do.
  /// With `reply_to`, see replica_engine::add_own.
  bool add_own(const std::string& key, authority_table::entry e, const std::optional<pid>& reply_to = std::nullopt);
  /// Adds our entry only if `key` has none from any node (a free name), in
  /// one step; `told` gets the nodes the change goes to.
  bool add_own_if_free(const std::string& key, authority_table::entry e, const std::optional<pid>& reply_to,
                       std::vector<std::string>& told);
  bool remove_own(const std::string& key, const pid& p);
  /// Sends the engine's messages and reports its changes (replica process only).
  void execute(context& ctx, replica_engine::output& out);

  /// A change of the table (any node's entries), on the replica process,
  /// with the mutex released.
  virtual void changed(context& ctx, const replica_engine::change& c) = 0;
  /// A term message of another kind (e.g. a publish); false if unknown.
  virtual bool handle(context& ctx, const term_list& msg) = 0;

  cluster::runtime& runtime_;
  mutable std::mutex mutex_;  // guards engine_ and queued_
  replica_engine engine_;
  std::size_t queued_ = 0;  // outputs of API calls not yet run by the replica process

 private:
  struct queued_output {  // from an API call, to run on the replica process
    replica_engine::output out;
  };
  task run(context& ctx);
  void watch_own(context& ctx, const pid& p);

  std::string name_, self_;
  replica_hooks hooks_;
  pid process_;
  std::map<pid, ref> watched_;  // our processes with entries (replica process only)
};

}  // namespace cluster::internal
