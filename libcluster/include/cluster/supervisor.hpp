// Supervisors, as in Erlang/OTP: a process that starts children, watches
// them through links, and restarts them by a strategy, within a restart
// intensity. A supervisor is a `behavior`, so it can be spawned on its own or
// be a child of another supervisor (a supervision tree).
//
// - one_for_one: only the child that ended is restarted;
// - one_for_all: all children are stopped (in reverse start order) and all
//   restarted (in start order);
// - rest_for_one: the ended child and those started after it are stopped and
//   restarted.
// A permanent child is always restarted, a transient one only after an
// abnormal exit (not `normal` or `shutdown`), a temporary one never. More than
// `intensity` restarts within `period` make the supervisor stop all children
// and exit with reason `shutdown` (its own supervisor decides what next).
// An exit signal from any other process (its parent, `runtime::exit`) stops
// the children in reverse start order, each given `shutdown` time to end
// before it is killed, and then the supervisor exits with that reason.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "cluster/process.hpp"

namespace cluster {

enum class restart_strategy { one_for_one, one_for_all, rest_for_one };
enum class restart_type { permanent, transient, temporary };

struct child_spec {
  std::string id;
  behavior start;
  restart_type restart = restart_type::permanent;
  std::chrono::milliseconds shutdown{5000};  ///< after exit(shutdown), then kill
};

struct supervisor_flags {
  restart_strategy strategy = restart_strategy::one_for_one;
  int intensity = 3;                       ///< at most this many restarts...
  std::chrono::milliseconds period{5000};  ///< ...within this period
};

/// Send to a supervisor to learn its children: it replies to `reply_to` with
/// a `supervisor_children`.
struct which_children {
  pid reply_to;
};
struct supervisor_children {
  std::vector<std::pair<std::string, pid>> running;  ///< in start order
};

/// The behavior of a supervisor with these children.
behavior supervisor(supervisor_flags flags, std::vector<child_spec> children);

}  // namespace cluster
