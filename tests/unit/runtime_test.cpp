// The process runtime's rules, in a manual-mode runtime: no threads, no
// sleeps; the test runs processes until idle and moves time by hand.
#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "cluster/inbox.hpp"
#include "cluster/runtime.hpp"
#include "runtime/runtime_core.hpp"

using namespace cluster;
using namespace std::chrono_literals;

namespace {

runtime_config manual() {
  runtime_config c;
  c.manual = true;
  c.node = "t@host";
  c.creation = 7;
  return c;
}

struct ping {
  pid from;
  int n = 0;
};
struct pong {
  int n = 0;
};

}  // namespace

TEST_CASE("an event-driven process handles messages from one sender in order") {
  runtime rt(manual());
  inbox out(rt);
  const pid echo = rt.spawn([to = out.self()](context& ctx, message& m) { ctx.send(to, m.get<int>() * 10); });
  for (int i = 0; i < 100; ++i) rt.send(echo, i);
  rt.run_until_idle();
  for (int i = 0; i < 100; ++i) CHECK(out.receive_as<int>(0ms) == i * 10);
}

TEST_CASE("typed messages move into the receiver without copying") {
  runtime rt(manual());
  inbox out(rt);
  const pid p = rt.spawn([to = out.self()](context& ctx, message& m) {
    auto owned = std::move(m.get<std::unique_ptr<int>>());
    ctx.send(to, *owned + 1);
  });
  rt.send(p, std::make_unique<int>(41));
  rt.run_until_idle();
  CHECK(out.receive_as<int>(0ms) == 42);
}

TEST_CASE("a coroutine's selective receive takes matches and leaves the rest in order") {
  runtime rt(manual());
  inbox out(rt);
  const pid p = rt.spawn([to = out.self()](context& ctx) -> task {
    auto first = co_await ctx.receive(match_type<pong>());  // skips the ints before it
    ctx.send(to, first.get<pong>().n);
    for (int i = 0; i < 3; ++i) {
      auto m = co_await ctx.receive();
      ctx.send(to, m.get<int>());
    }
  });
  rt.send(p, 1);
  rt.send(p, 2);
  rt.send(p, pong{99});
  rt.send(p, 3);
  rt.run_until_idle();
  CHECK(out.receive_as<int>(0ms) == 99);
  CHECK(out.receive_as<int>(0ms) == 1);
  CHECK(out.receive_as<int>(0ms) == 2);
  CHECK(out.receive_as<int>(0ms) == 3);
  CHECK_FALSE(rt.alive(p));  // the coroutine returned: a normal exit
}

TEST_CASE("a receive with a timeout yields nothing once the time passes, and not before") {
  runtime rt(manual());
  inbox out(rt);
  rt.spawn([to = out.self()](context& ctx) -> task {
    auto m = co_await ctx.receive(match_type<int>(), 100ms);
    ctx.send(to, std::string(m ? "message" : "timeout"));
  });
  rt.run_until_idle();
  rt.advance(99ms);
  CHECK_FALSE(out.receive(0ms));
  rt.advance(1ms);
  CHECK(out.receive_as<std::string>(0ms) == "timeout");
}

TEST_CASE("a message that arrives before the timeout wins, and the timer is cancelled") {
  runtime rt(manual());
  inbox out(rt);
  const pid p = rt.spawn([to = out.self()](context& ctx) -> task {
    auto m = co_await ctx.receive(match_type<int>(), 100ms);
    ctx.send(to, std::string(m ? "message" : "timeout"));
    co_await ctx.receive();  // stay alive
  });
  rt.run_until_idle();
  rt.send(p, 5);
  rt.run_until_idle();
  CHECK(out.receive_as<std::string>(0ms) == "message");
  rt.advance(1s);
  CHECK_FALSE(out.receive(0ms));
  CHECK(rt.core().timers().pending() == 0);
}

