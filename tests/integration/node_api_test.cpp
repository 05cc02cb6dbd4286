// The embedded-node API in one process: two cluster::node instances on
// loopback, queried from the test thread while their I/O threads run (the
// cross-thread paths TSan checks), and the light client against them.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "cluster/client.hpp"
#include "cluster/inbox.hpp"
#include "cluster/node.hpp"
#include "integration/process.hpp"

using namespace std::chrono_literals;
using namespace cluster;

namespace {

node_config config(const std::string& name, std::vector<std::string> join = {}) {
  node_config c;
  c.name = *parse_node_name(name);
  c.cookie = "api-cookie";
  for (const auto& j : join) c.join.push_back(*parse_node_name(j));
  return c;
}

}  // namespace

TEST_CASE("two embedded nodes link up, report events, and answer from any thread") {
  std::mutex mu;
  std::vector<std::string> events;  // guarded by mu; declared first, so it outlives the nodes
  auto a = node::start(config("a@127.2.1.1"));
  REQUIRE(a.ok());
  (*a)->subscribe([&](const node_event& e) {
    std::lock_guard lock(mu);
    events.push_back(std::string(to_string(e.what)) + " " + e.node.name);
  });

  auto b = node::start(config("b@127.2.1.2", {"a@127.2.1.1"}));
  REQUIRE(b.ok());
  CHECK(itest::eventually([&] { return (*a)->nodes().size() == 1 && (*b)->nodes().size() == 1; }));

  // Hammer the query API from two threads while the I/O threads work.
  std::atomic<int> answered{0};
  auto query = [&] {
    for (int i = 0; i < 200; ++i) {
      answered += static_cast<int>((*a)->info().node_count);
      (void)(*b)->stats();
    }
  };
  std::thread t1(query), t2(query);
  t1.join();
  t2.join();
  CHECK(answered == 400);

  const node_info info = (*b)->info();
  CHECK(info.name == "b@127.2.1.2");
  CHECK(info.creation == (*b)->creation());
  CHECK(info.node_count == 1);
  CHECK(info.dist_port != 0);  // node_config::dist_port 0: a free port, chosen at start

  client_options o;
  o.cookie = "api-cookie";
  auto c = client::connect(*parse_node_name("a@127.2.1.1"), o);
  REQUIRE(c.ok());
  CHECK((*c)->node() == "a@127.2.1.1");
  auto remote_info = (*c)->info();
  REQUIRE(remote_info.ok());
  CHECK(remote_info->dist_port == (*a)->info().dist_port);
  auto nodes = (*c)->nodes();
  REQUIRE(nodes.ok());
  REQUIRE(nodes->size() == 1);
  CHECK((*nodes)[0].name == "b@127.2.1.2");
  CHECK((*nodes)[0].creation == (*b)->creation());

  (*b)->stop();
  CHECK(itest::eventually([&] { return (*a)->nodes().empty(); }));
  // A graceful stop is a leave, not a failure.
  CHECK(itest::eventually([&] {
    std::lock_guard lock(mu);
    return events == std::vector<std::string>{"up b@127.2.1.2", "left b@127.2.1.2"};
  }));
}

TEST_CASE("starting a node reports configuration errors as values") {
  auto empty_cookie = config("a@127.2.2.1");
  empty_cookie.cookie.clear();
  auto r1 = node::start(empty_cookie);
  REQUIRE_FALSE(r1.ok());
  CHECK(r1.err().code == errc::bad_argument);

  auto r2 = node::start(config("a@no-such-host.invalid"));
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.err().code == errc::unknown_node);

  auto first = node::start(config("a@127.2.2.2"));
  REQUIRE(first.ok());
  auto clash = node::start(config("b@127.2.2.2"));
  REQUIRE_FALSE(clash.ok());
  CHECK(clash.err().code == errc::io_error);

  auto bad_discovery = config("a@127.2.2.3");
  bad_discovery.discover = {"dns:"};
  auto r3 = node::start(bad_discovery);
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.err().code == errc::bad_argument);
}

