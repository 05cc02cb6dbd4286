// Admission: who may speak to our ZeroMQ socket at all.
//
// ZeroMQ reads whole messages (any number of parts, each up to the socket's
// frame limit) before our own handshake sees a byte, so without admission a
// stranger can make a node hold as much memory as it cares to send. Admission
// runs inside ZeroMQ's handshake instead (ZMTP's PLAIN mechanism, answered by
// a ZAP handler): the dialer presents a token made with the cookie, and a
// connection without a valid one is closed before any message is read.
//
// A token is a user name `lc1.<issued at, ms since 1970, hex>.<nonce, hex>`
// and a password, the hex BLAKE2b, keyed with the cookie's admission key, of
// the user name and the name of the node it is for. It is fresh per
// connection and crosses the wire in clear, so the gate refuses a token for
// another node, one it has seen (replay), one issued before the gate started
// (a replay across a restart), and one issued more than `window` away from
// its own clock: the hosts' clocks must agree to within `window` (15 minutes
// by default). Our own cookie handshake still follows and proves both sides;
// admission only keeps strangers out of ZeroMQ.
//
// Pure: wall-clock time comes from the caller. Not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cluster/error.hpp"
#include "crypto/keys.hpp"
#include "transport/zmq_transport.hpp"

namespace cluster::internal {

using wall_time = std::chrono::system_clock::time_point;

struct admission_token {
  std::string username;  ///< at most 255 bytes, as ZMTP PLAIN requires
  std::string password;
};

/// A fresh token for one connection to the node named `target` (name@host),
/// made with `key` (the admission key of the cookie we dial with).
admission_token make_admission_token(const crypto::key& key, std::string_view target, wall_time now);

/// What a dialer with `cookie` presents: a fresh token per connection, for
/// the node it dials (zmq_transport_options::credentials).
std::function<dial_credentials(const std::string& peer)> admission_credentials(std::string_view cookie);

/// The error a dialer reports when `peer` refused it in ZeroMQ's handshake
/// (see transport_handler::on_refused).
error refusal_error(const std::string& peer, std::optional<admission_answer> answer);

/// The password for `username` and `target` (lower-case hex, 64 digits).
std::string admission_password(const crypto::key& key, std::string_view username, std::string_view target);

/// `stale`: issued at or before a time the gate no longer remembers tokens
/// from (its start, or the oldest it had to forget).
enum class admission_verdict { admitted, malformed, wrong_cookie, clock_skew, replayed, stale };

/// Why a token was refused, for logs; empty for `admitted`.
std::string_view describe(admission_verdict v);

struct admission_config {
  std::string self;               ///< our node name: tokens must be made for it
  std::vector<crypto::key> keys;  ///< admission keys of every cookie accepted
  wall_time started{};            ///< tokens issued before this are stale
  std::chrono::milliseconds window{std::chrono::minutes(15)};
  std::size_t max_remembered = 65536;  ///< tokens kept for replay checks
};

class admission_gate {
 public:
  explicit admission_gate(admission_config cfg);

  /// Checks a token presented at `now`; an admitted token is remembered so
  /// that it is refused the next time.
  admission_verdict check(std::string_view username, std::string_view password, wall_time now);

  /// How far the clock of the last `clock_skew` token was from ours.
  std::chrono::milliseconds last_skew() const { return last_skew_; }

 private:
  void forget_before(std::int64_t issued_ms);

  admission_config cfg_;
  std::multimap<std::int64_t, std::string> remembered_;  ///< issued at -> user name
  std::unordered_set<std::string> seen_;
  std::int64_t floor_ms_;  ///< tokens issued at or before this are stale
  std::chrono::milliseconds last_skew_{0};
};

}  // namespace cluster::internal
