// When the partition policy decides that this node is on the minority side.
//
// Membership can show a majority node a minority for a moment: when a
// partition heals, the other side's stale claims that our members died
// arrive before those members' refutations (a few milliseconds apart here).
// Releasing global names on such a view would lose them for good, so a loss
// of quorum counts only once it has lasted `settle` (as Akka's split-brain
// resolver waits for `stable-after`). Quorum regained counts at once: it
// only lifts restrictions. A loss that ends within `settle` is not reported.
//
// Pure: time comes from the caller. Not thread-safe (the node's I/O thread).
#pragma once

#include <optional>

#include "cluster/clock.hpp"

namespace cluster::internal {

class quorum_watch {
 public:
  enum class verdict { unchanged, lost, regained };

  explicit quorum_watch(duration settle) : settle_(settle) {}

  /// The view now has quorum or not (on every change, and at `deadline`).
  verdict update(bool quorum, time_point now);
  /// When a loss seen but not yet reported will have lasted `settle`.
  std::optional<time_point> deadline() const;
  /// As last reported: true until a loss has settled.
  bool has_quorum() const { return has_quorum_; }
  /// Forgets a loss not yet reported (the node left: its view is over).
  void cancel() { lost_since_.reset(); }

 private:
  duration settle_;
  bool has_quorum_ = true;
  std::optional<time_point> lost_since_;  ///< a loss not yet reported
};

}  // namespace cluster::internal
