// Membership at scale, in simulation (the real engine on the seeded datagram
// network, simulated time): for N = 10, 100, 1,000 members at the lan preset,
//   - how long until a join is known to 99% of the members, and
//   - membership bytes each member sends per second in steady state.
// Prints `name value unit` lines per N (medians over the seeds), as the other
// benchmarks do; bench/run.sh adds them to its table.
//   bench_membership_sim [N ...] [--seconds S] [--seeds K]
// The steady-state window lasts at least two full-state exchange periods.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cluster/testing/swim_cluster.hpp"

using namespace std::chrono_literals;
using cluster::member_state;
using cluster::testing::swim_cluster;

namespace {

struct figures {
  double join_ms = 0;
  double bytes_per_node_s = 0;
  double datagrams_per_node_s = 0;
};

figures measure(int n, std::uint64_t seed, int min_seconds) {
  // At least two full-state exchange periods, which stretch with N.
  const auto period = cluster::membership_config::lan().sync_interval * std::max(1, n / 32);
  const int steady_seconds =
      std::max(min_seconds, static_cast<int>(2 * std::chrono::duration_cast<std::chrono::seconds>(period).count()));
  swim_cluster c(seed);
  for (int i = 0; i < n; ++i) c.start(i);
  c.introduce_all();
  c.run_for(5s);  // let the introduction settle

  figures f;
  const auto bytes0 = c.net().bytes_sent();
  const auto sent0 = c.net().sent();
  c.run_for(std::chrono::seconds(steady_seconds));
  f.bytes_per_node_s = static_cast<double>(c.net().bytes_sent() - bytes0) / n / steady_seconds;
  f.datagrams_per_node_s = static_cast<double>(c.net().sent() - sent0) / n / steady_seconds;

  const auto t0 = c.clock().now();
  c.start(n, {0});
  const auto name = swim_cluster::name_of(n);
  const int needed = (99 * n + 99) / 100;
  c.run_until(
      [&] {
        int knows = 0;
        for (auto& [i, node] : c.nodes()) knows += i != n && node->view(name) == member_state::alive ? 1 : 0;
        return knows >= needed;
      },
      30s, 1ms);
  f.join_ms = std::chrono::duration<double, std::milli>(c.clock().now() - t0).count();
  return f;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  int seconds = 30, seeds = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc)
      seconds = std::atoi(argv[++i]);
    else if (a == "--seeds" && i + 1 < argc)
      seeds = std::atoi(argv[++i]);
    else
      sizes.push_back(std::atoi(a.c_str()));
  }
  if (sizes.empty()) sizes = {10, 100, 1000};
  for (const int n : sizes) {
    std::vector<double> join, bytes, datagrams;
    for (int s = 1; s <= seeds; ++s) {
      const auto f = measure(n, static_cast<std::uint64_t>(s), seconds);
      join.push_back(f.join_ms);
      bytes.push_back(f.bytes_per_node_s);
      datagrams.push_back(f.datagrams_per_node_s);
    }
    std::printf("membership_join_ms_N%d %.1f ms\n", n, median(join));
    std::printf("membership_Bps_N%d %.1f B/s\n", n, median(bytes));
    std::printf("membership_datagrams_N%d %.1f dgram/s\n", n, median(datagrams));
    std::fflush(stdout);
  }
  return 0;
}