TEST_CASE("receive with a zero timeout polls the mailbox (Erlang's after 0)") {
  runtime rt(manual());
  inbox out(rt);
  rt.spawn([to = out.self()](context& ctx) -> task {
    auto m = co_await ctx.receive(nullptr, 0ms);
    ctx.send(to, m.has_value());
  });
  rt.run_until_idle();
  CHECK(out.receive_as<bool>(0ms) == false);
}

TEST_CASE("a process that throws exits with the exception's text, and its monitor says so") {
  runtime rt(manual());
  inbox watcher(rt);
  const pid p = rt.spawn([](context&, message&) { throw std::runtime_error("bad input"); });
  const ref r = watcher.monitor(p);
  rt.send(p, 1);
  rt.run_until_idle();
  auto down = watcher.receive_as<down_message>(0ms);
  REQUIRE(down);
  CHECK(down->monitor == r);
  CHECK(down->process == p);
  CHECK(down->reason == term("bad input"));
  CHECK(rt.stats().crashed == 1);
}

TEST_CASE("monitoring a process that is gone delivers DOWN noproc at once") {
  runtime rt(manual());
  inbox watcher(rt);
  const pid ghost{"t@host", 7, 123456};
  watcher.monitor(ghost);
  rt.run_until_idle();
  auto down = watcher.receive_as<down_message>(0ms);
  REQUIRE(down);
  CHECK(reason::is(down->reason, "noproc"));
}

TEST_CASE("links: an abnormal exit kills the linked process, a normal one does not") {
  runtime rt(manual());
  inbox watcher(rt);
  auto idle = [](context&, message&) {};
  const pid a = rt.spawn(idle);
  const pid b = rt.spawn([a](context& ctx, message& m) {
    if (m.is<std::string>()) {
      ctx.link(a);
      return;
    }
    ctx.stop(m.get<term>());
  });
  watcher.monitor(a);
  rt.send(b, std::string("link"));
  rt.send(b, reason::normal());
  rt.run_until_idle();
  CHECK_FALSE(rt.alive(b));
  CHECK(rt.alive(a));  // a normal exit does not propagate

  const pid c = rt.spawn([a](context& ctx, message&) {
    ctx.link(a);
    throw std::runtime_error("boom");
  });
  rt.send(c, 1);
  rt.run_until_idle();
  CHECK_FALSE(rt.alive(a));
  auto down = watcher.receive_as<down_message>(0ms);
  REQUIRE(down);
  CHECK(down->reason == term("boom"));
}

TEST_CASE("trap_exit turns exit signals into messages; kill cannot be trapped") {
  runtime rt(manual());
  inbox out(rt);
  const pid trapper = rt.spawn([to = out.self()](context& ctx) -> task {
    ctx.trap_exit(true);
    ctx.send(to, std::string("ready"));
    auto m = co_await ctx.receive(match_type<exit_message>());
    ctx.send(to, m.get<exit_message>().reason);
    co_await ctx.receive();  // wait forever
  });
  rt.run_until_idle();
  CHECK(out.receive_as<std::string>(0ms) == "ready");
  rt.exit(trapper, term("please"));
  rt.run_until_idle();
  CHECK(out.receive_as<term>(0ms) == term("please"));
  CHECK(rt.alive(trapper));

  out.monitor(trapper);
  rt.exit(trapper, reason::kill());
  rt.run_until_idle();
  auto down = out.receive_as<down_message>(0ms);
  REQUIRE(down);
  CHECK(reason::is(down->reason, "killed"));
}

