// Membership with real noded processes on loopback: failure detection after
// kill -9 and SIGSTOP, refutation after SIGCONT, graceful leave, a late seed,
// another cookie, tags, and `clusterctl members` / `watch`. Each case has its
// own 127.5.N.x addresses. Timings are not asserted here (bench/ measures
// them); the deadlines below are generous bounds against hanging.
#include <doctest/doctest.h>

#include <map>
#include <optional>

#include "cluster/client.hpp"
#include "integration/process.hpp"

using namespace std::chrono_literals;
using itest::clusterctl;
using itest::eventually;
using itest::noded;

namespace {

const std::string cookie = "itest-cookie";

/// `node`'s member table, or nothing if it could not be asked (so that an
/// unreachable node never passes for one that knows nobody).
std::optional<std::vector<cluster::member>> members_of(const std::string& node) {
  cluster::client_options o;
  o.cookie = cookie;
  o.timeout = 2000ms;
  auto c = cluster::client::connect(*cluster::parse_node_name(node), o);
  if (!c) return std::nullopt;
  auto members = (*c)->members();
  if (!members) return std::nullopt;
  return *members;
}

/// name -> state as `node` sees it.
std::optional<std::map<std::string, std::string>> view_of(const std::string& node) {
  auto members = members_of(node);
  if (!members) return std::nullopt;
  std::map<std::string, std::string> out;
  for (const auto& m : *members) out[m.name] = std::string(to_string(m.state));
  return out;
}

std::optional<cluster::member> member_seen_by(const std::string& node, const std::string& name) {
  if (auto members = members_of(node))
    for (const auto& m : *members)
      if (m.name == name) return m;
  return std::nullopt;
}

bool sees(const std::string& node, const std::string& name, const std::string& state) {
  auto v = view_of(node);
  return v && v->contains(name) && v->at(name) == state;
}

/// Every node in `names` sees every one of them alive.
bool converged(const std::vector<std::string>& names) {
  for (const auto& n : names)
    for (const auto& m : names)
      if (!sees(n, m, "alive")) return false;
  return true;
}

std::vector<std::string> names_of(int net, int count) {
  std::vector<std::string> out;
  for (int i = 1; i <= count; ++i)
    out.push_back("n" + std::to_string(i) + "@127.5." + std::to_string(net) + "." + std::to_string(i));
  return out;
}

/// Starts `count` nodes on 127.5.net.x, all joining through the first.
std::vector<std::unique_ptr<noded>> start_cluster(int net, int count, std::vector<std::string> extra = {}) {
  const auto names = names_of(net, count);
  std::vector<std::unique_ptr<noded>> nodes;
  for (const auto& n : names) {
    auto args = extra;
    if (n != names[0]) {
      args.push_back("--join");
      args.push_back(names[0]);
    }
    nodes.push_back(std::make_unique<noded>(n, args));
  }
  return nodes;
}

}  // namespace

TEST_CASE("five nodes: one killed with -9 is seen dead by every other") {
  const auto names = names_of(1, 5);
  auto nodes = start_cluster(1, 5);
  REQUIRE(eventually([&] { return converged(names); }, 20s));
  nodes[2]->kill9();
  CHECK(eventually(
      [&] {
        for (int i : {0, 1, 3, 4})
          if (!sees(names[i], names[2], "dead")) return false;
        return true;
      },
      10s));
  const auto m = member_seen_by(names[0], names[2]);
  REQUIRE(m);
  CHECK(!m->reason.empty());
  CHECK(!m->reporter.empty());
}

TEST_CASE("a frozen node (SIGSTOP) is declared dead; thawed (SIGCONT) it refutes and is alive again") {
  const auto names = names_of(2, 5);
  auto nodes = start_cluster(2, 5);
  REQUIRE(eventually([&] { return converged(names); }, 20s));
  const auto before = member_seen_by(names[0], names[3]);
  REQUIRE(before);
  nodes[3]->signal(SIGSTOP);
  CHECK(eventually(
      [&] {
        for (int i : {0, 1, 2, 4})
          if (!sees(names[i], names[3], "dead")) return false;
        return true;
      },
      10s));
  nodes[3]->signal(SIGCONT);
  CHECK(eventually([&] { return converged(names); }, 20s));
  const auto after = member_seen_by(names[0], names[3]);
  REQUIRE(after);
  CHECK(after->incarnation > before->incarnation);  // it outranked the verdict
  CHECK(after->creation == before->creation);       // the same process
}

