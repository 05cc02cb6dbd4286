// Process groups and global names across embedded nodes on loopback (real
// links, real membership): convergence after joins, exits and a node's stop,
// publish with one copy per remote node, per-publisher order, names freed
// when their owner ends, and clusterctl's view. Addresses 127.10.N.x.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "cluster/client.hpp"
#include "cluster/global_names.hpp"
#include "cluster/groups.hpp"
#include "cluster/inbox.hpp"
#include "cluster/node.hpp"
#include "integration/process.hpp"

using namespace std::chrono_literals;
using namespace cluster;

namespace {

const std::string cookie = "groups-cookie";

std::unique_ptr<node> start(const std::string& name, std::vector<std::string> join = {}) {
  node_config c;
  c.name = *parse_node_name(name);
  c.cookie = cookie;
  c.membership = membership_config::local();
  for (const auto& j : join) c.join.push_back(*parse_node_name(j));
  auto n = node::start(c);
  REQUIRE(n.ok());
  return std::move(n).value();
}

// Runs `fn` in a process of `n` and hands back what it returns.
template <class Fn>
auto in_process(node& n, Fn fn) {
  using result_type = decltype(fn(std::declval<context&>()));
  inbox box(n.processes());
  const pid reply_to = box.self();
  n.processes().spawn([fn, reply_to](context& ctx) -> task {
    ctx.send(reply_to, fn(ctx));
    co_return;
  });
  auto got = box.receive_as<result_type>(10s);
  REQUIRE(got.has_value());
  return std::move(*got);
}

std::size_t members_seen(node& n, const std::string& group) {
  return in_process(n, [group](context& ctx) { return pg::members(ctx, group); }).size();
}

// A member: joins `group`, counts what it gets, and checks that each
// publisher's sequence numbers ([publisher, n]) come in order.
struct tally {
  std::atomic<std::uint64_t> received{0}, out_of_order{0};
};

behavior group_member(std::string group, std::shared_ptr<tally> t) {
  return [group, t](context& ctx) -> task {
    pg::join(ctx, group, ctx.self());
    std::map<std::int64_t, std::int64_t> last;  // publisher -> last sequence number
    for (;;) {
      auto m = co_await ctx.receive();
      const auto* msg = m.get_if<term>();
      if (!msg) continue;
      if (msg->is<std::string>() && msg->as<std::string>() == "stop") co_return;
      if (const auto* seq = msg->get_if<term_list>(); seq && seq->size() == 2) {
        const auto publisher = (*seq)[0].as<std::int64_t>(), n = (*seq)[1].as<std::int64_t>();
        auto [it, fresh] = last.emplace(publisher, n);
        if (!fresh) {
          if (n != it->second + 1) ++t->out_of_order;
          it->second = n;
        }
      }
      ++t->received;
    }
  };
}

}  // namespace

TEST_CASE("groups converge on every node: joins, a member's exit, a node's stop") {
  auto a = start("a@127.10.1.1");
  auto b = start("b@127.10.1.2", {"a@127.10.1.1"});
  auto c = start("c@127.10.1.3", {"a@127.10.1.1"});
  auto t = std::make_shared<tally>();
  std::vector<pid> on_b;
  for (int i = 0; i < 3; ++i) a->processes().spawn(group_member("workers", t));
  for (int i = 0; i < 2; ++i) on_b.push_back(b->processes().spawn(group_member("workers", t)));
  c->processes().spawn(group_member("workers", t));
  for (auto* n : {a.get(), b.get(), c.get()})
    CHECK(itest::eventually([&] { return members_seen(*n, "workers") == 6; }));
  CHECK(in_process(*b, [](context& ctx) { return pg::local_members(ctx, "workers"); }).size() == 2);
  CHECK(in_process(*c, [](context& ctx) { return pg::which_groups(ctx); }) == std::vector<std::string>{"workers"});

  // A member that ends leaves its groups everywhere.
  b->processes().exit(on_b[0], reason::kill());
  for (auto* n : {a.get(), b.get(), c.get()})
    CHECK(itest::eventually([&] { return members_seen(*n, "workers") == 5; }));

  // A node that stops takes its members with it, everywhere.
  c->stop();
  for (auto* n : {a.get(), b.get()}) CHECK(itest::eventually([&] { return members_seen(*n, "workers") == 4; }, 15s));
}

TEST_CASE("a group monitor hears joins and leaves, from this node and others") {
  auto a = start("a@127.10.2.1");
  auto b = start("b@127.10.2.2", {"a@127.10.2.1"});
  REQUIRE(itest::eventually([&] { return a->nodes().size() == 1; }));
  inbox events(a->processes());
  const pid to = events.self();
  // A process on a watches the group and forwards its events to the inbox.
  a->processes().spawn([to](context& ctx) -> task {
    auto [r, now] = pg::monitor(ctx, "room");
    ctx.send(to, now.size());
    for (;;) {
      auto m = co_await ctx.receive(match_type<group_event>());
      ctx.send(to, std::move(m.get<group_event>()));
    }
  });
  CHECK(events.receive_as<std::size_t>(5s) == std::size_t{0});
  auto t = std::make_shared<tally>();
  const pid remote = b->processes().spawn(group_member("room", t));
  auto joined = events.receive_as<group_event>(10s);
  REQUIRE(joined.has_value());
  CHECK(joined->joined);
  CHECK(joined->pids == std::vector<pid>{remote});
  b->processes().send(remote, term("stop"));
  auto left = events.receive_as<group_event>(10s);
  REQUIRE(left.has_value());
  CHECK_FALSE(left->joined);
  CHECK(left->pids == std::vector<pid>{remote});
}

