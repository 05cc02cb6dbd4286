// The `name@host` that every PID and reference carries, interned.
//
// A PID is copied many times on its way (into a request, its reply, a
// monitor, a mailbox) and compared with the local node's name at every send.
// As a `std::string`, a name past the 15 characters a string keeps inline
// cost a malloc and a free per copy and a memcmp per comparison. Interned,
// a copy is a pointer and two interned names are equal exactly when their
// pointers are.
//
// Like Erlang's atoms, interned names are never freed. Unlike them, the
// table is bounded: past `intern_limit` distinct names, or for a name longer
// than `intern_max_bytes` (a node name is `name@host`, a host at most 253
// bytes), a name is a reference-counted copy of its own: correct, only
// slower. So a peer that invents names cannot grow the table past about
// 20 MiB. Value type, immutable; copies may be used from any thread. A
// moved-from atom is empty.
#pragma once

#include <compare>
#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

namespace cluster {

namespace detail {
struct node_atom_rep;
}

class node_atom {
 public:
  /// Distinct names kept for the life of the process (about 100 bytes each).
  static constexpr std::size_t intern_limit = 65536;
  /// Longer names are never interned.
  static constexpr std::size_t intern_max_bytes = 255;

  node_atom() = default;
  node_atom(std::string_view text);  // NOLINT(google-explicit-constructor): a name, as a string is
  node_atom(const std::string& text) : node_atom(std::string_view(text)) {}  // NOLINT(google-explicit-constructor)
  node_atom(const char* text) : node_atom(std::string_view(text)) {}         // NOLINT(google-explicit-constructor)
  node_atom(const node_atom& other) noexcept;
  node_atom(node_atom&& other) noexcept : rep_(other.rep_) { other.rep_ = nullptr; }
  node_atom& operator=(const node_atom& other) noexcept;
  node_atom& operator=(node_atom&& other) noexcept;
  ~node_atom();

  const std::string& str() const noexcept;
  std::string_view view() const noexcept { return str(); }
  operator const std::string&() const noexcept { return str(); }  // NOLINT(google-explicit-constructor)
  const char* c_str() const noexcept { return str().c_str(); }
  const char* data() const noexcept { return str().data(); }
  bool empty() const noexcept { return rep_ == nullptr; }
  std::size_t size() const noexcept { return str().size(); }
  std::size_t hash() const noexcept;

  friend bool operator==(const node_atom& a, const node_atom& b) noexcept;
  friend bool operator==(const node_atom& a, std::string_view b) noexcept { return a.view() == b; }
  friend bool operator==(const node_atom& a, const std::string& b) noexcept { return a.str() == b; }
  friend bool operator==(const node_atom& a, const char* b) noexcept { return a.view() == b; }
  friend std::strong_ordering operator<=>(const node_atom& a, const node_atom& b) noexcept {
    if (a.rep_ == b.rep_) return std::strong_ordering::equal;
    return a.view().compare(b.view()) <=> 0;
  }
  friend std::strong_ordering operator<=>(const node_atom& a, std::string_view b) noexcept {
    return a.view().compare(b) <=> 0;
  }
  friend std::strong_ordering operator<=>(const node_atom& a, const std::string& b) noexcept {
    return a.view().compare(b) <=> 0;
  }
  friend std::strong_ordering operator<=>(const node_atom& a, const char* b) noexcept {
    return a.view().compare(b) <=> 0;
  }
  friend std::string operator+(std::string a, const node_atom& b) { return std::move(a) += b.str(); }
  friend std::string operator+(const node_atom& a, std::string_view b) { return std::string(a.str()).append(b); }
  friend std::ostream& operator<<(std::ostream& os, const node_atom& a);

 private:
  const detail::node_atom_rep* rep_ = nullptr;  // null: the empty name
};

}  // namespace cluster

template <>
struct std::hash<cluster::node_atom> {
  std::size_t operator()(const cluster::node_atom& a) const noexcept { return a.hash(); }
};
