// Local process-runtime benchmarks, the same workloads as bench/erlang/
// bench_local.erl, printed one result per line: `name value unit`.
//
//   bench_runtime spawn_event [N]      spawn N idle event-driven processes
//   bench_runtime spawn_coroutine [N]  spawn N coroutine processes idle in receive
//   bench_runtime send [N]           one process sends N 64-byte messages to another
//   bench_runtime ring [N] [M]       a token passes M times round a ring of N processes
//   bench_runtime pingpong [N]       N local round trips, latency percentiles
//   bench_runtime core_to_core [N]   N round trips of one cache line between two CPUs
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <cluster/inbox.hpp>
#include <cluster/runtime.hpp>

using namespace cluster;
using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

namespace {

// Between two looks at the shared line (the library's cpu_relax is internal).
inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
  asm volatile("yield" ::: "memory");
#endif
}

struct payload64 {
  std::array<std::uint8_t, 64> bytes{};
};

double seconds_since(bench_clock::time_point t0) {
  return std::chrono::duration<double>(bench_clock::now() - t0).count();
}

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * 4096;
}

void report(const char* name, double value, const char* unit) { std::printf("%s %.1f %s\n", name, value, unit); }

// Each kind in its own process invocation: a second runtime in the same
// process would reuse the first one's freed memory and hide its own.
void bench_spawn_event(long n) {
  {
    runtime rt;
    inbox done(rt);
    const long rss0 = rss_bytes();
    const auto t0 = bench_clock::now();
    // Spawned from a process, as Erlang's loop runs in one.
    rt.spawn([n, to = done.self()](context& ctx) -> task {
      for (long i = 0; i < n; ++i) ctx.spawn([](context&, message&) {});
      ctx.send(to, 1);
      co_return;
    });
    (void)done.receive(600s);
    const double secs = seconds_since(t0);
    report("spawn_event_rate", n / secs, "spawn/s");
    report("spawn_event_memory", static_cast<double>(rss_bytes() - rss0) / n, "B/proc");
  }
}

void bench_spawn_coroutine(long n) {
  {
    runtime rt;
    inbox done(rt);
    static std::atomic<long> waiting{0};
    waiting = 0;
    const long rss0 = rss_bytes();
    const auto t0 = bench_clock::now();
    rt.spawn([n](context& ctx) -> task {
      for (long i = 0; i < n; ++i)
        ctx.spawn([](context& c) -> task {
          waiting.fetch_add(1, std::memory_order_relaxed);
          co_await c.receive();  // idle in receive, as Erlang's processes are
        });
      co_return;
    });
    while (waiting.load() < n) (void)done.receive(1ms);
    const double secs = seconds_since(t0);
    report("spawn_coroutine_rate", n / secs, "spawn/s");
    report("spawn_coroutine_memory", static_cast<double>(rss_bytes() - rss0) / n, "B/proc");
  }
}

void bench_send(long n) {
  runtime rt;
  inbox done(rt);
  const pid receiver = rt.spawn([n, to = done.self(), count = 0L](context& ctx, message& m) mutable {
    if (m.is<payload64>() && ++count == n) ctx.send(to, count);
  });
  inbox go(rt);
  const auto t0 = bench_clock::now();
  rt.spawn([n, receiver](context& ctx) -> task {
    const payload64 p;
    for (long i = 0; i < n; ++i) ctx.send(receiver, p);
    co_return;
  });
  (void)done.receive(600s);
  report("local_send_rate", n / seconds_since(t0), "msg/s");
}

struct token {
  long left = 0;
};