TEST_CASE("a crash travels down a chain of links") {
  runtime rt(manual());
  inbox watcher(rt);
  auto idle = [](context&, message&) {};
  const pid first = rt.spawn(idle);
  pid previous = first;
  std::vector<pid> chain{first};
  for (int i = 0; i < 10; ++i) {
    previous = rt.spawn([prev = previous](context& ctx, message& m) {
      if (m.is<int>()) ctx.link(prev);
    });
    rt.send(previous, 0);
    chain.push_back(previous);
  }
  rt.run_until_idle();
  watcher.monitor(chain.back());
  rt.exit(first, term("crash"));
  rt.run_until_idle();
  for (const pid& p : chain) CHECK_FALSE(rt.alive(p));
  auto down = watcher.receive_as<down_message>(0ms);
  REQUIRE(down);
  CHECK(down->reason == term("crash"));
}

TEST_CASE("linking to a process that is gone delivers noproc") {
  runtime rt(manual());
  inbox out(rt);
  const pid ghost{"t@host", 7, 999999};
  rt.spawn([ghost, to = out.self()](context& ctx) -> task {
    ctx.trap_exit(true);
    ctx.link(ghost);
    auto m = co_await ctx.receive(match_type<exit_message>());
    ctx.send(to, m.get<exit_message>().reason);
  });
  rt.run_until_idle();
  auto r = out.receive_as<term>(0ms);
  REQUIRE(r);
  CHECK(reason::is(*r, "noproc"));
}

TEST_CASE("demonitor stops DOWN messages, including one already delivered") {
  runtime rt(manual());
  inbox out(rt);
  const pid target = rt.spawn([](context& ctx, message&) { ctx.stop(term("bye")); });
  const pid watcher = rt.spawn([target, to = out.self()](context& ctx) -> task {
    const ref r = ctx.monitor(target);
    ctx.send(target, 1);                              // it exits...
    co_await ctx.receive(match_type<std::string>());  // ...and its DOWN arrives while we wait
    ctx.demonitor(r);                                 // flushed
    auto late = co_await ctx.receive(match_type<down_message>(), 0ms);
    ctx.send(to, late.has_value());
  });
  rt.run_until_idle();
  CHECK_FALSE(rt.alive(target));
  rt.send(watcher, std::string("go"));
  rt.run_until_idle();
  CHECK(out.receive_as<bool>(0ms) == false);
}

TEST_CASE("registered names: one owner, send by name, freed at exit") {
  runtime rt(manual());
  inbox out(rt);
  const pid p = rt.spawn([to = out.self()](context& ctx, message& m) {
    if (m.is<std::string>()) {
      ctx.send(to, ctx.register_name(m.get<std::string>()));
      return;
    }
    ctx.stop();
  });
  rt.send(p, std::string("db"));
  rt.run_until_idle();
  CHECK(out.receive_as<bool>(0ms) == true);
  CHECK(rt.whereis("db") == p);

  const pid q = rt.spawn([to = out.self()](context& ctx, message&) { ctx.send(to, ctx.register_name("db")); });
  rt.send(q, 0);
  rt.run_until_idle();
  CHECK(out.receive_as<bool>(0ms) == false);  // taken

  CHECK(rt.send("db", message::make(1)));
  rt.run_until_idle();
  CHECK_FALSE(rt.whereis("db"));  // p exited: the name is free
  CHECK_FALSE(rt.send("db", message::make(1)));
}

TEST_CASE("send_after delivers on time; a cancelled timer never fires") {
  runtime rt(manual());
  inbox out(rt);
  rt.spawn([to = out.self()](context& ctx) -> task {
    ctx.send_after(50ms, to, message::make(std::string("late")));
    const timer_id t = ctx.send_after(60ms, to, message::make(std::string("cancelled")));
    CHECK(ctx.cancel_timer(t));
    co_return;
  });
  rt.run_until_idle();
  rt.advance(49ms);
  CHECK_FALSE(out.receive(0ms));
  rt.advance(20ms);
  CHECK(out.receive_as<std::string>(0ms) == "late");
  CHECK_FALSE(out.receive(0ms));
}

