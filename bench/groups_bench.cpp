// Groups and global names: three (names: five) embedded nodes on loopback in
// this process. Prints `name value unit` per line.
//
//   bench_groups [all|publish|names] [SUBSCRIBERS] [PUBLISHES]
//
// publish: SUBSCRIBERS members of one group (default 100,000) spread over 3
//   nodes; a process on the first node publishes PUBLISHES messages (default
//   20) to all of them: with pg::publish (one copy per remote node), and as a
//   naive loop of sends to every member. Deliveries per second, from the
//   first publish to the last delivery.
// names: global names registered per second on one node of five (the call,
//   and until all are known on every node), and the time until a new name is
//   visible on the four others (median and p99 of 50).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <cluster/global_names.hpp>
#include <cluster/groups.hpp>
#include <cluster/inbox.hpp>
#include <cluster/log.hpp>
#include <cluster/node.hpp>

using namespace cluster;
using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

namespace {

void report(const char* name, double value, const char* unit) {
  std::printf("%s %.1f %s\n", name, value, unit);
  std::fflush(stdout);
}

std::vector<std::unique_ptr<node>> start_nodes(int n, int subnet) {
  std::vector<std::unique_ptr<node>> nodes;
  for (int i = 0; i < n; ++i) {
    node_config c;
    c.name = *parse_node_name("bench_g" + std::to_string(i) + "@127.4." + std::to_string(subnet) + "." +
                              std::to_string(i + 1));
    c.cookie = "bench-cookie";
    c.membership = membership_config::local();
    if (i > 0) c.join.push_back(nodes[0]->name());
    auto started = node::start(c);
    if (!started) {
      std::fprintf(stderr, "bench_groups: %s\n", started.err().message.c_str());
      std::exit(1);
    }
    nodes.push_back(std::move(started).value());
  }
  return nodes;
}

// Runs `fn` in a process of `n` and waits for it.
template <class Fn>
auto in_process(node& n, Fn fn) {
  using result_type = decltype(fn(std::declval<context&>()));
  inbox box(n.processes());
  const pid reply_to = box.self();
  n.processes().spawn([fn, reply_to](context& ctx) -> task {
    ctx.send(reply_to, fn(ctx));
    co_return;
  });
  return *box.receive_as<result_type>(600s);
}

bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto end = bench_clock::now() + limit;
  while (!done()) {
    if (bench_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

void publish(int subscribers, int publishes) {
  auto nodes = start_nodes(3, 70);
  std::atomic<int> finished{0};  // members that got every message of the current round
  std::atomic<int> expected{publishes};
  for (int i = 0; i < subscribers; ++i)
    nodes[static_cast<std::size_t>(i % 3)]->processes().spawn([&finished, &expected](context& ctx) -> task {
      pg::join(ctx, "bench", ctx.self());
      for (int count = 0;;) {
        (void)co_await ctx.receive();
        if (++count == expected.load()) {
          count = 0;
          finished.fetch_add(1);
        }
      }
    });
  // Every node's view, the publisher's included: the naive loop sends to the members it sees.
  const auto seen_by = [&](node& n) {
    return in_process(n, [](context& ctx) { return pg::members(ctx, "bench"); }).size();
  };
  if (!wait_until(
          [&] {
            return std::all_of(nodes.begin(), nodes.end(),
                               [&](const auto& n) { return seen_by(*n) == static_cast<std::size_t>(subscribers); });
          },
          120s)) {
    std::fprintf(stderr, "bench_groups: the group did not converge: members seen by each node:");
    for (const auto& n : nodes) std::fprintf(stderr, " %zu", seen_by(*n));
    std::fprintf(stderr, " of %d\n", subscribers);
    std::exit(1);
  }

  auto round = [&](const char* name, bool naive) {
    finished = 0;
    const auto t0 = bench_clock::now();
    nodes[0]->processes().spawn([naive, publishes](context& ctx) -> task {
      const term msg(term_list{std::string(48, 'x'), 1});  // ~64 bytes encoded
      for (int i = 0; i < publishes; ++i) {
        if (naive) {
          for (const auto& p : pg::members(ctx, "bench")) ctx.send(p, msg);
        } else {
          pg::publish(ctx, "bench", msg);
        }
        co_await ctx.yield();
      }
    });
    if (!wait_until([&] { return finished.load() == subscribers; }, 120s)) {
      std::fprintf(stderr, "bench_groups: %s did not finish (%d of %d members got every message); counters:\n", name,
                   finished.load(), subscribers);
      for (std::size_t i = 0; i < nodes.size(); ++i)
        for (const auto& [counter, value] : nodes[i]->stats().counters())
          if (value != 0)
            std::fprintf(stderr, "  node %zu %s %llu\n", i, counter.c_str(), static_cast<unsigned long long>(value));
      std::exit(1);
    }
    const double s = std::chrono::duration<double>(bench_clock::now() - t0).count();
    report(name, static_cast<double>(subscribers) * publishes / s, "msg/s");
  };
  round("publish_fanout", false);
  round("publish_naive_loop", true);
}

void names() {
  auto nodes = start_nodes(5, 71);
  if (!wait_until([&] { return nodes[0]->nodes().size() == 4 && nodes[4]->nodes().size() == 4; }, 60s)) std::exit(1);
  // Registration rate: one process registers N names for a process that
  // lives on (an inbox: names go when their owner ends).
  constexpr int n = 100000;
  const auto t0 = bench_clock::now();
  inbox owner(nodes[0]->processes());
  in_process(*nodes[0], [p = owner.self()](context& ctx) {
    for (int i = 0; i < n; ++i) register_global(ctx, "name" + std::to_string(i), p);
    return 0;
  });
  const double s = std::chrono::duration<double>(bench_clock::now() - t0).count();
  report("global_register_rate", n / s, "reg/s");
  // ...and until the last of them is known on all five nodes.
  const std::string last = "name" + std::to_string(n - 1);
  for (auto& nd : nodes)
    wait_until([&] { return in_process(*nd, [last](context& ctx) { return whereis_global(ctx, last).has_value(); }); },
               120s);
  const double everywhere = std::chrono::duration<double>(bench_clock::now() - t0).count();
  report("global_register_replicated_rate", n / everywhere, "reg/s");

  // Visibility: a fresh name on node 0; a process on each other node checks
  // for it every 50 us and reports when it sees it.
  std::vector<double> samples;
  for (int i = 0; i < 50; ++i) {
    const std::string name = "visible" + std::to_string(i);
    inbox seen(nodes[0]->processes());
    for (std::size_t k = 1; k < nodes.size(); ++k)
      nodes[k]->processes().spawn([name, to = seen.self()](context& ctx) -> task {
        const matcher nothing = [](const message&) { return false; };
        while (!whereis_global(ctx, name)) (void)co_await ctx.receive(nothing, 50us);
        ctx.send(to, term("seen"));
      });
    std::this_thread::sleep_for(5ms);  // the watchers are in place
    inbox holder(nodes[0]->processes());
    const auto t = bench_clock::now();
    in_process(*nodes[0], [name, p = holder.self()](context& ctx) { return register_global(ctx, name, p); });
    for (std::size_t k = 1; k < nodes.size(); ++k) (void)seen.receive(10s);
    samples.push_back(std::chrono::duration<double, std::micro>(bench_clock::now() - t).count());
  }
  std::sort(samples.begin(), samples.end());
  report("global_visible_5_nodes_p50", samples[samples.size() / 2], "us");
  report("global_visible_5_nodes_p99", samples[samples.size() * 99 / 100], "us");
}

}  // namespace

int main(int argc, char** argv) {
  set_log_level(log_level::warn);
  const std::string what = argc > 1 ? argv[1] : "all";
  const int subscribers = argc > 2 ? std::atoi(argv[2]) : 100000;
  const int publishes = argc > 3 ? std::atoi(argv[3]) : 20;
  if (what == "all" || what == "publish") publish(subscribers, publishes);
  if (what == "all" || what == "names") names();
  return 0;
}
