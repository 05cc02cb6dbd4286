// Supervisors in a manual-mode runtime: strategies, restart types, restart
// intensity, nesting and orderly shutdown, with time moved by hand.
#include <doctest/doctest.h>

#include <stdexcept>

#include "cluster/inbox.hpp"
#include "cluster/runtime.hpp"
#include "cluster/supervisor.hpp"

using namespace cluster;
using namespace std::chrono_literals;

namespace {

runtime_config manual() {
  runtime_config c;
  c.manual = true;
  c.node = "s@host";
  return c;
}

using journal = std::vector<std::string>;

// A worker that notes its start, crashes on "crash", ends normally on "quit",
// and (if `traps`) notes an orderly stop.
behavior worker(const std::string& name, journal* log, bool traps = false) {
  return [name, log, traps](context& ctx) -> task {
    log->push_back("start " + name);
    ctx.trap_exit(traps);
    for (;;) {
      message m = co_await ctx.receive();
      if (m.is<exit_message>()) {
        log->push_back("stop " + name);
        co_return;
      }
      if (m.get<std::string>() == "crash") throw std::runtime_error(name + " crashed");
      if (m.get<std::string>() == "quit") co_return;
    }
  };
}

// A worker that ignores the request to stop: it must be killed.
behavior stubborn(const std::string& name, journal* log) {
  return [name, log](context& ctx) -> task {
    log->push_back("start " + name);
    ctx.trap_exit(true);
    for (;;) co_await ctx.receive();
  };
}

std::vector<std::pair<std::string, pid>> children(runtime& rt, inbox& in, const pid& sup) {
  rt.send(sup, which_children{in.self()});
  auto reply = in.receive_as<supervisor_children>(0ms);
  return reply ? reply->running : std::vector<std::pair<std::string, pid>>{};
}

pid child(runtime& rt, inbox& in, const pid& sup, const std::string& id) {
  for (const auto& [name, p] : children(rt, in, sup))
    if (name == id) return p;
  return {};
}

}  // namespace

TEST_CASE("one_for_one restarts only the child that crashed") {
  runtime rt(manual());
  inbox in(rt);
  journal log;
  const pid sup = rt.spawn(supervisor({}, {{"a", worker("a", &log)}, {"b", worker("b", &log)}}));
  rt.run_until_idle();
  CHECK(log == journal{"start a", "start b"});
  const pid a = child(rt, in, sup, "a"), b = child(rt, in, sup, "b");
  rt.send(a, std::string("crash"));
  rt.run_until_idle();
  CHECK(log == journal{"start a", "start b", "start a"});
  CHECK(child(rt, in, sup, "a") != a);
  CHECK(child(rt, in, sup, "b") == b);
}

TEST_CASE("one_for_all restarts every child, stopping them last-started first") {
  runtime rt(manual());
  inbox in(rt);
  journal log;
  supervisor_flags f;
  f.strategy = restart_strategy::one_for_all;
  const pid sup = rt.spawn(
      supervisor(f, {{"a", worker("a", &log, true)}, {"b", worker("b", &log, true)}, {"c", worker("c", &log, true)}}));
  rt.run_until_idle();
  rt.send(child(rt, in, sup, "a"), std::string("crash"));
  rt.run_until_idle();
  CHECK(log == journal{"start a", "start b", "start c", "stop c", "stop b", "start a", "start b", "start c"});
}

TEST_CASE("rest_for_one restarts the crashed child and those started after it") {
  runtime rt(manual());
  inbox in(rt);
  journal log;
  supervisor_flags f;
  f.strategy = restart_strategy::rest_for_one;
  const pid sup = rt.spawn(
      supervisor(f, {{"a", worker("a", &log, true)}, {"b", worker("b", &log, true)}, {"c", worker("c", &log, true)}}));
  rt.run_until_idle();
  const pid a = child(rt, in, sup, "a");
  rt.send(child(rt, in, sup, "b"), std::string("crash"));
  rt.run_until_idle();
  CHECK(log == journal{"start a", "start b", "start c", "stop c", "start b", "start c"});
  CHECK(child(rt, in, sup, "a") == a);
}

