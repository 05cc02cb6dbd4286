// Distribution benchmarks: two nodes in two OS processes on loopback (this
// program starts the second one itself), the workloads of Erlang's
// distribution figures. Prints `name value unit` per line.
//
//   bench_dist [all|WORKLOAD[,WORKLOAD...]] [N]
//     WORKLOAD: one_way, one_way_1k, one_way_16, pingpong, call, call_16,
//     spawn, spawn_pipelined, in this order whatever the order given (`all`:
//     every one but call_16: the 16 callers of `call` alone, to profile them)
//     N one-way messages (default 2,000,000); the other workloads scale with it
//     BENCH_PINGPONG_SAMPLES=FILE: pingpong writes every round trip there
//     (start in us, length in us), for bench/tick_phase.py
//     BENCH_BUSY_WAIT_US=N, BENCH_WORKERS=N: both nodes' busy-wait and
//     scheduler threads (node_config), for A/B runs
//   bench_dist one_way_plaintext [N]
//     one_way with both nodes on --insecure-plaintext: the cost of encryption
//   bench_dist serve NAME    (internal) the remote node
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <cluster/functions.hpp>
#include <cluster/inbox.hpp>
#include <cluster/node.hpp>

using namespace cluster;
using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

extern char** environ;

namespace {

const char* cookie = "bench-cookie";
const std::string server_name = "bench_b@127.4.0.2";
const std::string client_name = "bench_a@127.4.0.1";

node_config config(const std::string& name) {
  node_config c;
  c.name = *parse_node_name(name);
  c.cookie = cookie;
  // Set by `one_way_plaintext` before the server starts, so both sides agree.
  c.insecure_plaintext = std::getenv("BENCH_INSECURE_PLAINTEXT") != nullptr;
  // Node links through ZeroMQ, as before direct links (for comparison).
  if (std::getenv("BENCH_ZMQ_LINKS") != nullptr) c.dist_port.reset();
  if (const char* us = std::getenv("BENCH_BUSY_WAIT_US")) c.busy_wait = std::chrono::microseconds(std::atoll(us));
  if (const char* w = std::getenv("BENCH_WORKERS")) c.workers = std::atoi(w);
  return c;
}

void report(const char* name, double value, const char* unit) {
  std::printf("%s %.1f %s\n", name, value, unit);
  std::fflush(stdout);
}

// The remote node: `bench:sink` counts N messages then tells the caller;
// `bench:echo` sends every message back.
int serve() {
  auto n = node::start(config(server_name));
  if (!n) {
    std::fprintf(stderr, "bench_dist serve: %s\n", n.err().message.c_str());
    return 1;
  }
  (*n)->functions().add_coroutine("bench:sink", [](context& ctx, term args, term& result) -> task {
    const auto& l = args.as<term_list>();
    const pid reply_to = l[0].as<pid>();
    const std::int64_t count = l[1].as<std::int64_t>();
    ctx.send(reply_to, term(atom{"ready"}));
    for (std::int64_t i = 0; i < count; ++i) co_await ctx.receive();
    ctx.send(reply_to, term(atom{"done"}));
    result = atom{"ok"};
  });
  (*n)->functions().add_coroutine("bench:echo", [](context& ctx, term args, term& result) -> task {
    ctx.send(args.as<pid>(), term(ctx.self()));
    for (;;) {
      auto m = co_await ctx.receive();
      const auto& l = m.get<term>().as<term_list>();
      ctx.send(l[0].as<pid>(), l[1]);
    }
    result = atom{"ok"};
  });
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;
}

// `senders` processes send n messages of `bytes` bytes in all to one sink.
void one_way(node& a, std::int64_t n, std::size_t bytes, int senders, const char* name) {
  inbox me(a.processes());
  const term msg(binary{std::vector<std::uint8_t>(bytes, 7)});
  // Start the sink through a spawn of the registered function.
  a.processes().spawn([&a, n, senders, msg, to = me.self()](context& ctx) -> task {
    const std::string where = server_name, fn = "bench:sink";
    term_list args;
    args.push_back(ctx.self());
    args.push_back(n);
    auto sink = co_await spawn_on(ctx, where, fn, term(std::move(args)), 5s);
    if (!sink.ok()) {
      ctx.send(to, std::string("spawn failed: ") + sink.err().message);
      co_return;
    }
    co_await ctx.receive();  // ready
    const pid target = sink.value().as<pid>();
    const auto t0 = bench_clock::now();
    for (int s = 0; s < senders; ++s)
      a.processes().spawn([target, msg, count = n / senders + (s < n % senders ? 1 : 0)](context& sender) -> task {
        for (std::int64_t i = 0; i < count; ++i) {
          sender.send(target, msg);
          if ((i & 4095) == 0) co_await sender.receive(nullptr, 0ms);  // let the scheduler breathe
        }
      });
    co_await ctx.receive();  // done
    const double secs = std::chrono::duration<double>(bench_clock::now() - t0).count();
    ctx.send(to, static_cast<double>(n) / secs);
  });
  auto got = me.receive(600s);
  if (!got) return;
  if (auto* rate = got->get_if<double>()) report(name, *rate, "msg/s");
  if (auto* err = got->get_if<std::string>()) std::fprintf(stderr, "%s\n", err->c_str());
}

// Latency percentiles of sorted samples, the same set for every latency
// figure (bench/report.py plots them as a distribution).
void report_percentiles(const std::string& prefix, std::vector<double>& samples) {
  std::sort(samples.begin(), samples.end());
  const std::pair<const char*, double> points[] = {{"p10", 0.10}, {"p25", 0.25}, {"p50", 0.50},  {"p75", 0.75},
                                                   {"p90", 0.90}, {"p99", 0.99}, {"p999", 0.999}};
  for (const auto& [suffix, q] : points)
    report((prefix + "_" + suffix).c_str(),
           samples[static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1))], "us");
}

