// A member of the cluster as the membership layer (SWIM + Lifeguard) sees it.
// Plain value types; `node::members()` and `clusterctl members` show them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace cluster {

/// `alive` answers probes; `suspect` missed them and has a while to refute;
/// `dead` was declared failed; `left` said goodbye on purpose.
enum class member_state : std::uint8_t { alive = 0, suspect = 1, dead = 2, left = 3 };

constexpr std::string_view to_string(member_state s) {
  switch (s) {
    case member_state::alive:
      return "alive";
    case member_state::suspect:
      return "suspect";
    case member_state::dead:
      return "dead";
    case member_state::left:
      return "left";
  }
  return "unknown";
}

struct member {
  std::string name;  ///< `name@host`
  std::string host;  ///< the address it listens on (UDP membership and data)
  std::uint16_t port = 0;
  std::uint32_t creation = 0;
  /// Raised by the member itself to refute a suspicion; starts at its start
  /// time in milliseconds, so a restarted node outranks its old self.
  std::uint64_t incarnation = 0;
  member_state state = member_state::alive;
  std::map<std::string, std::string> tags;    ///< `noded --tag key=value`
  std::chrono::milliseconds since_change{0};  ///< age of the current state
  std::string reason;                         ///< why the state last changed
  std::string reporter;                       ///< the member whose report changed it
};

/// One past state of a member in a node's view (`clusterctl why`): when,
/// which state at which incarnation, why, and who said so.
struct member_history_entry {
  std::chrono::milliseconds ago{0};
  member_state state = member_state::alive;
  std::uint64_t incarnation = 0;
  std::string reason;
  std::string reporter;
};

/// One change in a node's view of the membership, as `clusterctl watch`
/// streams them: the member as it now is, and who reported the change.
struct member_change {
  enum class kind : std::uint8_t { up, down, left, updated, suspect, refuted };
  kind what = kind::up;
  cluster::member member;
  std::string reporter;
};

constexpr std::string_view to_string(member_change::kind k) {
  switch (k) {
    case member_change::kind::up:
      return "up";
    case member_change::kind::down:
      return "down";
    case member_change::kind::left:
      return "left";
    case member_change::kind::updated:
      return "updated";
    case member_change::kind::suspect:
      return "suspect";
    case member_change::kind::refuted:
      return "refuted";
  }
  return "unknown";
}

}  // namespace cluster
