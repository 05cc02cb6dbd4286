// Global names (cluster/global_names.hpp) on one node: a replica whose keys
// are names and whose entries are claims; the owner is the winning claim
// (authority_table::winner). When another node's claim beats one of ours,
// we withdraw ours and tell the losing process.
#pragma once

#include <atomic>
#include <optional>

#include "services/replica.hpp"

namespace cluster::internal {

class global_registry final : public replica {
 public:
  global_registry(cluster::runtime& rt, replica_hooks hooks);

  bool register_name(const std::string& name, const pid& p);
  /// As register_name, and every node up answers `reply_to` whether the
  /// claim wins there; `told` gets those nodes.
  bool claim(const std::string& name, const pid& p, const pid& reply_to, std::vector<std::string>& told);
  bool is_up(const std::string& node) const;
  void unregister_name(const std::string& name);
  std::optional<pid> whereis(const std::string& name) const;
  std::vector<std::pair<std::string, pid>> registered() const;
  /// Withdraws every claim of ours (a minority side under a split-brain
  /// policy) and tells each process; returns how many.
  std::size_t release_all(const std::string& why);

  std::uint64_t conflicts() const { return conflicts_; }  ///< claims of ours that lost
  std::uint64_t released() const { return released_; }    ///< claims of ours released on a minority side
  /// While set (a minority side), registrations are refused.
  void refuse_registrations(bool on) { refusing_ = on; }
  bool refusing() const { return refusing_; }

 private:
  void changed(context& ctx, const replica_engine::change& c) override;
  bool handle(context&, const term_list&) override { return false; }

  std::atomic<std::uint64_t> conflicts_{0}, released_{0};
  std::atomic<bool> refusing_{false};
};

}  // namespace cluster::internal
