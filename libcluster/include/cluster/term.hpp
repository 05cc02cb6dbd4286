// A term is a dynamically typed value, the unit of data that crosses the wire:
// nil, booleans, integers, floats, strings (UTF-8), binaries, atoms, PIDs,
// references, lists and maps. It maps one-to-one onto MessagePack (atoms, PIDs
// and references are extension types; see docs/PROTOCOL.md), so any language
// with a MessagePack library can produce and read it.
// Plain value type; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "cluster/pid.hpp"

namespace cluster {

/// An interned-name-like symbol such as `ok`, `error` or `normal`.
struct atom {
  std::string name;
  friend auto operator<=>(const atom&, const atom&) = default;
};

/// Raw bytes (MessagePack bin), distinct from a UTF-8 string.
struct binary {
  std::vector<std::uint8_t> bytes;
  friend auto operator<=>(const binary&, const binary&) = default;
};

struct nil {
  friend auto operator<=>(const nil&, const nil&) = default;
};

class term;
using term_list = std::vector<term>;
using term_map = std::vector<std::pair<term, term>>;  // ordered as on the wire

class term {
 public:
  using value_type = std::variant<nil, bool, std::int64_t, std::uint64_t, double, std::string, binary, atom, pid, ref,
                                  term_list, term_map>;

  term() = default;
  term(nil) {}                                     // NOLINT: implicit by design
  term(bool b) : value_(b) {}                      // NOLINT
  term(int i) : value_(std::int64_t{i}) {}         // NOLINT
  term(std::int64_t i) : value_(i) {}              // NOLINT
  term(std::uint64_t u) : value_(u) {}             // NOLINT
  term(double d) : value_(d) {}                    // NOLINT
  term(const char* s) : value_(std::string(s)) {}  // NOLINT
  term(std::string s) : value_(std::move(s)) {}    // NOLINT
  term(const node_atom& n) : value_(n.str()) {}    // NOLINT: a node's name, as a string
  term(binary b) : value_(std::move(b)) {}         // NOLINT
  term(atom a) : value_(std::move(a)) {}           // NOLINT
  term(pid p) : value_(std::move(p)) {}            // NOLINT
  term(ref r) : value_(std::move(r)) {}            // NOLINT
  term(term_list l) : value_(std::move(l)) {}      // NOLINT
  term(term_map m) : value_(std::move(m)) {}       // NOLINT

  const value_type& value() const { return value_; }
  value_type& value() { return value_; }

  template <class T>
  bool is() const {
    return std::holds_alternative<T>(value_);
  }
  template <class T>
  const T& as() const {
    return std::get<T>(value_);
  }
  template <class T>
  const T* get_if() const {
    return std::get_if<T>(&value_);
  }

  friend bool operator==(const term& a, const term& b) { return a.value_ == b.value_; }

 private:
  value_type value_;
};

/// A readable rendering for logs and tools, e.g. `[ok, 42, "text", <n1@h.7.1>]`.
std::string to_string(const term& t);

}  // namespace cluster
