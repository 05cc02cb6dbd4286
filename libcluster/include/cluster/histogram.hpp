// A latency histogram with fixed buckets, as Prometheus exposes them: how
// many observations fell at or below each bound, their sum and count. Plain
// value type (a snapshot); the node keeps the live one.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace cluster {

struct histogram {
  /// Upper bounds of the buckets, in microseconds; a last bucket is +Inf.
  static constexpr std::array<std::uint64_t, 10> bounds_us{100,  250,   500,   1000,   2500,
                                                           5000, 10000, 50000, 250000, 1000000};
  std::array<std::uint64_t, bounds_us.size() + 1> counts{};  ///< per bucket, not cumulative
  std::uint64_t sum_us = 0;
  std::uint64_t count = 0;

  void observe(std::chrono::microseconds d) {
    const auto us = static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
    std::size_t i = 0;
    while (i < bounds_us.size() && us > bounds_us[i]) ++i;
    ++counts[i];
    sum_us += us;
    ++count;
  }
};

}  // namespace cluster