TEST_CASE("members carry tags; a tag change is an updated event; members() lists every state") {
  std::mutex mu;
  std::vector<node_event> events;  // guarded by mu; declared first, so it outlives the nodes
  auto cfg_a = config("a@127.2.4.1");
  cfg_a.membership = membership_config::local();
  auto a = node::start(cfg_a);
  REQUIRE(a.ok());
  (*a)->subscribe([&](const node_event& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  });
  auto cfg_b = config("b@127.2.4.2", {"a@127.2.4.1"});
  cfg_b.membership = membership_config::local();
  cfg_b.tags = {{"role", "db"}};
  auto b = node::start(cfg_b);
  REQUIRE(b.ok());
  REQUIRE(itest::eventually([&] {
    std::lock_guard lock(mu);
    return !events.empty();
  }));
  {
    std::lock_guard lock(mu);
    CHECK(events[0].what == node_event::kind::up);
    CHECK(events[0].tags == std::map<std::string, std::string>{{"role", "db"}});
    CHECK(events[0].reporter == "b@127.2.4.2");
  }
  (*b)->set_tags({{"role", "cache"}});
  CHECK(itest::eventually([&] {
    std::lock_guard lock(mu);
    return events.size() == 2 && events[1].what == node_event::kind::updated && events[1].tags.at("role") == "cache";
  }));
  const auto members = (*a)->members();
  REQUIRE(members.size() == 2);
  CHECK(members[0].name == "a@127.2.4.1");
  CHECK(members[0].reason == "this node");
  CHECK(members[1].name == "b@127.2.4.2");
  CHECK(members[1].state == member_state::alive);
  CHECK(members[1].tags.at("role") == "cache");
}

TEST_CASE("a client sees a node's departure as a clear error, not a hang") {
  auto a = node::start(config("a@127.2.3.1"));
  REQUIRE(a.ok());
  client_options o;
  o.cookie = "api-cookie";
  o.timeout = 1000ms;
  auto c = client::connect(*parse_node_name("a@127.2.3.1"), o);
  REQUIRE(c.ok());
  REQUIRE((*c)->ping().ok());
  (*a)->stop();
  auto after = (*c)->nodes();
  REQUIRE_FALSE(after.ok());
  CHECK((after.err().code == errc::shutting_down || after.err().code == errc::no_connection ||
         after.err().code == errc::timeout));
}

TEST_CASE("a client lists processes and names, sends to NAME@NODE, and monitors a process to its end") {
  auto a = node::start(config("a@127.2.5.1"));
  REQUIRE(a.ok());
  auto b = node::start(config("b@127.2.5.2", {"a@127.2.5.1"}));
  REQUIRE(b.ok());
  REQUIRE(itest::eventually([&] { return (*a)->nodes().size() == 1 && (*b)->nodes().size() == 1; }));

  // A registered process on b that reports what it receives to an inbox.
  inbox out((*b)->processes());
  const pid reporter = out.self();
  const pid db = (*b)->processes().spawn(behavior([reporter](context& ctx) -> task {
                                           ctx.register_name("db");
                                           auto m = co_await ctx.receive();
                                           ctx.send(reporter, *m.get_if<term>());
                                         }).labelled("test:db"));
  REQUIRE(itest::eventually([&] { return (*b)->processes().whereis("db").has_value(); }));

  client_options o;
  o.cookie = "api-cookie";
  auto c = client::connect(*parse_node_name("a@127.2.5.1"), o);
  REQUIRE(c.ok());
  auto cb = client::connect(*parse_node_name("b@127.2.5.2"), o);
  REQUIRE(cb.ok());
  auto names = (*cb)->registered();
  REQUIRE(names.ok());
  // Besides the node's own services (cluster.global, cluster.pg.pg).
  std::erase_if(*names, [](const auto& n) { return n.first.starts_with("cluster."); });
  REQUIRE(names->size() == 1);
  CHECK((*names)[0] == std::pair<std::string, pid>{"db", db});
  auto procs = (*cb)->processes("name", 0);
  REQUIRE(procs.ok());
  CHECK(procs->total >= 2);
  CHECK(procs->processes[0].name == "db");  // "name" sorts named ones first
  CHECK(procs->processes[0].function == "test:db");

  // a monitors db for one client, while another sends to the name on b
  // through a; db reports the message and ends normally.
  result<term> reason = error{errc::timeout, "not yet"};
  std::thread watching([&] { reason = (*c)->monitor(db, 10000ms); });
  std::this_thread::sleep_for(300ms);  // let the monitor be set up first
  auto c2 = client::connect(*parse_node_name("a@127.2.5.1"), o);
  REQUIRE(c2.ok());
  // A node is named as in its PIDs: a port, or no name at all, is refused.
  for (const std::string node : {"b@127.2.5.2:4370", "nobody"}) {
    const auto refused = (*c2)->send("db", node, term("x"));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.err().code == errc::bad_argument);
  }
  REQUIRE((*c2)->send("db", "b@127.2.5.2", term("hello")).ok());
  CHECK(out.receive_as<term>(5s) == term("hello"));
  watching.join();
  REQUIRE(reason.ok());
  CHECK(reason::is(*reason, "normal"));
  // A process that never existed: noproc at once.
  auto never = (*c)->monitor(pid{"b@127.2.5.2", (*b)->creation(), 999999}, 5000ms);
  REQUIRE(never.ok());
  CHECK(reason::is(*never, "noproc"));
}