void pingpong(node& a, int n) {
  inbox me(a.processes());
  static std::vector<double> samples, starts;
  samples.assign(static_cast<std::size_t>(n), 0);
  starts.assign(static_cast<std::size_t>(n), 0);
  a.processes().spawn([n, to = me.self()](context& ctx) -> task {
    const std::string where = server_name, fn = "bench:echo";
    auto echo_pid = co_await spawn_on(ctx, where, fn, term(ctx.self()), 5s);
    if (!echo_pid.ok()) co_return;
    co_await ctx.receive();  // the echo's hello
    const pid echo = echo_pid.value().as<pid>();
    for (int i = 0; i < n; ++i) {
      const auto t = bench_clock::now();
      term_list l;
      l.push_back(ctx.self());
      l.push_back(i);
      ctx.send(echo, term(std::move(l)));
      co_await ctx.receive();
      samples[static_cast<std::size_t>(i)] = std::chrono::duration<double, std::micro>(bench_clock::now() - t).count();
      starts[static_cast<std::size_t>(i)] = std::chrono::duration<double, std::micro>(t.time_since_epoch()).count();
    }
    ctx.send(to, 1);
  });
  if (!me.receive(600s)) return;
  // Every round trip, for bench/tick_phase.py: when it started, how long.
  if (const char* path = std::getenv("BENCH_PINGPONG_SAMPLES"))
    if (FILE* out = std::fopen(path, "w")) {
      for (std::size_t i = 0; i < samples.size(); ++i) std::fprintf(out, "%.1f %.1f\n", starts[i], samples[i]);
      std::fclose(out);
    }
  report_percentiles("dist_pingpong", samples);
}

void calls(node& a, int callers, int per_caller) {
  inbox me(a.processes());
  // Every call's latency, each caller in its own slice.
  static std::vector<double> samples;
  samples.assign(static_cast<std::size_t>(callers * per_caller), 0);
  const auto t0 = bench_clock::now();
  for (int c = 0; c < callers; ++c)
    a.processes().spawn([per_caller, mine = samples.data() + c * per_caller, to = me.self()](context& ctx) -> task {
      const std::string where = server_name, fn = "sys:echo";
      int ok = 0;
      for (int i = 0; i < per_caller; ++i) {
        const auto t = bench_clock::now();
        auto r = co_await call(ctx, where, fn, term(i), 5s);
        mine[i] = std::chrono::duration<double, std::micro>(bench_clock::now() - t).count();
        ok += r.ok() ? 1 : 0;
      }
      ctx.send(to, ok);
    });
  int total = 0;
  for (int c = 0; c < callers; ++c) total += me.receive_as<int>(600s).value_or(0);
  const double secs = std::chrono::duration<double>(bench_clock::now() - t0).count();
  report(callers == 1 ? "dist_call_1caller" : "dist_call_16callers", total / secs, "call/s");
  if (callers == 1) report_percentiles("dist_call_latency", samples);
}

