// The runtime on real worker threads: ordering, ping-pong, spawn storms,
// links and monitors across threads, shutdown. These are the cases TSan
// checks. No sleeps: the test thread waits in an inbox.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <thread>
#include <vector>

#include "cluster/inbox.hpp"
#include "cluster/runtime.hpp"
#include "cluster/supervisor.hpp"
#include "runtime/runtime_core.hpp"

using namespace cluster;
using namespace std::chrono_literals;

namespace {

runtime_config threaded(std::size_t workers = 2) {
  runtime_config c;
  c.workers = workers;
  c.node = "mt@host";
  return c;
}

struct numbered {
  int sender = 0;
  int seq = 0;
};

}  // namespace

TEST_CASE("messages from each sender arrive in the order sent, with several senders on several threads") {
  runtime rt(threaded());
  inbox out(rt);
  constexpr int senders = 4, per_sender = 20000;
  const pid receiver =
      rt.spawn([to = out.self(), next = std::map<int, int>{}, total = 0, ok = true](context& ctx, message& m) mutable {
        const auto& n = m.get<numbered>();
        ok = ok && next[n.sender] == n.seq;
        next[n.sender] = n.seq + 1;
        if (++total == senders * per_sender) ctx.send(to, ok);
      });
  for (int s = 0; s < senders; ++s)
    rt.spawn([receiver, s](context& ctx) -> task {
      for (int i = 0; i < per_sender; ++i) ctx.send(receiver, numbered{s, i});
      co_return;
    });
  CHECK(out.receive_as<bool>(30s) == true);
}

TEST_CASE("two processes play 100,000 rounds of ping-pong") {
  runtime rt(threaded());
  inbox out(rt);
  const pid ponger = rt.spawn([](context& ctx, message& m) { ctx.send(m.get<pid>(), 1); });
  rt.spawn([ponger, to = out.self()](context& ctx) -> task {
    for (int i = 0; i < 100000; ++i) {
      ctx.send(ponger, ctx.self());
      co_await ctx.receive();
    }
    ctx.send(to, std::string("done"));
  });
  CHECK(out.receive_as<std::string>(60s) == "done");
}

TEST_CASE("a busy-waiting worker does the idle work, and runs the process it wakes itself") {
  // Stands for a node's I/O: the first poll delivers a message.
  struct deliver_once final : internal::idle_work {
    runtime* rt = nullptr;
    pid to;
    std::atomic<bool> done{false};
    std::atomic<std::thread::id> poller{};
    bool poll() override {
      if (done.exchange(true)) return false;
      poller = std::this_thread::get_id();
      rt->send(to, 1);
      return true;
    }
  } io;  // before the runtime: it outlives the workers
  runtime rt(threaded(1));
  inbox out(rt);
  const pid receiver = rt.spawn([to = out.self()](context& ctx, message&) {
    ctx.send(to, std::hash<std::thread::id>{}(std::this_thread::get_id()));
  });
  io.rt = &rt;
  io.to = receiver;
  rt.core().set_idle_work(&io);
  const auto ran_on = out.receive_as<std::size_t>(30s);
  REQUIRE(ran_on);
  CHECK(*ran_on == std::hash<std::thread::id>{}(io.poller.load()));
  rt.core().set_idle_work(nullptr);
}

TEST_CASE("a spawn storm from several processes: every child runs and every exit is counted") {
  runtime rt(threaded());
  inbox out(rt);
  constexpr int spawners = 4, per_spawner = 5000;
  const pid counter = rt.spawn([to = out.self(), n = 0](context& ctx, message&) mutable {
    if (++n == spawners * per_spawner) ctx.send(to, n);
  });
  for (int s = 0; s < spawners; ++s)
    rt.spawn([counter](context& ctx) -> task {
      for (int i = 0; i < per_spawner; ++i)
        ctx.spawn([counter](context& c) -> task {
          c.send(counter, 1);
          co_return;
        });
      co_return;
    });
  CHECK(out.receive_as<int>(30s) == spawners * per_spawner);
  // Every child has exited or is about to; wait until the table is empty but for the counter.
  for (int i = 0; i < 1000 && rt.process_count() > 2; ++i) (void)out.receive(1ms);
  CHECK(rt.process_count() == 2);  // the counter and the inbox
  CHECK(rt.stats().spawned == rt.stats().exited + 2);
}