TEST_CASE("SIGTERM is a graceful leave: the others record left, not a failure") {
  const auto names = names_of(3, 3);
  auto nodes = start_cluster(3, 3);
  REQUIRE(eventually([&] { return converged(names); }, 20s));
  CHECK(nodes[1]->terminate() == 0);
  CHECK(eventually([&] { return sees(names[0], names[1], "left") && sees(names[2], names[1], "left"); }, 10s));
  const auto m = member_seen_by(names[0], names[1]);
  REQUIRE(m);
  CHECK(m->reason == "left the cluster");
}

TEST_CASE("a seed started after the others is joined when it appears, and a restart is readmitted") {
  const auto names = names_of(4, 3);
  auto n2 = std::make_unique<noded>(names[1], std::vector<std::string>{"--join", names[0]});
  auto n3 = std::make_unique<noded>(names[2], std::vector<std::string>{"--join", names[0]});
  REQUIRE(eventually([&] { return view_of(names[1]).has_value(); }));
  CHECK(view_of(names[1])->size() == 1);  // alone, still asking
  auto n1 = std::make_unique<noded>(names[0], std::vector<std::string>{});
  CHECK(eventually([&] { return converged(names); }, 20s));

  // Restart n3: a new creation replaces the old entry everywhere.
  const auto old = member_seen_by(names[0], names[2]);
  REQUIRE(old);
  n3->kill9();
  n3 = std::make_unique<noded>(names[2], std::vector<std::string>{"--join", names[0]});
  CHECK(eventually(
      [&] {
        const auto now = member_seen_by(names[0], names[2]);
        const auto seen_by_n2 = member_seen_by(names[1], names[2]);
        return now && seen_by_n2 && now->creation != old->creation && seen_by_n2->creation == now->creation &&
               now->state == cluster::member_state::alive && seen_by_n2->state == cluster::member_state::alive;
      },
      20s));
}

TEST_CASE("a node with another cookie is kept out: its datagrams are dropped, counted and logged") {
  noded n1("n1@127.5.5.1", {});
  REQUIRE(eventually([&] { return view_of("n1@127.5.5.1").has_value(); }));
  noded evil("evil@127.5.5.2", {"--join", "n1@127.5.5.1"}, "another-cookie");
  CHECK(eventually([&] { return n1.log().find("do not open with our cookie") != std::string::npos; }));
  CHECK(view_of("n1@127.5.5.1")->size() == 1);
}

TEST_CASE("clusterctl members shows tags and reasons; watch streams changes until stopped") {
  const auto names = names_of(6, 4);  // the fourth joins once watch is running
  noded n1(names[0], {"--tag", "role=db", "--tag", "zone=a"});
  noded n2(names[1], {"--join", names[0]});
  auto n3 = std::make_unique<noded>(names[2], std::vector<std::string>{"--join", names[0]});
  REQUIRE(eventually([&] { return converged({names[0], names[1], names[2]}); }, 20s));

  auto json = clusterctl({"--node", names[1], "--cookie", cookie, "--json", "members"});
  REQUIRE(json.code == 0);
  CHECK(json.out.find(R"("tags":{"role":"db","zone":"a"})") != std::string::npos);
  CHECK(json.out.find(R"("state":"alive")") != std::string::npos);
  auto table = clusterctl({"--node", names[1], "--cookie", cookie, "members"});
  REQUIRE(table.code == 0);
  CHECK(table.out.find("role=db,zone=a") != std::string::npos);
  CHECK(table.out.find("INCARNATION") != std::string::npos);

  // watch: started in the background, it prints n3's failure as it happens.
  const std::string log = itest::temp_dir() + "/watch.out";
  const pid_t watcher =
      itest::spawn({CLUSTERCTL_PATH, "--node", names[0], "--cookie", cookie, "watch", "--for", "30000"}, log);
  REQUIRE(itest::watch_subscribed(names[3], names[0],
                                  [&] { return itest::read_file(log).find(names[3]) != std::string::npos; }));
  n3->kill9();
  CHECK(eventually([&] { return itest::read_file(log).find("down  " + names[2]) != std::string::npos; }, 10s));
  ::kill(watcher, SIGINT);
  CHECK(itest::wait_exit(watcher, 20000ms) == 0);

  auto bad = clusterctl({"--node", names[0], "--cookie", cookie, "watch", "--for", "-5"});
  CHECK(bad.code == 2);
}