TEST_CASE("publish to 10,000 members on 3 nodes sends one copy per remote node") {
  auto a = start("a@127.10.3.1");
  auto b = start("b@127.10.3.2", {"a@127.10.3.1"});
  auto c = start("c@127.10.3.3", {"a@127.10.3.1"});
  auto t = std::make_shared<tally>();
  for (int i = 0; i < 10000; ++i) {
    node& n = i % 3 == 0 ? *a : i % 3 == 1 ? *b : *c;
    n.processes().spawn(group_member("all", t));
  }
  for (auto* n : {a.get(), b.get(), c.get()})
    REQUIRE(itest::eventually([&] { return members_seen(*n, "all") == 10000; }, 30s));

  const auto before = a->stats();
  const auto reached = in_process(*a, [](context& ctx) { return pg::publish(ctx, "all", term_list{0, 1}); });
  CHECK(reached == 10000);
  CHECK(itest::eventually([&] { return t->received == 10000; }, 30s));
  const auto after = a->stats();
  CHECK(after.group_publishes - before.group_publishes == 1);
  CHECK(after.group_remote_copies - before.group_remote_copies == 2);
  // One message to each other node, not 6,667 each: the two copies, plus at
  // most the replicas' periodic digests (4 every 2 s) if one falls in between.
  CHECK(after.remote_sent - before.remote_sent <= 2 + 8);
  CHECK(b->stats().group_fanned_out + c->stats().group_fanned_out == 6666);
}

TEST_CASE("1,000,000 publishes from two publishers keep each publisher's order at every member") {
  auto a = start("a@127.10.4.1");
  auto b = start("b@127.10.4.2", {"a@127.10.4.1"});
  auto c = start("c@127.10.4.3", {"a@127.10.4.1"});
  auto t = std::make_shared<tally>();
  a->processes().spawn(group_member("feed", t));
  b->processes().spawn(group_member("feed", t));
  c->processes().spawn(group_member("feed", t));
  for (auto* n : {a.get(), b.get(), c.get()}) REQUIRE(itest::eventually([&] { return members_seen(*n, "feed") == 3; }));

  constexpr std::int64_t each = 500000;
  for (std::int64_t publisher = 0; publisher < 2; ++publisher)
    a->processes().spawn([publisher](context& ctx) -> task {
      for (std::int64_t n = 0; n < each; ++n) {
        pg::publish(ctx, "feed", term_list{publisher, n});
        if (n % 256 == 255) co_await ctx.yield();  // let flow control suspend us if a node is busy
      }
    });
  CHECK(itest::eventually([&] { return t->received == 3 * 2 * each; }, 240s));
  CHECK(t->out_of_order == 0);
  MESSAGE(t->received.load() << " deliveries, " << t->out_of_order.load() << " out of order");
}

TEST_CASE("global names: one owner everywhere, freed when it ends or its node stops") {
  auto a = start("a@127.10.5.1");
  auto b = start("b@127.10.5.2", {"a@127.10.5.1"});
  auto c = start("c@127.10.5.3", {"a@127.10.5.1"});
  for (auto* n : {a.get(), b.get(), c.get()}) REQUIRE(itest::eventually([&] { return n->nodes().size() == 2; }));
  auto holder = [](std::string name) {
    return behavior([name](context& ctx) -> task {
      register_global(ctx, name, ctx.self());
      auto m = co_await ctx.receive();  // until anything comes
      (void)m;
    });
  };
  const pid leader = b->processes().spawn(holder("leader"));
  auto owner_on = [](node& n, const std::string& name) {
    return in_process(n, [name](context& ctx) { return whereis_global(ctx, name); });
  };
  for (auto* n : {a.get(), b.get(), c.get()})
    CHECK(itest::eventually([&] { return owner_on(*n, "leader") == leader; }));
  // Taken: a second claim on another node is refused.
  CHECK_FALSE(in_process(*c, [](context& ctx) { return register_global(ctx, "leader", ctx.self()); }));
  // send_global reaches the owner from any node: it ends on the message.
  CHECK(in_process(*c, [](context& ctx) { return send_global(ctx, "leader", message::make(term("go"))); }));
  for (auto* n : {a.get(), b.get(), c.get()})
    CHECK(itest::eventually([&] { return !owner_on(*n, "leader").has_value(); }));

  // A name whose node stops is freed on the others.
  const pid on_c = c->processes().spawn(holder("reporter"));
  CHECK(itest::eventually([&] { return owner_on(*a, "reporter") == on_c; }));
  c->stop();
  CHECK(itest::eventually([&] { return !owner_on(*a, "reporter").has_value(); }, 15s));
  CHECK(itest::eventually([&] { return !owner_on(*b, "reporter").has_value(); }, 15s));
}

