// Entries replicated from their authorities: each node owns the entries of
// its own processes and tells the others (a full copy when they meet, then
// each change); every node keeps what each node told it. Process groups take
// the union of a key's entries (its members); global names pick one winning
// claim per key, by a rule every node computes alike from the same entries.
// Pure: no threads, no clock, no I/O; the caller guards it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/pid.hpp"

namespace cluster::internal {

class authority_table {
 public:
  struct entry {
    pid process;
    std::uint64_t stamp = 0;  ///< a global name's claim time (ms since the epoch); 0 for groups
    friend bool operator==(const entry&, const entry&) = default;
  };
  using entries = std::map<std::string, std::vector<entry>>;  ///< by key

  /// A full copy from `node`: replaces what it said before.
  void replace(const std::string& node, entries all);
  /// False if `node` had that entry already.
  bool add(const std::string& node, const std::string& key, entry e);
  /// False if `node` had no such entry.
  bool remove(const std::string& node, const std::string& key, const pid& p);
  /// Everything `node` said (it is down).
  void drop(const std::string& node);

  /// Every node's entries for `key`.
  std::vector<entry> find(const std::string& key) const;
  /// `node`'s entries (empty if none).
  const entries& of(const std::string& node) const;
  /// Keys with at least one entry.
  std::vector<std::string> keys() const;
  /// A hash of all of `node`'s entries, the same on every node that holds the
  /// same entries (in any order): kept up to date as entries come and go.
  std::uint64_t digest(const std::string& node) const;
  /// The hash of one entry (FNV-1a); a node's digest XORs its entries'.
  static std::uint64_t hash(const std::string& key, const entry& e);

  /// The winning claim for `key`: the earliest stamp, then the smallest pid
  /// (node name, creation, id), so that nodes holding the same claims agree.
  std::optional<entry> winner(const std::string& key) const;

 private:
  std::map<std::string, entries> by_node_;
  std::map<std::string, std::uint64_t> digests_;  // by node
};

}  // namespace cluster::internal