void spawns(node& a, int n) {
  inbox me(a.processes());
  const auto t0 = bench_clock::now();
  // Pipelined: 16 processes each start n/16 remote spawns back to back.
  constexpr int spawners = 16;
  for (int s = 0; s < spawners; ++s)
    a.processes().spawn([n, to = me.self()](context& ctx) -> task {
      const std::string where = server_name, fn = "sys:echo";
      int ok = 0;
      for (int i = 0; i < n / spawners; ++i) ok += (co_await spawn_on(ctx, where, fn, term(), 5s)).ok() ? 1 : 0;
      ctx.send(to, ok);
    });
  int total = 0;
  for (int s = 0; s < spawners; ++s) total += me.receive_as<int>(600s).value_or(0);
  const double secs = std::chrono::duration<double>(bench_clock::now() - t0).count();
  report("dist_spawn_16spawners", total / secs, "spawn/s");
}

// One process sends n spawn requests without waiting, then takes the n
// answers (Erlang's spawn_request, the anchor's remote spawn figure).
void spawns_pipelined(node& a, int n) {
  inbox me(a.processes());
  const auto t0 = bench_clock::now();
  a.processes().spawn([n, to = me.self()](context& ctx) -> task {
    const std::string where = server_name, fn = "sys:echo";
    std::vector<call_awaiter> requests;
    requests.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) requests.push_back(spawn_on(ctx, where, fn, term(), 30s));
    int ok = 0;
    for (auto& r : requests) ok += (co_await r).ok() ? 1 : 0;
    ctx.send(to, ok);
  });
  const int total = me.receive_as<int>(600s).value_or(0);
  const double secs = std::chrono::duration<double>(bench_clock::now() - t0).count();
  if (total != n) std::fprintf(stderr, "bench_dist: %d of %d pipelined spawns answered ok\n", total, n);
  report("dist_spawn_pipelined", total / secs, "spawn/s");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "serve") return serve();
  const std::string what = argc >= 2 ? argv[1] : "all";
  // Whether `what` (`all`, or a comma-separated list) names the workload.
  const auto named = [&what](const std::string& workload) {
    return ("," + what + ",").find("," + workload + ",") != std::string::npos;
  };
  const auto want = [&](const std::string& workload) { return what == "all" || named(workload); };
  const std::int64_t n = argc >= 3 ? std::atoll(argv[2]) : 2000000;
  if (what == "one_way_plaintext") setenv("BENCH_INSECURE_PLAINTEXT", "1", 1);

  pid_t server = -1;
  char* child_argv[] = {argv[0], const_cast<char*>("serve"), const_cast<char*>(server_name.c_str()), nullptr};
  if (posix_spawn(&server, argv[0], nullptr, nullptr, child_argv, environ) != 0) return 1;
  node_config c = config(client_name);
  c.join.push_back(*parse_node_name(server_name));  // retried until the server is up
  auto a = node::start(c);
  if (!a) {
    std::fprintf(stderr, "bench_dist: %s\n", a.err().message.c_str());
    return 1;
  }
  for (int i = 0; i < 400 && (*a)->nodes().empty(); ++i) std::this_thread::sleep_for(25ms);
  if ((*a)->nodes().empty()) {
    std::fprintf(stderr, "bench_dist: the server node did not come up\n");
    kill(server, SIGTERM);
    return 1;
  }
  // The other workloads shrink with N too (bench/run.sh --quick).
  const auto scaled = [n](int full) { return std::max(1600, static_cast<int>(full * (static_cast<double>(n) / 2e6))); };
  if (want("one_way")) one_way(**a, n, 64, 1, "dist_one_way_64B");
  if (what == "one_way_plaintext") one_way(**a, n, 64, 1, "dist_one_way_64B_plaintext");
  if (want("one_way_1k")) one_way(**a, n / 2, 1024, 1, "dist_one_way_1K");
  if (want("one_way_16")) one_way(**a, n, 64, 16, "dist_one_way_64B_16senders");
  if (want("pingpong")) pingpong(**a, scaled(20000));
  if (want("call")) {
    calls(**a, 1, scaled(20000));
    calls(**a, 16, scaled(5000));
  }
  if (named("call_16") && !want("call")) calls(**a, 16, scaled(5000));  // alone, for a profile
  if (want("spawn")) spawns(**a, scaled(100000));
  if (want("spawn") || want("spawn_pipelined")) spawns_pipelined(**a, scaled(100000));
  kill(server, SIGTERM);
  waitpid(server, nullptr, 0);
  return 0;
}
