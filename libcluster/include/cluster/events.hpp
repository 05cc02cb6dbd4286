// Events a node reports about its peers: a node came up (authenticated link
// established) or went down (with the reason). Delivered to subscribers on the
// node's I/O thread, in order; a subscriber must not block.
#pragma once

#include <string>

#include "cluster/error.hpp"
#include "cluster/node_info.hpp"

namespace cluster {

struct node_event {
  enum class kind { up, down };
  kind what = kind::up;
  peer_node node;
  /// For `down`: `no_connection` (lost), `shutting_down` (it left),
  /// `rejected` (replaced by a restarted incarnation), `malformed` (bad bytes).
  error reason{errc::ok, ""};
};

}  // namespace cluster
