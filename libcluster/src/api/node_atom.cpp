#include "cluster/node_atom.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <ostream>
#include <unordered_map>

#include "cluster/log.hpp"

namespace cluster {
namespace detail {

struct node_atom_rep {
  node_atom_rep(std::string_view t, bool i) : text(t), hash(std::hash<std::string_view>{}(t)), interned(i) {}

  const std::string text;
  const std::size_t hash;
  const bool interned;                         // never freed; otherwise counted
  mutable std::atomic<std::uint32_t> refs{1};  // copies alive, if not interned
};

}  // namespace detail

namespace {

using rep = detail::node_atom_rep;

struct intern_table {
  std::mutex mutex;
  std::unordered_map<std::string_view, const rep*> names;  // keys view the reps' own text
  bool full_reported = false;
};

// Never destroyed: a PID in a static or thread-local object may outlive any
// destruction order.
intern_table& table() {
  static auto* t = new intern_table;
  return *t;
}

// The names this thread interned last. A thread meets few distinct names (its
// node's, its peers'), so most lookups end here without the table's lock.
struct recent_names {
  std::array<const rep*, 4> names{};
  std::size_t next = 0;
};
thread_local recent_names recent;

// Leaked for the same reason as the table.
const std::string& empty_name() {
  static const auto* empty = new std::string;
  return *empty;
}

}  // namespace

node_atom::node_atom(std::string_view text) {
  if (text.empty()) return;
  if (text.size() > intern_max_bytes) {
    rep_ = new rep(text, false);
    return;
  }
  for (const rep* r : recent.names)
    if (r && r->text == text) {
      rep_ = r;
      return;
    }
  intern_table& t = table();
  {
    std::lock_guard lock(t.mutex);
    if (const auto it = t.names.find(text); it != t.names.end()) {
      rep_ = it->second;
    } else if (t.names.size() < intern_limit) {
      const rep* r = new rep(text, true);
      t.names.emplace(r->text, r);
      rep_ = r;
    } else {
      rep_ = new rep(text, false);
      if (t.full_reported) return;
      t.full_reported = true;
    }
  }
  if (!rep_->interned) {
    log(log_level::warn, "more than " + std::to_string(intern_limit) +
                             " distinct node names seen: new ones are no longer interned (PIDs of their nodes "
                             "cost an allocation per copy)");
    return;
  }
  recent.names[recent.next] = rep_;
  recent.next = (recent.next + 1) % recent.names.size();
}

node_atom::node_atom(const node_atom& other) noexcept : rep_(other.rep_) {
  if (rep_ && !rep_->interned) rep_->refs.fetch_add(1, std::memory_order_relaxed);
}

node_atom& node_atom::operator=(const node_atom& other) noexcept {
  node_atom copy(other);
  std::swap(rep_, copy.rep_);
  return *this;
}

node_atom& node_atom::operator=(node_atom&& other) noexcept {
  node_atom taken(std::move(other));
  std::swap(rep_, taken.rep_);
  return *this;
}

node_atom::~node_atom() {
  if (rep_ && !rep_->interned && rep_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete rep_;
}

const std::string& node_atom::str() const noexcept { return rep_ ? rep_->text : empty_name(); }

std::size_t node_atom::hash() const noexcept { return rep_ ? rep_->hash : std::hash<std::string_view>{}({}); }

bool operator==(const node_atom& a, const node_atom& b) noexcept {
  if (a.rep_ == b.rep_) return true;
  // Two interned names differ, in one table; comparing the text too keeps
  // this right should a program hold two copies of the library.
  if (!a.rep_ || !b.rep_ || a.rep_->hash != b.rep_->hash) return false;
  return a.rep_->text == b.rep_->text;
}

std::ostream& operator<<(std::ostream& os, const node_atom& a) { return os << a.str(); }

}  // namespace cluster
