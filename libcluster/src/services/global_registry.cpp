#include "services/global_registry.hpp"

#include <chrono>

#include "cluster/log.hpp"

namespace cluster::internal {
namespace {

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

global_registry::global_registry(cluster::runtime& rt, replica_hooks hooks)
    : replica(rt, "cluster.global", std::move(hooks)) {}

bool global_registry::register_name(const std::string& name, const pid& p) {
  if (refusing_ || p.node != self_node() || p.creation != runtime_.creation() || !runtime_.alive(p)) return false;
  std::vector<std::string> told;
  return add_own_if_free(name, {p, now_ms()}, std::nullopt, told);
}

bool global_registry::claim(const std::string& name, const pid& p, const pid& reply_to,
                            std::vector<std::string>& told) {
  if (refusing_ || p.node != self_node() || p.creation != runtime_.creation() || !runtime_.alive(p)) return false;
  return add_own_if_free(name, {p, now_ms()}, reply_to, told);
}

bool global_registry::is_up(const std::string& node) const {
  std::lock_guard lock(mutex_);
  return engine_.is_up(node);
}

void global_registry::unregister_name(const std::string& name) {
  std::vector<pid> ours;
  {
    std::lock_guard lock(mutex_);
    const auto& own = engine_.table().of(self_node());
    if (const auto it = own.find(name); it != own.end())
      for (const auto& e : it->second) ours.push_back(e.process);
  }
  for (const auto& p : ours) remove_own(name, p);
}

std::optional<pid> global_registry::whereis(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto w = engine_.table().winner(name);
  return w ? std::optional<pid>(w->process) : std::nullopt;
}

std::vector<std::pair<std::string, pid>> global_registry::registered() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, pid>> out;
  for (const auto& name : engine_.table().keys())
    if (const auto w = engine_.table().winner(name)) out.emplace_back(name, w->process);
  return out;
}

std::size_t global_registry::release_all(const std::string& why) {
  std::vector<std::pair<std::string, pid>> ours;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, list] : engine_.table().of(self_node()))
      for (const auto& e : list) ours.emplace_back(name, e.process);
  }
  std::size_t released = 0;
  for (const auto& [name, p] : ours) {
    if (!remove_own(name, p)) continue;
    ++released;
    ++released_;
    runtime_.send(p, term(term_list{atom{"name_released"}, name, why}));
  }
  return released;
}

void global_registry::changed(context& ctx, const replica_engine::change& c) {
  if (!c.added) return;
  // Did another node's claim just beat one of ours?
  replica_engine::output out;
  std::vector<std::pair<pid, pid>> lost;
  {
    std::lock_guard lock(mutex_);
    lost = engine_.withdraw_losing_claims(c.key, out);
  }
  for (const auto& [loser, winner] : lost) {
    ++conflicts_;
    log(log_level::warn, self_node() + ": global name " + c.key + " belongs to " + to_string(term(winner)) +
                             "; withdrew the claim of " + to_string(term(loser)));
    ctx.send(loser, term(term_list{atom{"name_conflict"}, c.key, winner}));
  }
  execute(ctx, out);
}

}  // namespace cluster::internal