TEST_CASE("a busy process yields after its budget, so others are not starved") {
  runtime_config c = manual();
  c.budget = 10;
  runtime rt(c);
  std::vector<char> order;
  const pid busy = rt.spawn([&order](context&, message&) { order.push_back('b'); });
  const pid other = rt.spawn([&order](context&, message&) { order.push_back('o'); });
  for (int i = 0; i < 50; ++i) rt.send(busy, i);
  rt.send(other, 0);
  rt.run_until_idle();
  REQUIRE(order.size() == 51);
  const auto o = std::find(order.begin(), order.end(), 'o') - order.begin();
  CHECK(o <= 10);
}

TEST_CASE("messages to dead or foreign PIDs are dropped and counted, never an error") {
  runtime rt(manual());
  rt.send(pid{"t@host", 7, 424242}, 1);
  rt.send(pid{"t@host", 6, 1}, 1);      // an older incarnation of this node
  rt.send(pid{"other@host", 7, 1}, 1);  // another node
  CHECK(rt.stats().dropped_dead == 1);
  CHECK(rt.stats().dropped_foreign == 2);
}

TEST_CASE("a full mailbox drops further sends and counts them; DOWN messages still arrive") {
  auto cfg = manual();
  cfg.max_mailbox = 3;
  runtime rt(cfg);
  inbox full(rt);
  for (int i = 0; i < 5; ++i) rt.send(full.self(), i);
  CHECK(rt.stats().dropped_mailbox_full == 2);
  // A monitored process dies while the mailbox is full: its DOWN gets through.
  const pid p = rt.spawn([](context&, message&) { throw std::runtime_error("gone"); });
  const ref r = full.monitor(p);
  rt.send(p, 1);
  rt.run_until_idle();
  for (int i = 0; i < 3; ++i) {
    auto m = full.receive_as<int>(0ms);
    REQUIRE(m);
    CHECK(*m == i);
  }
  auto down = full.receive_as<down_message>(0ms);
  REQUIRE(down);
  CHECK(down->monitor == r);
  CHECK(rt.stats().dropped_mailbox_full == 2);
  // Room again: sends arrive.
  rt.send(full.self(), 42);
  CHECK(full.receive_as<int>(0ms) == 42);
}

TEST_CASE("messages a selective receive passes over still count against the mailbox bound") {
  auto cfg = manual();
  cfg.max_mailbox = 3;
  runtime rt(cfg);
  const matcher strings = [](const message& m) { return m.is<std::string>(); };
  // A process waiting for a string takes the ints into its pending list.
  const pid picky = rt.spawn([strings](context& ctx) -> task { (void)co_await ctx.receive(strings); });
  rt.run_until_idle();
  for (int i = 0; i < 3; ++i) rt.send(picky, i);
  rt.run_until_idle();  // its turn takes them, finds no string, waits on
  rt.send(picky, 3);
  CHECK(rt.stats().dropped_mailbox_full == 1);
  // An inbox likewise.
  inbox mine(rt);
  for (int i = 0; i < 3; ++i) rt.send(mine.self(), i);
  CHECK_FALSE(mine.receive(0ms, strings));
  rt.send(mine.self(), 3);
  CHECK(rt.stats().dropped_mailbox_full == 2);
  // Taking them out makes room again.
  for (int i = 0; i < 3; ++i) CHECK(mine.receive_as<int>(0ms) == i);
  rt.send(mine.self(), 4);
  CHECK(mine.receive_as<int>(0ms) == 4);
  CHECK(rt.stats().dropped_mailbox_full == 2);
}

TEST_CASE("PIDs of another node or an older incarnation are recognized as not local") {
  runtime rt(manual());
  const pid mine = rt.spawn([](context&, message&) {});
  CHECK(rt.is_local(mine));
  CHECK(mine.node == rt.node());
  CHECK(mine.creation == rt.creation());
  CHECK_FALSE(rt.is_local(pid{mine.node, mine.creation - 1, mine.id}));
  CHECK_FALSE(rt.is_local(pid{"elsewhere@host", mine.creation, mine.id}));
  CHECK_FALSE(rt.alive(pid{mine.node, mine.creation - 1, mine.id}));
}