TEST_CASE("transient children restart only after an abnormal exit; temporary ones never") {
  runtime rt(manual());
  inbox in(rt);
  journal log;
  const pid sup = rt.spawn(supervisor(
      {}, {{"t", worker("t", &log), restart_type::transient}, {"tmp", worker("tmp", &log), restart_type::temporary}}));
  rt.run_until_idle();
  rt.send(child(rt, in, sup, "t"), std::string("crash"));
  rt.run_until_idle();
  CHECK(log == journal{"start t", "start tmp", "start t"});
  rt.send(child(rt, in, sup, "t"), std::string("quit"));
  rt.run_until_idle();
  CHECK(log.size() == 3);  // a normal exit of a transient child is final
  rt.send(child(rt, in, sup, "tmp"), std::string("crash"));
  rt.run_until_idle();
  CHECK(log.size() == 3);
  CHECK(children(rt, in, sup).empty());
}

TEST_CASE("more restarts than the intensity allows shut the supervisor down") {
  runtime rt(manual());
  inbox in(rt);
  journal log;
  supervisor_flags f;
  f.intensity = 3;
  f.period = 5000ms;
  const pid sup = rt.spawn(supervisor(f, {{"a", worker("a", &log)}, {"b", worker("b", &log)}}));
  rt.run_until_idle();
  in.monitor(sup);
  const pid b = child(rt, in, sup, "b");
  for (int i = 0; i < 3; ++i) {
    rt.send(child(rt, in, sup, "a"), std::string("crash"));
    rt.run_until_idle();
  }
  CHECK(rt.alive(sup));
  rt.send(child(rt, in, sup, "a"), std::string("crash"));  // the fourth within the period
  rt.run_until_idle();
  auto down = in.receive_as<down_message>(0ms);
  REQUIRE(down);
  CHECK(reason::is(down->reason, "shutdown"));
  CHECK_FALSE(rt.alive(b));
}

TEST_CASE("restarts spread out over time stay within the intensity") {
  runtime rt(manual());
  inbox in(rt);
  journal log;
  supervisor_flags f;
  f.intensity = 1;
  f.period = 1000ms;
  const pid sup = rt.spawn(supervisor(f, {{"a", worker("a", &log)}}));
  rt.run_until_idle();
  for (int i = 0; i < 5; ++i) {
    rt.send(child(rt, in, sup, "a"), std::string("crash"));
    rt.run_until_idle();
    rt.advance(1500ms);
  }
  CHECK(rt.alive(sup));
  CHECK(log.size() == 6);
}

TEST_CASE("a nested supervisor contains its children's crashes") {
  runtime rt(manual());
  inbox in(rt);
  journal log;
  const pid top = rt.spawn(supervisor({}, {{"w1", worker("w1", &log)},
                                           {"inner", supervisor({}, {{"w2", worker("w2", &log)}}),
                                            restart_type::permanent, std::chrono::milliseconds(60000)}}));
  rt.run_until_idle();
  const pid inner = child(rt, in, top, "inner");
  const pid w1 = child(rt, in, top, "w1");
  rt.send(child(rt, in, inner, "w2"), std::string("crash"));
  rt.run_until_idle();
  CHECK(log == journal{"start w1", "start w2", "start w2"});
  CHECK(child(rt, in, top, "inner") == inner);
  CHECK(child(rt, in, top, "w1") == w1);
}

TEST_CASE("stopping a supervisor stops its children in reverse order, killing those that do not stop in time") {
  runtime rt(manual());
  inbox in(rt);
  journal log;
  const pid sup = rt.spawn(supervisor({}, {{"a", worker("a", &log, true)},
                                           {"stubborn", stubborn("s", &log), restart_type::permanent, 100ms},
                                           {"c", worker("c", &log, true)}}));
  rt.run_until_idle();
  const pid s = child(rt, in, sup, "stubborn");
  in.monitor(sup);
  in.monitor(s);
  rt.exit(sup, reason::shutdown());
  rt.run_until_idle();
  CHECK(log == journal{"start a", "start s", "start c", "stop c"});
  CHECK(rt.alive(s));  // it ignores the request...
  rt.advance(100ms);   // ...until its shutdown time is up
  CHECK(log == journal{"start a", "start s", "start c", "stop c", "stop a"});
  auto first = in.receive_as<down_message>(0ms);
  REQUIRE(first);
  CHECK(first->process == s);
  CHECK(reason::is(first->reason, "killed"));
  auto second = in.receive_as<down_message>(0ms);
  REQUIRE(second);
  CHECK(second->process == sup);
  CHECK(reason::is(second->reason, "shutdown"));
}
