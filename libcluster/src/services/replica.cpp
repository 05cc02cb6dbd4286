#include "services/replica.hpp"

#include <optional>

#include "cluster/events.hpp"
#include "cluster/log.hpp"

namespace cluster::internal {
namespace {

const atom discover_tag{"discover"}, sync_tag{"sync"}, add_tag{"add"}, remove_tag{"remove"};

bool is_atom(const term& t, const atom& a) { return t.is<atom>() && t.as<atom>() == a; }

// A stamp as it comes off the wire: MessagePack has one kind of integer, and
// a small one decodes as signed.
std::optional<std::uint64_t> stamp_of(const term& t) {
  if (const auto* u = t.get_if<std::uint64_t>()) return *u;
  if (const auto* i = t.get_if<std::int64_t>(); i && *i >= 0) return static_cast<std::uint64_t>(*i);
  return std::nullopt;
}

}  // namespace

replica::replica(cluster::runtime& rt, std::string process_name, replica_hooks hooks)
    : runtime_(rt), name_(std::move(process_name)), self_(rt.node()), hooks_(std::move(hooks)) {}

void replica::start() {
  process_ = runtime_.spawn(behavior([this](context& ctx) -> task { return run(ctx); }).labelled(name_));
}

bool replica::add_own(const std::string& key, authority_table::entry e) {
  {
    std::lock_guard lock(mutex_);
    if (!table_.add(self_, key, e)) return false;
  }
  runtime_.send(process_, own_change{true, key, std::move(e)});
  return true;
}

bool replica::remove_own(const std::string& key, const pid& p) {
  {
    std::lock_guard lock(mutex_);
    if (!table_.remove(self_, key, p)) return false;
  }
  runtime_.send(process_, own_change{false, key, {p, 0}});
  return true;
}

term replica::sync_message() const {
  term_list entries;
  for (const auto& [key, list] : table_.of(self_)) {
    term_list claims;
    for (const auto& e : list) claims.push_back(term_list{e.process, e.stamp});
    entries.push_back(term_list{key, std::move(claims)});
  }
  return term_list{sync_tag, self_, std::move(entries)};
}

void replica::broadcast(context& ctx, const term& msg) {
  std::vector<std::string> nodes;
  {
    std::lock_guard lock(mutex_);
    nodes.assign(up_.begin(), up_.end());
  }
  for (const auto& n : nodes) ctx.send(name_, n, message::make(msg));
}

void replica::node_up(context& ctx, const std::string& node) {
  term sync;
  {
    std::lock_guard lock(mutex_);
    if (node == self_ || !up_.insert(node).second) return;
    sync = sync_message();
  }
  // Ours, and a request for theirs (their replica may have started after
  // they saw us come up).
  ctx.send(name_, node, message::make(term(term_list{discover_tag, self_})));
  ctx.send(name_, node, message::make(std::move(sync)));
}

void replica::node_gone(context& ctx, const std::string& node) {
  authority_table::entries lost;
  {
    std::lock_guard lock(mutex_);
    if (!up_.erase(node)) return;
    lost = table_.of(node);
    table_.drop(node);
  }
  for (const auto& [key, list] : lost) {
    std::vector<pid> pids;
    for (const auto& e : list) pids.push_back(e.process);
    changed(ctx, key, false, pids);
  }
}

void replica::apply_sync(context& ctx, const std::string& node, const term& entries) {
  authority_table::entries now;
  const auto* list = entries.get_if<term_list>();
  if (!list) return;
  for (const auto& item : *list) {
    const auto* kv = item.get_if<term_list>();
    if (!kv || kv->size() != 2 || !(*kv)[0].is<std::string>() || !(*kv)[1].is<term_list>()) return;
    auto& claims = now[(*kv)[0].as<std::string>()];
    for (const auto& c : (*kv)[1].as<term_list>()) {
      const auto* pair = c.get_if<term_list>();
      const auto stamp = pair && pair->size() == 2 ? stamp_of((*pair)[1]) : std::nullopt;
      if (!stamp || !(*pair)[0].is<pid>()) return;
      claims.push_back({(*pair)[0].as<pid>(), *stamp});
    }
  }
  authority_table::entries before;
  {
    std::lock_guard lock(mutex_);
    if (!up_.contains(node)) return;  // from a node we consider down: its next sync counts
    before = table_.of(node);
    table_.replace(node, now);
  }
  // What changed, key by key, for monitors and conflict checks.
  auto pids_of = [](const std::vector<authority_table::entry>& l) {
    std::set<pid> s;
    for (const auto& e : l) s.insert(e.process);
    return s;
  };
  std::set<std::string> keys;
  for (const auto& [k, l] : before) keys.insert(k);
  for (const auto& [k, l] : now) keys.insert(k);
  for (const auto& k : keys) {
    const auto old_pids = before.contains(k) ? pids_of(before[k]) : std::set<pid>{};
    const auto new_pids = now.contains(k) ? pids_of(now[k]) : std::set<pid>{};
    std::vector<pid> joined, left;
    for (const auto& p : new_pids)
      if (!old_pids.contains(p)) joined.push_back(p);
    for (const auto& p : old_pids)
      if (!new_pids.contains(p)) left.push_back(p);
    if (!left.empty()) changed(ctx, k, false, left);
    if (!joined.empty()) changed(ctx, k, true, joined);
  }
}

void replica::own_ended(context& ctx, const pid& p) {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, list] : table_.of(self_))
      for (const auto& e : list)
        if (e.process == p) keys.push_back(key);
    for (const auto& k : keys) table_.remove(self_, k, p);
  }
  for (const auto& k : keys) {
    broadcast(ctx, term_list{remove_tag, self_, k, p});
    changed(ctx, k, false, {p});
  }
}

