#include "services/replica_engine.hpp"

#include <algorithm>
#include <optional>
#include <tuple>

namespace cluster::internal {
namespace {

const atom discover_tag{"discover"}, sync_tag{"sync"}, add_tag{"add"}, remove_tag{"remove"}, digest_tag{"digest"},
    claim_ack_tag{"claim_ack"};

bool is_atom(const term& t, const atom& a) { return t.is<atom>() && t.as<atom>() == a; }

// A stamp as it comes off the wire: MessagePack has one kind of integer, and
// a small one decodes as signed.
std::optional<std::uint64_t> stamp_of(const term& t) {
  if (const auto* u = t.get_if<std::uint64_t>()) return *u;
  if (const auto* i = t.get_if<std::int64_t>(); i && *i >= 0) return static_cast<std::uint64_t>(*i);
  return std::nullopt;
}

std::set<pid> pids_of(const std::vector<authority_table::entry>& entries) {
  std::set<pid> out;
  for (const auto& e : entries) out.insert(e.process);
  return out;
}

}  // namespace

void replica_engine::broadcast(const term& msg, output& out) const {
  for (const auto& n : up_) out.sends.emplace_back(n, msg);
}

term replica_engine::sync_message() const {
  term_list entries;
  for (const auto& [key, list] : table_.of(self_)) {
    term_list claims;
    for (const auto& e : list) claims.push_back(term_list{e.process, e.stamp});
    entries.push_back(term_list{key, std::move(claims)});
  }
  return term_list{sync_tag, self_, std::move(entries)};
}

void replica_engine::send_digests(output& out) const {
  broadcast(term_list{digest_tag, self_, table_.digest(self_)}, out);
}

void replica_engine::node_up(const std::string& node, output& out) {
  if (node == self_ || !up_.insert(node).second) return;
  // Ours, and a request for theirs (their replica may have started after it
  // saw us come up).
  out.sends.emplace_back(node, term(term_list{discover_tag, self_}));
  out.sends.emplace_back(node, sync_message());
}

void replica_engine::node_gone(const std::string& node, output& out) {
  if (!up_.erase(node)) return;
  for (const auto& [key, list] : table_.of(node)) {
    const auto gone = pids_of(list);
    out.changes.push_back({key, false, {gone.begin(), gone.end()}});
  }
  table_.drop(node);
}

void replica_engine::apply_sync(const std::string& node, const term& entries, output& out) {
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
  auto before = table_.of(node);
  table_.replace(node, now);
  std::set<std::string> keys;
  for (const auto& [k, l] : before) keys.insert(k);
  for (const auto& [k, l] : now) keys.insert(k);
  for (const auto& k : keys) {
    const auto old_pids = before.contains(k) ? pids_of(before[k]) : std::set<pid>{};
    const auto new_pids = now.contains(k) ? pids_of(now[k]) : std::set<pid>{};
    change joined{k, true, {}}, left{k, false, {}};
    for (const auto& p : new_pids)
      if (!old_pids.contains(p)) joined.pids.push_back(p);
    for (const auto& p : old_pids)
      if (!new_pids.contains(p)) left.pids.push_back(p);
    if (!left.pids.empty()) out.changes.push_back(std::move(left));
    if (!joined.pids.empty()) out.changes.push_back(std::move(joined));
  }
}

bool replica_engine::receive(const term& t, output& out) {
  const auto* msg = t.get_if<term_list>();
  if (!msg || msg->size() < 2 || !(*msg)[1].is<std::string>()) return false;
  const auto& node = (*msg)[1].as<std::string>();
  const auto& kind = (*msg)[0];
  const bool up = up_.contains(node);
  if (is_atom(kind, discover_tag) && msg->size() == 2) {
    if (up) out.sends.emplace_back(node, sync_message());
    return true;
  }
  if (is_atom(kind, digest_tag) && msg->size() == 3 && stamp_of((*msg)[2])) {
    // Something of theirs was lost on the way: ask for all of it.
    if (up && table_.digest(node) != *stamp_of((*msg)[2]))
      out.sends.emplace_back(node, term(term_list{discover_tag, self_}));
    return true;
  }
  if (is_atom(kind, sync_tag) && msg->size() == 3) {
    if (up) apply_sync(node, (*msg)[2], out);
    return true;
  }
  const bool add =
      is_atom(kind, add_tag) && (msg->size() == 5 || (msg->size() == 6 && (*msg)[5].is<pid>())) && stamp_of((*msg)[4]);
  const bool remove = is_atom(kind, remove_tag) && msg->size() == 4;
  if (!(add || remove) || !(*msg)[2].is<std::string>() || !(*msg)[3].is<pid>()) return false;
  if (!up) return true;
  const auto& key = (*msg)[2].as<std::string>();
  const auto& p = (*msg)[3].as<pid>();
  if (add ? table_.add(node, key, {p, *stamp_of((*msg)[4])}) : table_.remove(node, key, p))
    out.changes.push_back({key, add, {p}});
  if (add && msg->size() == 6) {
    const auto w = table_.winner(key);
    out.replies.emplace_back((*msg)[5].as<pid>(), term(term_list{claim_ack_tag, self_, key, p, w && w->process == p}));
  }
  return true;
}

bool replica_engine::add_own(const std::string& key, authority_table::entry e, output& out,
                             const std::optional<pid>& reply_to) {
  const pid p = e.process;
  const auto stamp = e.stamp;
  if (!table_.add(self_, key, std::move(e))) return false;
  own_keys_[p].insert(key);
  if (reply_to)
    broadcast(term_list{add_tag, self_, key, p, stamp, *reply_to}, out);
  else
    broadcast(term_list{add_tag, self_, key, p, stamp}, out);
  out.changes.push_back({key, true, {p}});
  return true;
}

bool replica_engine::remove_own(const std::string& key, const pid& p, output& out) {
  if (!table_.remove(self_, key, p)) return false;
  if (const auto it = own_keys_.find(p); it != own_keys_.end() && it->second.erase(key) && it->second.empty())
    own_keys_.erase(it);
  broadcast(term_list{remove_tag, self_, key, p}, out);
  out.changes.push_back({key, false, {p}});
  return true;
}

void replica_engine::own_ended(const pid& p, output& out) {
  const auto it = own_keys_.find(p);
  if (it == own_keys_.end()) return;
  const std::set<std::string> keys = it->second;  // a copy: remove_own changes it
  for (const auto& k : keys) remove_own(k, p, out);
}

std::vector<std::pair<pid, pid>> replica_engine::withdraw_losing_claims(const std::string& key, output& out) {
  std::vector<std::pair<pid, pid>> lost;
  const auto w = table_.winner(key);
  if (!w) return lost;
  const auto& own = table_.of(self_);
  if (const auto it = own.find(key); it != own.end())
    for (const auto& e : it->second)
      if (e.process != w->process) lost.emplace_back(e.process, w->process);
  for (const auto& [loser, winner] : lost) remove_own(key, loser, out);
  return lost;
}

}  // namespace cluster::internal
