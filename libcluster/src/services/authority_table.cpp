#include "services/authority_table.hpp"

#include <algorithm>
#include <set>
#include <string_view>

namespace cluster::internal {

std::uint64_t authority_table::hash(const std::string& key, const entry& e) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view text) {
    for (const unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // a separator: "ab","c" is not "a","bc"
  };
  mix(key);
  mix(e.process.node.str());
  mix(std::to_string(e.process.creation) + "." + std::to_string(e.process.id) + "." + std::to_string(e.stamp));
  return h;
}

std::uint64_t authority_table::digest(const std::string& node) const {
  const auto it = digests_.find(node);
  return it == digests_.end() ? 0 : it->second;
}

void authority_table::replace(const std::string& node, entries all) {
  std::erase_if(all, [](const auto& kv) { return kv.second.empty(); });
  std::uint64_t d = 0;
  for (const auto& [key, list] : all)
    for (const auto& e : list) d ^= hash(key, e);
  if (all.empty()) {
    by_node_.erase(node);
    digests_.erase(node);
  } else {
    by_node_[node] = std::move(all);
    digests_[node] = d;
  }
}

bool authority_table::add(const std::string& node, const std::string& key, entry e) {
  auto& list = by_node_[node][key];
  if (std::find_if(list.begin(), list.end(), [&e](const entry& x) { return x.process == e.process; }) != list.end())
    return false;
  digests_[node] ^= hash(key, e);
  list.push_back(std::move(e));
  return true;
}

bool authority_table::remove(const std::string& node, const std::string& key, const pid& p) {
  const auto n = by_node_.find(node);
  if (n == by_node_.end()) return false;
  const auto k = n->second.find(key);
  if (k == n->second.end()) return false;
  const auto removed = std::erase_if(k->second, [&](const entry& x) {
    if (x.process != p) return false;
    digests_[node] ^= hash(key, x);
    return true;
  });
  if (k->second.empty()) n->second.erase(k);
  if (n->second.empty()) {
    by_node_.erase(n);
    digests_.erase(node);
  }
  return removed > 0;
}

void authority_table::drop(const std::string& node) {
  by_node_.erase(node);
  digests_.erase(node);
}

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
