// Events a node reports about the cluster's members, as its membership layer
// (SWIM + Lifeguard) decides them: a node joined (or rejoined), failed, left
// on purpose, or changed its tags. Delivered to subscribers on the node's I/O
// thread, in order; a subscriber must not block.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "cluster/error.hpp"
#include "cluster/node_info.hpp"

namespace cluster {

struct node_event {
  enum class kind { up, down, left, updated };
  kind what = kind::up;
  peer_node node;
  /// For `down`: `no_connection` with the membership layer's sentence (for
  /// example "suspected by n2@h, not refuted in 640 ms (3 confirmations)");
  /// for `left`: `shutting_down`.
  error reason{errc::ok, ""};
  std::string reporter;  ///< the member whose report decided it
  std::map<std::string, std::string> tags;
};

constexpr std::string_view to_string(node_event::kind k) {
  switch (k) {
    case node_event::kind::up:
      return "up";
    case node_event::kind::down:
      return "down";
    case node_event::kind::left:
      return "left";
    case node_event::kind::updated:
      return "updated";
  }
  return "unknown";
}

}  // namespace cluster