TEST_CASE("a thousand linked workers killed at once each deliver one exit to a trapping parent") {
  runtime rt(threaded());
  inbox out(rt);
  constexpr int workers = 1000;
  rt.spawn([to = out.self()](context& ctx) -> task {
    ctx.trap_exit(true);
    std::vector<pid> kids;
    for (int i = 0; i < workers; ++i) kids.push_back(ctx.spawn_link([](context& c) -> task { co_await c.receive(); }));
    for (const pid& k : kids) ctx.exit(k, reason::kill());
    int exits = 0;
    while (exits < workers) {
      auto m = co_await ctx.receive(match_type<exit_message>());
      if (reason::is(m.get<exit_message>().reason, "killed")) ++exits;
    }
    ctx.send(to, exits);
  });
  CHECK(out.receive_as<int>(30s) == workers);
}

TEST_CASE("monitors fire across threads for processes that end while being monitored") {
  runtime rt(threaded());
  inbox out(rt);
  std::vector<pid> targets;
  for (int i = 0; i < 500; ++i) targets.push_back(rt.spawn([](context& ctx, message&) { ctx.stop(term("done")); }));
  for (const pid& t : targets) out.monitor(t);
  for (const pid& t : targets) rt.send(t, 0);
  int downs = 0;
  while (downs < 500) {
    auto d = out.receive_as<down_message>(10s);
    if (!d) break;
    // Either it ended after our monitor arrived (done) or before (noproc).
    CHECK((d->reason == term("done") || reason::is(d->reason, "noproc")));
    ++downs;
  }
  CHECK(downs == 500);
}

TEST_CASE("a supervisor on real threads restarts a crashing child") {
  runtime rt(threaded());
  inbox out(rt);
  auto crasher = [to = out.self()](context& ctx) -> task {
    ctx.send(to, ctx.self());
    co_await ctx.receive();
    throw std::runtime_error("again");
  };
  supervisor_flags f;
  f.intensity = 100;
  rt.spawn(supervisor(f, {{"c", crasher}}));
  for (int i = 0; i < 20; ++i) {
    auto p = out.receive_as<pid>(10s);
    REQUIRE(p);
    rt.send(*p, 0);
  }
}

TEST_CASE("shutdown with busy processes ends them all and returns") {
  auto rt = std::make_unique<runtime>(threaded());
  for (int i = 0; i < 100; ++i)
    rt->spawn([](context& ctx) -> task {
      for (;;) {
        ctx.send(ctx.self(), 1);  // keeps itself busy forever
        co_await ctx.receive();
      }
    });
  rt->shutdown();
  CHECK(rt->process_count() == 0);
}

TEST_CASE("pool blocks made on one thread and freed on another stay intact") {
  // The pattern of a remote spawn: the I/O thread makes a process's frame, a
  // scheduler thread frees it. Sizes cover every pool class and
  // the malloc fallback above it.
  constexpr int rounds = 20, per_round = 2000;
  std::vector<std::pair<void*, std::size_t>> made;
  for (int r = 0; r < rounds; ++r) {
    made.clear();
    std::thread maker([&] {
      for (int i = 0; i < per_round; ++i) {
        const std::size_t size = 8 + static_cast<std::size_t>(i * 37 % 700);
        auto* p = static_cast<unsigned char*>(detail::pool_allocate(size));
        std::fill(p, p + size, static_cast<unsigned char>(i));
        made.emplace_back(p, size);
      }
    });
    maker.join();
    int damaged = 0;
    std::thread freer([&] {
      for (std::size_t i = 0; i < made.size(); ++i) {
        auto* p = static_cast<unsigned char*>(made[i].first);
        const auto intact = [&](unsigned char c) { return c == static_cast<unsigned char>(i); };
        damaged += std::all_of(p, p + made[i].second, intact) ? 0 : 1;
        detail::pool_free(p, made[i].second);
      }
    });
    freer.join();
    CHECK(damaged == 0);
  }
}
