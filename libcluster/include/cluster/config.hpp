// Configuration of an embedded node. Durations are std::chrono types; sizes
// are in bytes or counts as named. The defaults suit a LAN.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cluster/node_name.hpp"

namespace cluster {

struct node_config {
  node_name name;               ///< who we are; the port is where we listen
  std::string cookie;           ///< the shared secret (see cookie.hpp to find it)
  std::vector<node_name> join;  ///< seeds: retried until linked, and after a loss
  /// The address to listen on; empty means the address `name.host` resolves to.
  /// `0.0.0.0` listens everywhere (containers that know their name only by DNS).
  std::string listen_address;

  std::chrono::milliseconds handshake_timeout{5000};  ///< per handshake step
  std::size_t max_pending_handshakes = 64;            ///< unauthenticated connections at once
  std::chrono::milliseconds retry_interval{1000};     ///< between attempts to reach a peer
  std::chrono::milliseconds forget_after{30000};      ///< stop retrying a lost non-seed peer
  std::chrono::milliseconds heartbeat_timeout{5000};  ///< a silent connection is dropped after this
  std::size_t max_frame_bytes = 64u << 20;            ///< largest frame accepted after authentication
  std::size_t workers = 0;                            ///< process scheduler threads; 0 = one per core
};

}  // namespace cluster
