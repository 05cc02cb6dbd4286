#include "cluster/groups.hpp"

#include "services/cluster_services.hpp"

namespace cluster::pg {
namespace {

internal::group_scope* scope_of(context& ctx, const std::string& scope) {
  auto* s = internal::cluster_services::of(ctx);
  return s ? &s->scope(scope) : nullptr;
}

}  // namespace

bool join(context& ctx, const std::string& group, const pid& p, const std::string& scope) {
  auto* s = scope_of(ctx, scope);
  return s && s->join(group, p);
}

bool leave(context& ctx, const std::string& group, const pid& p, const std::string& scope) {
  auto* s = scope_of(ctx, scope);
  return s && s->leave(group, p);
}

std::vector<pid> members(context& ctx, const std::string& group, const std::string& scope) {
  auto* s = scope_of(ctx, scope);
  return s ? s->members(group) : std::vector<pid>{};
}

std::vector<pid> local_members(context& ctx, const std::string& group, const std::string& scope) {
  auto* s = scope_of(ctx, scope);
  return s ? s->local_members(group) : std::vector<pid>{};
}

std::vector<std::string> which_groups(context& ctx, const std::string& scope) {
  auto* s = scope_of(ctx, scope);
  return s ? s->groups() : std::vector<std::string>{};
}

std::pair<ref, std::vector<pid>> monitor(context& ctx, const std::string& group, const std::string& scope) {
  const ref r = ctx.core().make_ref();
  auto* s = scope_of(ctx, scope);
  return s ? s->monitor(ctx.self(), r, group) : std::pair<ref, std::vector<pid>>{r, {}};
}

void demonitor(context& ctx, const ref& r, const std::string& scope) {
  if (auto* s = scope_of(ctx, scope)) s->demonitor(r);
}

std::size_t publish(context& ctx, const std::string& group, const term& msg, const std::string& scope) {
  auto* s = scope_of(ctx, scope);
  return s ? s->publish(ctx, group, msg) : 0;
}

}  // namespace cluster::pg