TEST_CASE("noded refuses bad membership flags with a clear message") {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--tag", "novalue"},
                                             {"--discover", "carrier-pigeon"},
                                             {"--preset", "moon"},
                                             {"--probe-interval", "100", "--probe-timeout", "200"}}) {
    noded bad("x@127.5.7.1", args);
    CHECK(bad.wait() == 2);
  }
}

TEST_CASE("--discover dns:NAME:PORT finds seeds by resolving a name, again and again") {
  // localhost resolves to 127.0.0.1 (and ::1, which an IPv4 node skips).
  noded seed("d1@127.0.0.1:47311", {});
  noded joiner("d2@127.5.8.2", {"--discover", "dns:localhost:47311"});
  CHECK(eventually([&] { return sees("d2@127.5.8.2", "d1@127.0.0.1", "alive"); }, 20s));
  CHECK(eventually([&] { return sees("d1@127.0.0.1:47311", "d2@127.5.8.2", "alive"); }, 20s));
}

namespace {

// Runs a shell command; true if it exited 0.
bool sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// Two network namespaces joined by a veth pair: a LAN of two hosts.
struct two_host_lan {
  bool ok = false;
  two_host_lan() {
    down();
    ok = geteuid() == 0 && sh("ip netns add lcm1") && sh("ip netns add lcm2") &&
         sh("ip link add lcm-a netns lcm1 type veth peer name lcm-b netns lcm2") &&
         sh("ip -n lcm1 addr add 10.213.0.1/24 dev lcm-a") && sh("ip -n lcm2 addr add 10.213.0.2/24 dev lcm-b") &&
         sh("ip -n lcm1 link set lcm-a up") && sh("ip -n lcm2 link set lcm-b up") && sh("ip -n lcm1 link set lo up") &&
         sh("ip -n lcm2 link set lo up");
  }
  ~two_host_lan() { down(); }
  static void down() {
    sh("ip netns del lcm1");
    sh("ip netns del lcm2");
  }
};

pid_t noded_in(const std::string& ns, const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {"/usr/sbin/ip", "netns", "exec", ns, NODED_PATH, "--cookie", cookie};
  if (::access(argv[0].c_str(), X_OK) != 0) argv[0] = "/sbin/ip";
  argv.insert(argv.end(), args.begin(), args.end());
  return itest::spawn(argv, log);
}

}  // namespace

TEST_CASE("--discover multicast: two hosts on a LAN find each other with no seed") {
  two_host_lan lan;
  if (!lan.ok) {
    MESSAGE("skipped: needs root and ip netns");
    return;
  }
  const std::string dir = itest::temp_dir();
  const pid_t a = noded_in("lcm1", {"--name", "m1@10.213.0.1", "--discover", "multicast"}, dir + "/m1.log");
  const pid_t b = noded_in("lcm2", {"--name", "m2@10.213.0.2", "--discover", "multicast"}, dir + "/m2.log");
  const auto both_alive = [&](const std::string& ns, const std::string& node) {
    const std::string out = dir + "/members-" + ns + ".json";
    const bool asked = std::system(("ip netns exec " + ns + " " + CLUSTERCTL_PATH + " --node " + node + " --cookie " +
                                    cookie + " --json members > " + out + " 2>/dev/null")
                                       .c_str()) == 0;
    const auto text = itest::read_file(out);
    return asked && text.find("\"name\":\"m1@10.213.0.1\"") != std::string::npos &&
           text.find("\"name\":\"m2@10.213.0.2\"") != std::string::npos &&
           text.find("\"state\":\"dead\"") == std::string::npos;
  };
  CHECK(eventually([&] { return both_alive("lcm1", "m1@10.213.0.1") && both_alive("lcm2", "m2@10.213.0.2"); }, 20s));
  ::kill(a, SIGTERM);
  ::kill(b, SIGTERM);
  CHECK(itest::wait_exit(a) == 0);
  CHECK(itest::wait_exit(b) == 0);
}
