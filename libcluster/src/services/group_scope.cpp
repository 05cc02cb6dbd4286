#include "services/group_scope.hpp"

#include <algorithm>

#include "cluster/groups.hpp"

namespace cluster::internal {
namespace {

const atom publish_tag{"publish"};

std::vector<pid> unique_pids(const std::vector<authority_table::entry>& entries) {
  std::vector<pid> out;
  for (const auto& e : entries) out.push_back(e.process);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

group_scope::group_scope(cluster::runtime& rt, const std::string& scope, replica_hooks hooks)
    : replica(rt, "cluster.pg." + scope, std::move(hooks)) {}

bool group_scope::join(const std::string& group, const pid& p) {
  if (p.node != self_node() || p.creation != runtime_.creation()) return false;
  return add_own(group, {p, 0});
}

bool group_scope::leave(const std::string& group, const pid& p) { return remove_own(group, p); }

std::vector<pid> group_scope::members(const std::string& group) const {
  std::lock_guard lock(mutex_);
  return unique_pids(engine_.table().find(group));
}

std::vector<pid> group_scope::local_members(const std::string& group) const {
  std::lock_guard lock(mutex_);
  const auto& own = engine_.table().of(self_node());
  const auto it = own.find(group);
  return it == own.end() ? std::vector<pid>{} : unique_pids(it->second);
}

std::vector<std::string> group_scope::groups() const {
  std::lock_guard lock(mutex_);
  return engine_.table().keys();
}

std::pair<ref, std::vector<pid>> group_scope::monitor(const pid& watcher_pid, const ref& r, const std::string& group) {
  std::lock_guard lock(mutex_);
  watchers_.emplace(group, watcher{watcher_pid, r});
  return {r, unique_pids(engine_.table().find(group))};
}

void group_scope::demonitor(const ref& r) {
  std::lock_guard lock(mutex_);
  std::erase_if(watchers_, [&r](const auto& w) { return w.second.monitor == r; });
}

std::size_t group_scope::publish(context& ctx, const std::string& group, const term& msg) {
  std::vector<pid> local;
  std::vector<std::string> remote_nodes;
  std::size_t total = 0;
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : engine_.table().find(group)) {
      ++total;
      if (e.process.node == self_node())
        local.push_back(e.process);
      else if (remote_nodes.empty() || remote_nodes.back() != e.process.node)
        remote_nodes.push_back(e.process.node);  // find() lists a node's entries together
    }
  }
  ++publishes_;
  // From the publishing process itself, so that its publishes reach each
  // node's replica, and so each member, in the order it made them.
  for (const auto& n : remote_nodes) {
    ctx.send(process_name(), n, message::make(term(term_list{publish_tag, self_node(), group, msg})));
    ++remote_copies_;
  }
  for (const auto& p : local) ctx.send(p, message::make(msg));
  return total;
}

bool group_scope::handle(context& ctx, const term_list& msg) {
  if (msg.size() != 4 || !msg[0].is<atom>() || msg[0].as<atom>() != publish_tag || !msg[2].is<std::string>())
    return false;
  for (const auto& p : local_members(msg[2].as<std::string>())) {
    ctx.send(p, message::make(msg[3]));
    ++fanned_out_;
  }
  return true;
}

void group_scope::changed(context& ctx, const replica_engine::change& c) {
  std::vector<watcher> to_tell;
  {
    std::lock_guard lock(mutex_);
    for (auto [it, end] = watchers_.equal_range(c.key); it != end;) {
      if (!runtime_.alive(it->second.process)) {  // a watcher that ended without demonitor
        it = watchers_.erase(it);
        continue;
      }
      to_tell.push_back(it->second);
      ++it;
    }
  }
  for (const auto& w : to_tell) ctx.send(w.process, group_event{w.monitor, c.key, c.added, c.pids});
}

}  // namespace cluster::internal
