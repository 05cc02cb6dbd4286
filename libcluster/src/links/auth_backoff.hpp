// Back-off for sources that keep failing to authenticate.
//
// A source (an IP address) may fail the cookie handshake a few times for free
// (a typo, a node mid-rotation); past `free_failures`, each further failure
// refuses its new connections for `first`, then twice as long, up to `max`.
// This bounds what guessing or a misconfigured client costs the node, in CPU
// and in log lines. A success from the source clears its record, and a source
// that stops failing is forgotten after `forget_after`. At most
// `max_sources` records are kept, so spoofed sources cannot grow memory.
//
// Pure: time comes from the caller. Not thread-safe (the link manager's thread).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

#include "cluster/clock.hpp"

namespace cluster::internal {

struct auth_backoff_config {
  std::size_t free_failures = 10;  ///< 0 turns the back-off off
  duration first = milliseconds(1000);
  duration max = milliseconds(60000);
  duration forget_after = milliseconds(600000);
  std::size_t max_sources = 4096;
};

class auth_backoff {
 public:
  explicit auth_backoff(auth_backoff_config cfg = {}) : cfg_(cfg) {}

  /// Records a failed authentication; returns how long `source` is now
  /// refused (nothing while it still has free failures).
  std::optional<duration> on_failure(const std::string& source, time_point now);
  /// A success: the source starts afresh.
  void on_success(const std::string& source) { sources_.erase(source); }
  /// Until when new connections from `source` are refused, if they are now.
  std::optional<time_point> refused_until(const std::string& source, time_point now) const;

 private:
  struct record {
    std::size_t failures = 0;
    time_point last_failure{};
    time_point until{};
  };
  void make_room(time_point now);

  auth_backoff_config cfg_;
  std::unordered_map<std::string, record> sources_;
};

}  // namespace cluster::internal
