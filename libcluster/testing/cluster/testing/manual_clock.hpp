// A clock that moves only when told to: simulation tests advance it and never
// sleep. Single-threaded, like the engines it drives.
#pragma once

#include "cluster/clock.hpp"

namespace cluster::testing {

class manual_clock final : public cluster::clock {
 public:
  time_point now() const override { return now_; }
  void advance(duration d) { now_ += d; }
  /// Moves to `t` if it is later; time never runs backwards.
  void advance_to(time_point t) {
    if (t > now_) now_ = t;
  }

 private:
  time_point now_{std::chrono::hours(1)};  // arbitrary, non-zero epoch
};

}  // namespace cluster::testing
