#include "cluster/global_names.hpp"

#include "services/cluster_services.hpp"

namespace cluster {

bool register_global(context& ctx, const std::string& name, const pid& p) {
  auto* s = internal::cluster_services::of(ctx);
  return s && s->names().register_name(name, p);
}

void unregister_global(context& ctx, const std::string& name) {
  if (auto* s = internal::cluster_services::of(ctx)) s->names().unregister_name(name);
}

std::optional<pid> whereis_global(context& ctx, const std::string& name) {
  auto* s = internal::cluster_services::of(ctx);
  return s ? s->names().whereis(name) : std::nullopt;
}

bool send_global(context& ctx, const std::string& name, message m) {
  const auto owner = whereis_global(ctx, name);
  if (!owner) return false;
  ctx.send(*owner, std::move(m));
  return true;
}

std::vector<std::pair<std::string, pid>> registered_global(context& ctx) {
  auto* s = internal::cluster_services::of(ctx);
  return s ? s->names().registered() : std::vector<std::pair<std::string, pid>>{};
}

}  // namespace cluster
