#include "services/authority_table.hpp"

#include <algorithm>
#include <set>

namespace cluster::internal {

void authority_table::replace(const std::string& node, entries all) {
  std::erase_if(all, [](const auto& kv) { return kv.second.empty(); });
  if (all.empty())
    by_node_.erase(node);
  else
    by_node_[node] = std::move(all);
}

bool authority_table::add(const std::string& node, const std::string& key, entry e) {
  auto& list = by_node_[node][key];
  if (std::find_if(list.begin(), list.end(), [&e](const entry& x) { return x.process == e.process; }) != list.end())
    return false;
  list.push_back(std::move(e));
  return true;
}

bool authority_table::remove(const std::string& node, const std::string& key, const pid& p) {
  const auto n = by_node_.find(node);
  if (n == by_node_.end()) return false;
  const auto k = n->second.find(key);
  if (k == n->second.end()) return false;
  const auto removed = std::erase_if(k->second, [&p](const entry& x) { return x.process == p; });
  if (k->second.empty()) n->second.erase(k);
  if (n->second.empty()) by_node_.erase(n);
  return removed > 0;
}

void authority_table::drop(const std::string& node) { by_node_.erase(node); }

std::vector<authority_table::entry> authority_table::find(const std::string& key) const {
  std::vector<entry> out;
  for (const auto& [node, all] : by_node_)
    if (const auto k = all.find(key); k != all.end()) out.insert(out.end(), k->second.begin(), k->second.end());
  return out;
}

const authority_table::entries& authority_table::of(const std::string& node) const {
  static const entries none;
  const auto n = by_node_.find(node);
  return n == by_node_.end() ? none : n->second;
}

std::vector<std::string> authority_table::keys() const {
  std::set<std::string> all;
  for (const auto& [node, keyed] : by_node_)
    for (const auto& [key, list] : keyed) all.insert(key);
  return {all.begin(), all.end()};
}

std::optional<authority_table::entry> authority_table::winner(const std::string& key) const {
  std::optional<entry> best;
  for (const auto& e : find(key))
    if (!best || std::tie(e.stamp, e.process) < std::tie(best->stamp, best->process)) best = e;
  return best;
}

}  // namespace cluster::internal