TEST_CASE("claim_global: of two claims made at once on two nodes, exactly one is confirmed") {
  auto a = start("a@127.10.7.1");
  auto b = start("b@127.10.7.2", {"a@127.10.7.1"});
  auto c = start("c@127.10.7.3", {"a@127.10.7.1"});
  for (auto* n : {a.get(), b.get(), c.get()})
    REQUIRE(itest::eventually([&] { return n->nodes().size() == 2 && n->members().size() == 3; }));
  for (int round = 0; round < 10; ++round) {
    const std::string name = "lock" + std::to_string(round);
    inbox results(a->processes());
    for (auto* n : {a.get(), b.get()})
      n->processes().spawn([name, to = results.self()](context& ctx) -> task {
        result<void> out;
        co_await claim_global(ctx, name, ctx.self(), 5000ms, out);
        ctx.send(to, term(out.ok() ? "ok" : std::string(to_string(out.err().code))));
        (void)co_await ctx.receive();  // keeps the name while the test looks
      });
    auto first = results.receive_as<term>(10s), second = results.receive_as<term>(10s);
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    CAPTURE(to_string(*first));
    CAPTURE(to_string(*second));
    CHECK(((*first == term("ok")) != (*second == term("ok"))));  // exactly one
    const auto owner = in_process(*c, [name](context& ctx) { return whereis_global(ctx, name); });
    CHECK(itest::eventually([&] {
      return in_process(*a, [name](context& ctx) { return whereis_global(ctx, name); }) == owner &&
             in_process(*b, [name](context& ctx) { return whereis_global(ctx, name); }) == owner;
    }));
  }
}

TEST_CASE("static quorum: a node left alone releases its global names, tells the callback, and recovers") {
  std::mutex mu;
  std::vector<bool> told;  // guarded by mu; declared before the node, so it outlives it
  node_config ca;
  ca.name = *parse_node_name("a@127.10.8.1");
  ca.cookie = cookie;
  ca.membership = membership_config::local();
  ca.partitions = partition_policy::static_quorum;
  ca.quorum = 2;
  ca.on_quorum_change = [&](bool has_quorum) {
    std::lock_guard lock(mu);
    told.push_back(has_quorum);
  };
  auto a = std::move(node::start(ca)).value();
  auto b = start("b@127.10.8.2", {"a@127.10.8.1"});
  REQUIRE(itest::eventually([&] { return a->members().size() == 2; }));
  inbox owner(a->processes());
  REQUIRE(in_process(*a, [p = owner.self()](context& ctx) { return register_global(ctx, "primary", p); }));

  b.reset();  // a is alone: 1 of the 2 its quorum needs
  auto released = owner.receive_as<term>(15s);
  REQUIRE(released.has_value());
  CHECK(to_string(*released) == "[name_released, \"primary\", \"minority\"]");
  CHECK_FALSE(in_process(*a, [](context& ctx) { return whereis_global(ctx, "primary").has_value(); }));
  CHECK_FALSE(in_process(*a, [p = owner.self()](context& ctx) { return register_global(ctx, "primary", p); }));
  CHECK(a->stats().global_names_released == 1);

  auto b2 = start("b@127.10.8.2", {"a@127.10.8.1"});  // back to two
  CHECK(itest::eventually(
      [&] {
        std::lock_guard lock(mu);
        return told == std::vector<bool>{false, true};
      },
      15s));
  CHECK(in_process(*a, [p = owner.self()](context& ctx) { return register_global(ctx, "primary", p); }));
}

TEST_CASE("clusterctl: registered --global, groups, group") {
  auto a = start("a@127.10.6.1");
  auto b = start("b@127.10.6.2", {"a@127.10.6.1"});
  auto t = std::make_shared<tally>();
  const pid m = b->processes().spawn(group_member("chat", t));
  a->processes().spawn([](context& ctx) -> task {
    register_global(ctx, "boss", ctx.self());
    (void)co_await ctx.receive();
  });
  REQUIRE(itest::eventually([&] { return members_seen(*a, "chat") == 1; }));
  auto ctl = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"--node", "a@127.10.6.1", "--cookie", cookie});
    return itest::clusterctl(args);
  };
  CHECK(itest::eventually([&] {
    return ctl({"--json", "registered", "--global"}).out.find("\"boss\"") != std::string::npos;
  }));
  const auto groups = ctl({"--json", "groups"});
  CHECK_MESSAGE(groups.out == "{\"chat\":1}\n", groups.out);
  const auto members = ctl({"group", "chat"});
  CHECK(members.out == to_string(m) + "\n");
  CHECK(ctl({"group", "nobody"}).out.empty());
}