TEST_CASE("shutdown stops every process") {
  runtime rt(manual());
  for (int i = 0; i < 100; ++i) rt.spawn([](context& ctx) -> task { co_await ctx.receive(); });
  rt.run_until_idle();
  CHECK(rt.process_count() == 100);
  rt.shutdown();
  CHECK(rt.process_count() == 0);
}

TEST_CASE("spawn_monitor and spawn_link tie the child from its first instant") {
  runtime rt(manual());
  inbox out(rt);
  rt.spawn([to = out.self()](context& ctx) -> task {
    ctx.trap_exit(true);
    auto [child, r] = ctx.spawn_monitor([](context&) -> task {
      throw std::runtime_error("died young");
      co_return;
    });
    auto down = co_await ctx.receive(match_type<down_message>());
    ctx.send(to, down.get<down_message>().reason);
    const pid linked = ctx.spawn_link([](context&) -> task {
      throw std::runtime_error("also died");
      co_return;
    });
    auto ex = co_await ctx.receive(match_type<exit_message>());
    ctx.send(to, ex.get<exit_message>().from == linked);
  });
  rt.run_until_idle();
  CHECK(out.receive_as<term>(0ms) == term("died young"));
  CHECK(out.receive_as<bool>(0ms) == true);
}

// A function that throws before its coroutine exists (as a frame that cannot
// be allocated would): the spawn throws, and leaves no process, no half-made
// record (LeakSanitizer would report it) and no tie in the spawner.
TEST_CASE("a spawn whose function throws before starting leaves nothing behind") {
  runtime rt(manual());
  inbox out(rt);
  const auto cannot_start = [](context&) -> task { throw std::runtime_error("no frame"); };
  const pid spawner = rt.spawn([to = out.self(), cannot_start](context& ctx) -> task {
    for (int i = 0; i < 2; ++i) {
      try {
        if (i == 0)
          (void)ctx.spawn_link(cannot_start);
        else
          (void)ctx.spawn_monitor(cannot_start);
        ctx.send(to, term("spawned"));
      } catch (const std::runtime_error& e) {
        ctx.send(to, term(e.what()));
      }
    }
    co_await ctx.receive();  // stays, so the count below is ours and the inbox's
  });
  rt.run_until_idle();
  CHECK(out.receive_as<term>(0ms) == term("no frame"));
  CHECK(out.receive_as<term>(0ms) == term("no frame"));
  CHECK(rt.process_count() == 2);
  const internal::process_ref p = rt.core().find(spawner.id);
  REQUIRE(p);
  CHECK((!p->extras || (p->extras->links.empty() && p->extras->monitoring.empty())));
}

TEST_CASE("a pooled spawn (spawn_frame) whose start throws, with ties elsewhere, leaves nothing behind") {
  runtime rt(manual());
  internal::spawn_options o;  // the child's halves of a link and a monitor with another node
  o.linked_with = pid{"other@host", 1, 5};
  o.monitored_by = std::pair{ref{"other@host", 1, 9}, pid{"other@host", 1, 6}};
  const auto cannot_start = [](context&) -> task { throw std::runtime_error("no frame"); };
  CHECK_THROWS_WITH_AS(rt.core().spawn_frame(cannot_start, "test:frame", o), "no frame", std::runtime_error);
  CHECK(rt.process_count() == 0);
  CHECK(rt.core().spawn_frame([](context&) -> task { co_return; }, "test:frame", o).id != 0);  // the pool is fine
  rt.run_until_idle();
}

namespace {
// A helper coroutine that receives on behalf of its caller.
task next_int(context& ctx, int& out) {
  auto m = co_await ctx.receive(match_type<int>());
  out = m.get<int>();
}
task fails(context&) {
  throw std::runtime_error("inner failure");
  co_return;
}
}  // namespace