void bench_ring(long n, long m) {
  runtime rt;
  inbox done(rt);
  // Build the ring back to front: each process forwards to the next.
  std::vector<pid> ring(static_cast<std::size_t>(n));
  const pid to = done.self();
  pid next{};
  for (long i = n - 1; i >= 0; --i) {
    const bool last = i == n - 1;
    next = rt.spawn([next, last, to, first = pid{}](context& ctx, message& msg) mutable {
      if (auto* first_pid = msg.get_if<pid>()) {  // the last process learns where the ring closes
        first = *first_pid;
        return;
      }
      auto t = msg.get<token>();
      if (t.left == 0) {
        ctx.send(to, 1);
        return;
      }
      --t.left;
      ctx.send(last ? first : next, t);
    });
    ring[static_cast<std::size_t>(i)] = next;
  }
  rt.send(ring.back(), ring.front());
  const auto t0 = bench_clock::now();
  rt.send(ring.front(), token{n * m});
  (void)done.receive(600s);
  const double secs = seconds_since(t0);
  report("ring_hops", static_cast<double>(n * m) / secs, "hops/s");
  report("ring_ms", secs * 1000, "ms");
}

void bench_pingpong(long n) {
  runtime rt;
  inbox done(rt);
  const pid ponger = rt.spawn([](context& ctx, message& m) { ctx.send(m.get<pid>(), 1); });
  static std::vector<double> samples;
  samples.assign(static_cast<std::size_t>(n), 0);
  rt.spawn([n, ponger, to = done.self()](context& ctx) -> task {
    for (long i = 0; i < n; ++i) {
      const auto t = bench_clock::now();
      ctx.send(ponger, ctx.self());
      co_await ctx.receive();
      samples[static_cast<std::size_t>(i)] = std::chrono::duration<double, std::micro>(bench_clock::now() - t).count();
    }
    ctx.send(to, 1);
  });
  (void)done.receive(600s);
  std::sort(samples.begin(), samples.end());
  report("local_pingpong_p50", samples[samples.size() / 2], "us");
  report("local_pingpong_p99", samples[samples.size() * 99 / 100], "us");
}

// Not a workload of ours: what moving a cache line between two CPUs costs
// at the moment. A VM's vCPUs land on host cores that are near (a shared
// cache) or far apart, and may move between runs; every figure where two
// threads talk (local sends above all) follows this one. Prints nothing
// without two CPUs to pin to.
void bench_core_to_core(long n) {
  cpu_set_t allowed;
  if (n <= 0 || sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c)
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  if (cpus.size() < 2) return;
  const auto pin = [](int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
  };
  if (!pin(cpus[0])) return;
  alignas(64) std::atomic<long> line{0};
  std::atomic<bool> pinned{false}, failed{false};
  std::thread other([&] {
    if (!pin(cpus[1])) {
      failed = true;
      return;
    }
    pinned = true;
    for (long i = 0; i < n; ++i) {
      while (line.load(std::memory_order_acquire) != 2 * i + 1) relax();
      line.store(2 * i + 2, std::memory_order_release);
    }
  });
  while (!pinned && !failed) std::this_thread::yield();
  if (failed) {
    other.join();
    return;
  }
  const auto t0 = bench_clock::now();
  for (long i = 0; i < n; ++i) {
    line.store(2 * i + 1, std::memory_order_release);
    while (line.load(std::memory_order_acquire) != 2 * i + 2) relax();
  }
  const double ns = std::chrono::duration<double, std::nano>(bench_clock::now() - t0).count() / static_cast<double>(n);
  other.join();
  report("core_to_core_rtt_ns", ns, "ns");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "all";
  auto arg = [&](int i, long fallback) { return argc > i ? std::atol(argv[i]) : fallback; };
  if (what == "spawn_event" || what == "all") bench_spawn_event(arg(2, 1000000));
  if (what == "spawn_coroutine" || what == "all") bench_spawn_coroutine(arg(2, 1000000));
  if (what == "send" || what == "all") bench_send(arg(2, 5000000));
  if (what == "ring" || what == "all") bench_ring(arg(2, 10000), arg(3, 100));
  if (what == "pingpong" || what == "all") bench_pingpong(arg(2, 100000));
  if (what == "core_to_core" || what == "all") bench_core_to_core(arg(2, 200000));
  return 0;
}
