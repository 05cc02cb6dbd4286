// The node's groups and global names, reached by processes through their
// runtime (runtime_core::services). Scopes of groups start on first use.
// Thread-safety: any thread; `mutex_` guards the scope table.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/runtime_core.hpp"
#include "services/global_registry.hpp"
#include "services/group_scope.hpp"

namespace cluster::internal {

class cluster_services final : public node_services {
 public:
  cluster_services(cluster::runtime& rt, replica_hooks hooks);
  /// Starts global names and the default scope of groups.
  void start();

  group_scope& scope(const std::string& name);
  global_registry& names() { return names_; }
  const global_registry& names() const { return names_; }
  /// Sums over every scope: publishes, remote copies, fanned-out deliveries.
  std::array<std::uint64_t, 3> group_counters() const;

  /// The services of the node `ctx`'s process belongs to, or null.
  static cluster_services* of(context& ctx);

 private:
  cluster::runtime& runtime_;
  replica_hooks hooks_;
  global_registry names_;
  mutable std::mutex mutex_;  // guards scopes_
  std::map<std::string, std::unique_ptr<group_scope>> scopes_;
};

}  // namespace cluster::internal
