#include "cluster/global_names.hpp"

#include <algorithm>
#include <set>

#include "services/cluster_services.hpp"

namespace cluster {

bool register_global(context& ctx, const std::string& name, const pid& p) {
  auto* s = internal::cluster_services::of(ctx);
  return s && s->names().register_name(name, p);
}

task claim_global(context& ctx, std::string name, pid p, std::chrono::milliseconds timeout, result<void>& out) {
  auto* s = internal::cluster_services::of(ctx);
  std::vector<std::string> told;
  if (!s || !s->names().claim(name, p, ctx.self(), told)) {
    out = error{errc::rejected, name + " is taken, or cannot be claimed here now"};
    co_return;
  }
  std::set<std::string> waiting(told.begin(), told.end());
  const auto acknowledgement = [&name, &p](const message& m) {
    const auto* t = m.get_if<term>();
    const auto* l = t ? t->get_if<term_list>() : nullptr;
    return l && l->size() == 5 && (*l)[0] == term(atom{"claim_ack"}) && (*l)[1].is<std::string>() &&
           (*l)[2] == term(name) && (*l)[3] == term(p) && (*l)[4].is<bool>();
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!waiting.empty()) {
    // Nodes that went down since are not waited for.
    std::erase_if(waiting, [s](const std::string& n) { return !s->names().is_up(n); });
    if (waiting.empty()) break;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      out = error{errc::timeout, std::to_string(waiting.size()) + " node(s) did not answer the claim on " + name};
      co_return;
    }
    auto got =
        co_await ctx.receive(acknowledgement, std::min<std::chrono::nanoseconds>(std::chrono::milliseconds(100), left));
    if (!got) continue;
    const auto& ack = got->get<term>().as<term_list>();
    if (!ack[4].as<bool>()) {
      out = error{errc::rejected, "an earlier claim on " + name + " won on " + ack[1].as<std::string>()};
      co_return;
    }
    waiting.erase(ack[1].as<std::string>());
  }
  // Ours may also have lost here meanwhile, to a claim that came in.
  if (s->names().whereis(name) != p) {
    out = error{errc::rejected, "an earlier claim on " + name + " won"};
    co_return;
  }
  out = {};
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
