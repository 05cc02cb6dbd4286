// Processes on one node: a coroutine with selective receive, an event-driven
// counter under a supervisor, and a crash that the supervisor repairs.
#include <cstdio>
#include <stdexcept>

#include <cluster/inbox.hpp>
#include <cluster/runtime.hpp>
#include <cluster/supervisor.hpp>

using namespace cluster;
using namespace std::chrono_literals;

struct add {
  int n;
};
struct get {
  pid reply_to;
};

int main() {
  runtime rt;
  inbox me(rt);

  // A counter that crashes on a negative number; its supervisor restarts it
  // (with a fresh total: state lives in the process).
  behavior counter = [](context& ctx) -> task {
    ctx.register_name("counter");
    int total = 0;
    for (;;) {
      message m = co_await ctx.receive();
      if (auto* a = m.get_if<add>()) {
        if (a->n < 0) throw std::runtime_error("negative input");
        total += a->n;
      } else if (auto* g = m.get_if<get>()) {
        ctx.send(g->reply_to, total);
      }
    }
  };
  rt.spawn(supervisor({}, {{"counter", counter}}));

  // A coroutine that waits for a greeting, ignoring everything else, for 1 s.
  const pid greeter = rt.spawn([to = me.self()](context& ctx) -> task {
    auto hello = co_await ctx.receive(match_type<std::string>(), 1s);
    ctx.send(to, hello ? "got: " + hello->get<std::string>() : std::string("nobody said hello"));
  });
  rt.send(greeter, 42);  // skipped by the selective receive
  rt.send(greeter, std::string("hello"));
  std::printf("%s\n", me.receive_as<std::string>(1s).value_or("?").c_str());

  auto counter_pid = [&] {
    for (int i = 0; i < 100; ++i) {
      if (auto p = rt.whereis("counter")) return *p;
      (void)me.receive(1ms);
    }
    return pid{};
  };
  rt.send(counter_pid(), add{2});
  rt.send(counter_pid(), add{3});
  rt.send(counter_pid(), get{me.self()});
  std::printf("total: %d\n", me.receive_as<int>(1s).value_or(-1));
  rt.send(counter_pid(), add{-1});  // crashes; the supervisor starts a fresh one
  (void)me.receive(50ms);
  rt.send(counter_pid(), get{me.self()});
  std::printf("total after the restart: %d\n", me.receive_as<int>(1s).value_or(-1));
  return 0;
}