TEST_CASE("a process may await helper tasks that receive, and their exceptions reach it") {
  runtime rt(manual());
  inbox out(rt);
  const pid p = rt.spawn([to = out.self()](context& ctx) -> task {
    int a = 0, b = 0;
    co_await next_int(ctx, a);
    co_await next_int(ctx, b);
    ctx.send(to, a + b);
    try {
      co_await fails(ctx);
    } catch (const std::exception& e) {
      ctx.send(to, std::string(e.what()));
    }
    co_await fails(ctx);  // not caught: the process exits with its text
  });
  out.monitor(p);
  rt.run_until_idle();
  rt.send(p, 20);
  rt.run_until_idle();
  rt.send(p, 22);
  rt.run_until_idle();
  CHECK(out.receive_as<int>(0ms) == 42);
  CHECK(out.receive_as<std::string>(0ms) == "inner failure");
  auto down = out.receive_as<down_message>(0ms);
  REQUIRE(down);
  CHECK(down->reason == term("inner failure"));
}

TEST_CASE("regression: a selective-receive matcher that throws ends only its own process") {
  runtime rt(manual());
  inbox out(rt);
  const pid picky = rt.spawn([](context& ctx) -> task {
    co_await ctx.receive([](const message& m) { return m.get_if<term>()->as<std::string>() == "x"; });
  });
  out.monitor(picky);
  rt.run_until_idle();
  rt.send(picky, term(42));  // as<std::string>() throws on an integer
  rt.run_until_idle();
  auto down = out.receive_as<down_message>(0ms);
  REQUIRE(down);
  CHECK(down->process == picky);
  CHECK(down->reason.is<std::string>());
  CHECK(rt.stats().crashed == 1);
}

TEST_CASE("a coroutine that yields lets the others run, then goes on where it was") {
  runtime rt(manual());
  inbox out(rt);
  rt.spawn([to = out.self()](context& ctx) -> task {
    ctx.send(to, 1);
    co_await ctx.yield();
    ctx.send(to, 3);
  });
  rt.spawn([to = out.self()](context& ctx) -> task {
    ctx.send(to, 2);
    co_return;
  });
  rt.run_until_idle();
  CHECK(out.receive_as<int>(0ms) == 1);
  CHECK(out.receive_as<int>(0ms) == 2);
  CHECK(out.receive_as<int>(0ms) == 3);
}

namespace {
/// A gate the test opens by hand (the distribution layer's is a busy node's queue).
struct hand_gate final : internal::gate {
  bool open = false;
  std::vector<internal::process_ref> held;
  bool hold(internal::process_ref p) override {
    if (open) return false;
    held.push_back(std::move(p));
    return true;
  }
};
}  // namespace

TEST_CASE("a process blocked at a gate stops after its handler and runs again when the gate opens") {
  runtime rt(manual());
  inbox out(rt);
  auto gate = std::make_shared<hand_gate>();
  const pid p = rt.spawn([to = out.self(), gate](context& ctx, message& m) {
    ctx.send(to, m.get<int>());
    if (m.get<int>() == 1) ctx.process().blocked_by = gate;  // as a send to a busy node does
  });
  for (int i = 1; i <= 3; ++i) rt.send(p, i);
  rt.run_until_idle();
  CHECK(out.receive_as<int>(0ms) == 1);
  CHECK_FALSE(out.receive_as<int>(0ms));  // held, with 2 and 3 waiting
  REQUIRE(gate->held.size() == 1);
  rt.send(p, 4);  // a sender does not wake a held process
  rt.run_until_idle();
  CHECK_FALSE(out.receive_as<int>(0ms));
  gate->open = true;
  for (auto& held : std::exchange(gate->held, {})) rt.core().resume(std::move(held));
  rt.run_until_idle();
  for (int i = 2; i <= 4; ++i) CHECK(out.receive_as<int>(0ms) == i);
}
