// What the machine takes from a thread that never stops running: one
// thread reads the clock in a loop for a second; every gap between two
// reads over 3 us was time the CPU spent elsewhere (an interrupt, the
// hypervisor, another thread). Prints how many gaps, how long, and how
// strongly they keep a period of 1 ms (a timer tick at 1,000 Hz): 0 is no
// rhythm, 1 every gap at the same phase. A latency's tail cannot be shorter
// than what this shows on the CPUs its threads run on.
//
//   bench_cpu_gaps [SECONDS]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numbers>
#include <vector>

namespace {

using gap_clock = std::chrono::steady_clock;

struct gap {
  double at_us;  // when it started, since the clock's epoch (for the phase)
  double length_us;
};

// 1 when every gap starts at the same phase of `period_us`, 0 when spread.
double rhythm(const std::vector<gap>& gaps, double period_us) {
  double c = 0, s = 0;
  for (const auto& g : gaps) {
    const double angle = 2 * std::numbers::pi * std::fmod(g.at_us, period_us) / period_us;
    c += std::cos(angle);
    s += std::sin(angle);
  }
  return gaps.empty() ? 0 : std::hypot(c, s) / static_cast<double>(gaps.size());
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc >= 2 ? std::atof(argv[1]) : 1.0;
  if (!(seconds > 0 && seconds <= 600)) {
    std::fprintf(stderr, "usage: bench_cpu_gaps [SECONDS], 0 < SECONDS <= 600\n");
    return 2;
  }
  // Room for 20,000 gaps a second, written once before the clock starts: a
  // vector that grows, or a page touched for the first time, would make
  // gaps of its own.
  std::vector<gap> gaps(static_cast<std::size_t>(seconds * 20000) + 1);
  std::size_t count = 0;
  const auto start = gap_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  for (auto last = start; last < end && count < gaps.size();) {
    const auto now = gap_clock::now();
    const double length = std::chrono::duration<double, std::micro>(now - last).count();
    if (length > 3)
      gaps[count++] = {std::chrono::duration<double, std::micro>(last.time_since_epoch()).count(), length};
    last = now;
  }
  gaps.resize(count);
  std::vector<double> lengths;
  double lost = 0;
  for (const auto& g : gaps) {
    lengths.push_back(g.length_us);
    lost += g.length_us;
  }
  std::sort(lengths.begin(), lengths.end());
  const auto at = [&](double q) {
    return lengths.empty() ? 0.0 : lengths[static_cast<std::size_t>(q * static_cast<double>(lengths.size() - 1))];
  };
  std::printf("cpu_gaps_per_s %.1f gaps\n", static_cast<double>(gaps.size()) / seconds);
  std::printf("cpu_gap_p50 %.1f us\n", at(0.5));
  std::printf("cpu_gap_p99 %.1f us\n", at(0.99));
  std::printf("cpu_lost %.2f percent\n", lost / (seconds * 1e4));
  std::printf("cpu_gap_rhythm_1ms %.2f ratio\n", rhythm(gaps, 1000.0));
  return 0;
}
