#include "services/cluster_services.hpp"

#include "cluster/groups.hpp"

namespace cluster::internal {

cluster_services::cluster_services(cluster::runtime& rt, replica_hooks hooks)
    : runtime_(rt), hooks_(hooks), names_(rt, std::move(hooks)) {}

void cluster_services::start() {
  names_.start();
  (void)scope(pg::default_scope);
}

group_scope& cluster_services::scope(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto& s = scopes_[name];
  if (!s) {
    s = std::make_unique<group_scope>(runtime_, name, hooks_);
    s->start();
  }
  return *s;
}

std::array<std::uint64_t, 3> cluster_services::group_counters() const {
  std::lock_guard lock(mutex_);
  std::array<std::uint64_t, 3> sum{};
  for (const auto& [name, s] : scopes_) {
    sum[0] += s->publishes();
    sum[1] += s->remote_copies();
    sum[2] += s->fanned_out();
  }
  return sum;
}

cluster_services* cluster_services::of(context& ctx) { return dynamic_cast<cluster_services*>(ctx.core().services()); }

}  // namespace cluster::internal
