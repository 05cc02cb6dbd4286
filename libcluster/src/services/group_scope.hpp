// One scope of process groups (cluster/groups.hpp) on one node: a replica
// whose keys are group names and whose entries are members, plus group
// monitors and publish with one copy per remote node.
#pragma once

#include <atomic>
#include <map>

#include "services/replica.hpp"

namespace cluster::internal {

class group_scope final : public replica {
 public:
  group_scope(cluster::runtime& rt, const std::string& scope, replica_hooks hooks);

  bool join(const std::string& group, const pid& p);
  bool leave(const std::string& group, const pid& p);
  std::vector<pid> members(const std::string& group) const;
  std::vector<pid> local_members(const std::string& group) const;
  std::vector<std::string> groups() const;
  std::pair<ref, std::vector<pid>> monitor(const pid& watcher, const ref& r, const std::string& group);
  void demonitor(const ref& r);
  std::size_t publish(context& ctx, const std::string& group, const term& msg);

  /// Counters: publishes made here, copies sent to other nodes for them, and
  /// messages handed to local members for publishes from other nodes.
  std::uint64_t publishes() const { return publishes_; }
  std::uint64_t remote_copies() const { return remote_copies_; }
  std::uint64_t fanned_out() const { return fanned_out_; }

 private:
  void changed(context& ctx, const replica_engine::change& c) override;
  bool handle(context& ctx, const term_list& msg) override;

  struct watcher {
    pid process;
    ref monitor;
  };
  std::multimap<std::string, watcher> watchers_;  // by group; guarded by mutex_
  std::atomic<std::uint64_t> publishes_{0}, remote_copies_{0}, fanned_out_{0};
};

}  // namespace cluster::internal
