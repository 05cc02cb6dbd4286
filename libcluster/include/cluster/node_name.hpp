// A node is named `name@host`, optionally `name@host:port`. The `name@host`
// part is the node's identity (it appears in every PID); the port says where
// its listener is and defaults to `default_port`, so `name@host` suffices
// where each host runs one node. Plain value type; parsing does not resolve
// the host (see `node.hpp` for resolution at start).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/error.hpp"

namespace cluster {

/// The port a node listens on unless told otherwise.
inline constexpr std::uint16_t default_port = 4370;

struct node_name {
  std::string name;  ///< before the '@': letters, digits, '_', '-', '.'
  std::string host;  ///< an IP address or a resolvable host name
  std::uint16_t port = default_port;

  /// `name@host`: the identity, without the port (an IPv6 host in brackets).
  std::string id() const;
  /// `name@host:port`.
  std::string to_string() const;

  friend bool operator==(const node_name&, const node_name&) = default;
};

/// Parses `name@host` or `name@host:port` (an IPv6 host is written in brackets:
/// `n1@[::1]:4370`). Errors are `errc::bad_argument` with a message that names
/// the offending part.
result<node_name> parse_node_name(std::string_view text);

/// Whether `text` is a node's identity exactly as its PIDs carry it:
/// `name@host`, with no port (an IPv6 host in brackets).
bool is_node_id(std::string_view text);

}  // namespace cluster
