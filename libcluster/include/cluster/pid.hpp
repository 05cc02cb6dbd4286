// Process identifiers and references: location-transparent value types.
//
// A `pid` is {node, creation, id}. `node` is the owning node's `name@host`
// (a `node_atom`: interned, so copying a PID never allocates);
// `creation` is the incarnation of that node (fresh at every start), so a PID
// of a previous incarnation is recognisably stale; `id` is unique within the
// incarnation. A `ref` is a unique token (for monitors and call replies) with
// the same shape. Both print as `<node.creation.id>` and `#ref<node.creation.id>`
// and parse back from those forms. Plain value types; thread-compatible.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "cluster/error.hpp"
#include "cluster/node_atom.hpp"

namespace cluster {

struct pid {
  node_atom node;              ///< `name@host` of the owning node
  std::uint32_t creation = 0;  ///< the owning node's incarnation
  std::uint64_t id = 0;        ///< unique within that incarnation

  friend auto operator<=>(const pid&, const pid&) = default;
  friend bool operator==(const pid&, const pid&) = default;
};

struct ref {
  node_atom node;
  std::uint32_t creation = 0;
  std::uint64_t id = 0;

  friend auto operator<=>(const ref&, const ref&) = default;
  friend bool operator==(const ref&, const ref&) = default;
};

/// `<n1@10.0.0.5.3735928559.42>`
std::string to_string(const pid& p);
/// `#ref<n1@10.0.0.5.3735928559.42>`
std::string to_string(const ref& r);
/// Parses the text form of a PID; `errc::bad_argument` otherwise.
result<pid> parse_pid(std::string_view text);
/// Parses the text form of a reference; `errc::bad_argument` otherwise.
result<ref> parse_ref(std::string_view text);

}  // namespace cluster

template <>
struct std::hash<cluster::pid> {
  std::size_t operator()(const cluster::pid& p) const noexcept {
    std::size_t h = p.node.hash();
    h ^= std::hash<std::uint64_t>{}((std::uint64_t{p.creation} << 32) ^ p.id) + 0x9e3779b97f4a7c15ULL + (h << 6) +
         (h >> 2);
    return h;
  }
};