task replica::run(context& ctx) {
  (void)ctx.register_name(name_);
  hooks_.monitor_nodes(ctx.self());  // before reading who is up: nothing falls between
  for (const auto& n : hooks_.up_nodes()) node_up(ctx, n);
  for (;;) {
    message m = co_await ctx.receive();
    if (auto* change = m.get_if<own_change>()) {
      const pid& p = change->e.process;
      auto& [monitor, count] = watched_[p];
      if (change->added) {
        if (count++ == 0) monitor = ctx.monitor(p);
        broadcast(ctx, term_list{add_tag, self_, change->key, p, change->e.stamp});
      } else {
        if (--count <= 0) {
          ctx.demonitor(monitor);
          watched_.erase(p);
        }
        broadcast(ctx, term_list{remove_tag, self_, change->key, p});
      }
      changed(ctx, change->key, change->added, {p});
    } else if (const auto* down = m.get_if<down_message>()) {
      if (watched_.erase(down->process)) own_ended(ctx, down->process);
    } else if (const auto* e = m.get_if<node_event>()) {
      if (e->what == node_event::kind::up)
        node_up(ctx, e->node.name);
      else if (e->what == node_event::kind::down || e->what == node_event::kind::left)
        node_gone(ctx, e->node.name);
    } else if (const auto* t = m.get_if<term>()) {
      const auto* msg = t->get_if<term_list>();
      if (!msg || msg->size() < 2 || !(*msg)[1].is<std::string>()) continue;
      const auto& node = (*msg)[1].as<std::string>();
      const auto& kind = (*msg)[0];
      if (is_atom(kind, discover_tag)) {
        term sync;
        {
          std::lock_guard lock(mutex_);
          if (!up_.contains(node)) continue;
          sync = sync_message();
        }
        ctx.send(name_, node, message::make(std::move(sync)));
      } else if (is_atom(kind, sync_tag) && msg->size() == 3) {
        apply_sync(ctx, node, (*msg)[2]);
      } else if ((is_atom(kind, add_tag) && msg->size() == 5 && (*msg)[3].is<pid>() && stamp_of((*msg)[4])) ||
                 (is_atom(kind, remove_tag) && msg->size() == 4 && (*msg)[3].is<pid>())) {
        if (!(*msg)[2].is<std::string>()) continue;
        const bool added = is_atom(kind, add_tag);
        const auto& key = (*msg)[2].as<std::string>();
        const auto& p = (*msg)[3].as<pid>();
        bool did = false;
        {
          std::lock_guard lock(mutex_);
          if (!up_.contains(node)) continue;
          did = added ? table_.add(node, key, {p, *stamp_of((*msg)[4])}) : table_.remove(node, key, p);
        }
        if (did) changed(ctx, key, added, {p});
      } else if (!handle(ctx, *msg)) {
        log(log_level::debug, name_ + ": unknown message " + to_string(*t));
      }
    }
  }
}

}  // namespace cluster::internal
