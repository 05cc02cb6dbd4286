// Time as an interface, so protocol engines can run under a manual clock in
// simulation. Engines never read the system clock themselves: they ask a
// `clock` and report their next deadline to whoever drives them.
// Implementations must be safe to call from the thread that owns the engine.
#pragma once

#include <chrono>

namespace cluster {

using time_point = std::chrono::steady_clock::time_point;
using duration = std::chrono::steady_clock::duration;
using std::chrono::milliseconds;

class clock {
 public:
  virtual ~clock() = default;
  virtual time_point now() const = 0;
};

/// The production clock: `std::chrono::steady_clock`.
class steady_clock final : public clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace cluster
