// Five hosts, each a network namespace with its own address, running noded
// through docker/entrypoint.sh as the containers of docker-compose.yml do;
// faults from tests/netns/nscluster (nftables cuts, kill -9, SIGSTOP,
// restarts). Needs root and nftables; skipped (with a message) without them.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/client.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

constexpr int hosts = 5;
const std::set<int> all = {1, 2, 3, 4, 5};

/// Runs a shell command; its standard output, and whether it exited 0.
std::pair<std::string, bool> shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return {"", false};
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  return {out, ::pclose(p) == 0};
}

/// The command that removes the running case's hosts, for the signal handler.
std::string cleanup_command;

/// Whether an assertion of the running test case failed: the harness then
/// prints its nodes' logs before it removes the hosts, so a failure seen
/// once (in CI, say) can be read afterwards. Set by the listener below.
bool case_failed = false;

struct failure_listener : doctest::IReporter {
  explicit failure_listener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { case_failed = false; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& a) override { case_failed = case_failed || a.m_failed; }
  void log_message(const doctest::MessageData& m) override {
    case_failed = case_failed || (m.m_severity & doctest::assertType::is_warn) == 0;  // FAIL, FAIL_CHECK
  }
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("failure_listener", 1, failure_listener);

/// Interrupted (Ctrl-C, a ctest timeout's SIGTERM): remove the hosts first.
extern "C" void clean_up_and_exit(int sig) {
  if (!cleanup_command.empty()) (void)std::system(cleanup_command.c_str());
  std::_Exit(128 + sig);
}

/// The harness for one test case: hosts 1..5 with nodes, removed at the end
/// even when the test fails or is interrupted (and `up` removes whatever an
/// earlier, killed run left).
class ns_cluster {
 public:
  /// `node_args` go to every noded; `before_start` is an nscluster command
  /// run once the hosts are up, before any node starts.
  explicit ns_cluster(std::string prefix, std::string subnet, const std::string& node_args = "",
                      const std::string& before_start = "")
      : prefix_(std::move(prefix)), subnet_(std::move(subnet)) {
    usable_ = ::geteuid() == 0 && shell("command -v nft").second;
    if (!usable_) return;
    cleanup_command = env() + "down >/dev/null 2>&1";
    std::signal(SIGINT, clean_up_and_exit);
    std::signal(SIGTERM, clean_up_and_exit);
    usable_ = run("up " + std::to_string(hosts));
    if (usable_ && !before_start.empty()) usable_ = run(before_start);
    for (int k = 1; usable_ && k <= hosts; ++k) usable_ = run("start " + std::to_string(k) + " " + node_args);
  }
  ~ns_cluster() {
    // An exception (a reply that is not JSON) unwinds us before doctest hears of it.
    if (usable_ && (case_failed || std::uncaught_exceptions() > 0)) print_logs();
    if (::geteuid() == 0) run("down");
    cleanup_command.clear();
  }
  ns_cluster(const ns_cluster&) = delete;
  ns_cluster& operator=(const ns_cluster&) = delete;

  bool usable() const { return usable_; }
  std::string env() const {
    return "NSCLUSTER_PREFIX=" + prefix_ + " NSCLUSTER_SUBNET=" + subnet_ +
           " NODED=" NODED_PATH " CLUSTERCTL=" CLUSTERCTL_PATH " " NSCLUSTER_PATH " ";
  }
  bool run(const std::string& args) const { return shell(env() + args + " >/dev/null 2>&1").second; }
  std::pair<std::string, bool> output(const std::string& args) const { return shell(env() + args + " 2>/dev/null"); }
  std::string name(int k) const { return "node@" + subnet_ + "." + std::to_string(k); }
  std::string cookie() const { return shell("cat /tmp/nscluster-" + prefix_ + "/cookie").first; }
  bool alive(int k) const { return run("alive " + std::to_string(k)); }
  std::string client_namespace() const { return "/var/run/netns/" + prefix_ + "-c"; }

  /// Host k's member table: name -> state ("alive", "suspect", "dead", "left").
  std::map<std::string, std::string> members(int k) const {
    std::map<std::string, std::string> out;
    auto [text, ok] = output("ctl " + std::to_string(k) + " --json members");
    if (!ok) return out;
    try {
      for (const auto& m : json::parse(text)) out[m.at("name")] = m.at("state");
    } catch (const json::exception&) {
    }
    return out;
  }
  /// True if host k sees every host in `alive` alive and every host in `dead` dead.
  bool sees(int k, const std::set<int>& alive, const std::set<int>& dead) const {
    const auto m = members(k);
    for (int a : alive)
      if (auto it = m.find(name(a)); it == m.end() || it->second != "alive") return false;
    for (int d : dead)
      if (auto it = m.find(name(d)); it == m.end() || it->second != "dead") return false;
    return true;
  }
  /// Every host sees every host alive.
  bool converged() const {
    for (int k = 1; k <= hosts; ++k)
      if (!sees(k, all, {})) return false;
    return true;
  }
  /// Host k's view of the global names: name -> owner.
  std::map<std::string, std::string> global_names(int k) const {
    std::map<std::string, std::string> out;
    auto [text, ok] = output("ctl " + std::to_string(k) + " --json registered --global");
    if (!ok) return out;
    try {
      const auto names = json::parse(text);  // held: items() refers into it
      for (const auto& [name, owner] : names.items()) out[name] = owner;
    } catch (const json::exception&) {
    }
    return out;
  }
  /// Starts a long-lived process on host k and registers it globally as
  /// `name`; its pid, or "" if the registration was refused.
  std::string hold_name(int k, const std::string& name) const {
    auto [spawned, ok] = output("ctl " + std::to_string(k) + " --json spawn " + this->name(k) + " sys:sleep 600000");
    if (!ok) return "";
    const std::string p = json::parse(spawned).at("pid");
    const bool registered = run("ctl " + std::to_string(k) + " call " + this->name(k) + " global:register '[\"" + name +
                                "\", {\"pid\": \"" + p + "\"}]'");
    return registered ? p : "";
  }
  /// How many members host k sees in `group`.
  std::size_t group_size(int k, const std::string& group) const {
    auto [text, ok] = output("ctl " + std::to_string(k) + " --json group " + group);
    if (!ok) return 0;
    try {
      return json::parse(text).size();
    } catch (const json::exception&) {
      return 0;
    }
  }
  /// Starts `n` long-lived processes on host k, each a member of `group`.
  bool join_group(int k, const std::string& group, int n) const {
    for (int i = 0; i < n; ++i) {
      auto [spawned, ok] = output("ctl " + std::to_string(k) + " --json spawn " + name(k) + " sys:sleep 600000");
      if (!ok) return false;
      const std::string p = json::parse(spawned).at("pid");
      if (!run("ctl " + std::to_string(k) + " call " + name(k) + " pg:join '[\"" + group + "\", {\"pid\": \"" + p +
               "\"}]'"))
        return false;
    }
    return true;
  }
  /// Members of one side of a healed partition never lost sight of each
  /// other, so none may have seen another die (from their logs): the other
  /// side's verdicts, which reach them at the heal before the accused's
  /// refutations, count as suspicions (docs/MEMBERSHIP.md).
  void check_sides_stayed_whole(const std::vector<std::set<int>>& sides) const {
    for (const auto& side : sides)
      for (int k : side) {
        const std::string log = output("log " + std::to_string(k)).first;
        for (int j : side)
          CHECK_MESSAGE(log.find("member " + name(j) + " down") == std::string::npos, name(k), " saw ", name(j),
                        " die");
      }
  }
  /// The end of every host's node log, on standard error.
  void print_logs() const {
    for (int k = 1; k <= hosts; ++k) {
      const std::string text = output("log " + std::to_string(k) + " | tail -n 80").first;
      std::fprintf(stderr, "---- %s, the last 80 lines of its log ----\n%s", name(k).c_str(), text.c_str());
    }
  }
  std::uint64_t counter(int k, const std::string& which) const {
    auto [text, ok] = output("ctl " + std::to_string(k) + " --json stats");
    if (!ok) return 0;
    try {
      return json::parse(text).at("counters").at(which).get<std::uint64_t>();
    } catch (const json::exception&) {
      return 0;
    }
  }

 private:
  std::string prefix_, subnet_;
  bool usable_ = false;
};

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return condition();
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("a partition splits the cluster in two sides that see each other down, and healing rejoins them") {
  ns_cluster c("lcp", "10.216.1");
  if (!c.usable()) {
    MESSAGE("skipped: needs root, ip netns and nftables");
    return;
  }
  REQUIRE(eventually([&] { return c.sees(1, all, {}) && c.sees(5, all, {}); }, 20s));
  // A process on host 4, watched from host 1 across the coming cut.
  auto [spawned, ok] = c.output("ctl 1 --json spawn " + c.name(4) + " sys:sleep 600000");
  REQUIRE(ok);
  const std::string pid = json::parse(spawned).at("pid");
  const std::string monitor_log = "/tmp/nscluster-lcp/monitor.out";
  REQUIRE(c.run("ctl 1 --json monitor '" + pid + "' --for 60000 > " + monitor_log + " 2>&1 &"));
  std::this_thread::sleep_for(2000ms);  // the monitor is in place (clusterctl may run sanitized: slow to start)

  const auto cut_at = std::chrono::steady_clock::now();
  REQUIRE(c.run("partition 1,2 3,4,5"));
  double side_a = 0, side_b = 0;
  CHECK(eventually(
      [&] {
        if (side_a == 0 && c.sees(1, {1, 2}, {3, 4, 5}) && c.sees(2, {1, 2}, {3, 4, 5})) side_a = seconds_since(cut_at);
        if (side_b == 0 && c.sees(3, {3, 4, 5}, {1, 2}) && c.sees(5, {3, 4, 5}, {1, 2})) side_b = seconds_since(cut_at);
        return side_a > 0 && side_b > 0;
      },
      20s));
  MESSAGE("partition {1,2} | {3,4,5}: the other side was down after ", side_a, " s on {1,2}, ", side_b,
          " s on {3,4,5}");
  // The lan preset: a probe, indirect probes, then a suspicion that shrinks
  // with confirmations; about 1.5 s on either side (docs/OPERATIONS.md). A
  // loose bound: a slow sanitizer build must not fail on timing.
  CHECK(side_a < 5.0);
  CHECK(side_b < 5.0);
  CHECK(eventually([&] { return shell("cat " + monitor_log).first.find("noconnection") != std::string::npos; }, 10s));

  const auto heal_at = std::chrono::steady_clock::now();
  REQUIRE(c.run("heal"));
  CHECK(eventually([&] { return c.converged(); }, 30s));
  MESSAGE("healed: all five alive everywhere after ", seconds_since(heal_at), " s");
  auto [echo, called] = c.output("ctl 1 --json call " + c.name(4) + " sys:echo '\"across\"'");
  CHECK(called);
  CHECK(echo.find("across") != std::string::npos);
  for (int k = 1; k <= hosts; ++k) CHECK(c.run("alive " + std::to_string(k)));
  c.check_sides_stayed_whole({{1, 2}, {3, 4, 5}});
}

TEST_CASE("an asymmetric cut (1 and 2 cannot talk, both reach the rest) declares nobody dead") {
  ns_cluster c("lca", "10.216.2");
  if (!c.usable()) {
    MESSAGE("skipped: needs root, ip netns and nftables");
    return;
  }
  REQUIRE(eventually([&] { return c.converged(); }, 20s));
  REQUIRE(c.run("cut 1 2"));
  // Long enough for many failed direct probes between 1 and 2: the indirect
  // probes through 3, 4 and 5 answer for both.
  std::this_thread::sleep_for(10s);
  std::uint64_t declared = 0, suspicions = 0;
  for (int k = 1; k <= hosts; ++k) {
    declared += c.counter(k, "declared_dead");
    suspicions += c.counter(k, "suspicions");
    CHECK(c.sees(k, all, {}));
  }
  MESSAGE("10 s of an asymmetric cut: ", suspicions, " suspicions, ", declared, " declared dead");
  CHECK(declared == 0);
  // The cut was there: 1 reaches 3 but not 2 (its link to 2 is down).
  CHECK(c.run("ctl 1 ping " + c.name(3)));
  CHECK_FALSE(c.run("ctl 1 ping " + c.name(2)));
}

TEST_CASE("chaos: calls always answer within their timeout, and the cluster converges afterwards") {
  ns_cluster c("lcc", "10.216.3");
  if (!c.usable()) {
    MESSAGE("skipped: needs root, ip netns and nftables");
    return;
  }
  REQUIRE(eventually([&] { return c.converged(); }, 20s));
  const char* env_seconds = std::getenv("CHAOS_SECONDS");
  const auto chaos_for = std::chrono::seconds(env_seconds ? std::atoi(env_seconds) : 60);
  const auto call_timeout = 1000ms;

  // The caller: a client in the client host's namespace (never cut), calling
  // sys:echo round-robin on every node, each call through another node.
  std::atomic<bool> done{false};
  std::map<std::string, int> outcomes;  // by kind; read after join
  std::chrono::milliseconds slowest{0};
  std::string caller_error;
  std::thread caller([&] {
    const int fd = ::open(c.client_namespace().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      caller_error = "cannot enter the client namespace";
      return;
    }
    ::close(fd);
    cluster::client_options o;
    o.cookie = c.cookie();
    o.timeout = call_timeout;
    std::map<int, std::unique_ptr<cluster::client>> entry;
    for (int i = 0; !done.load(); ++i) {
      const int through = i % hosts + 1, target = (i + 1) % hosts + 1;
      const auto start = std::chrono::steady_clock::now();
      std::string kind;
      if (!entry[through]) {
        auto connected = cluster::client::connect(*cluster::parse_node_name(c.name(through)), o);
        if (connected.ok())
          entry[through] = std::move(connected).value();
        else
          kind = "connect:" + std::string(cluster::to_string(connected.err().code));
      }
      if (entry[through]) {
        auto r = entry[through]->call("sys:echo", cluster::term(i), call_timeout, c.name(target));
        if (r.ok()) {
          kind = r.value() == cluster::term(i) ? "ok" : "wrong answer";
        } else {
          kind = std::string(cluster::to_string(r.err().code));
          entry[through].reset();  // start afresh with that node next time
        }
      }
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      slowest = std::max(slowest, took);
      ++outcomes[kind];
    }
  });

  // The chaos: every 1.5 s one random fault or repair, seeded (the seed is
  // printed, so a failure can be replayed).
  const auto seed = static_cast<unsigned>(std::random_device{}());
  MESSAGE("chaos seed ", seed);
  std::mt19937 rng(seed);
  std::set<int> killed, stopped;
  std::map<std::string, int> actions;
  const auto chaos_end = std::chrono::steady_clock::now() + chaos_for;
  while (std::chrono::steady_clock::now() < chaos_end) {
    const int k = static_cast<int>(rng() % hosts) + 1, other = static_cast<int>(rng() % hosts) + 1;
    const std::string host = std::to_string(k);
    switch (rng() % 6) {
      case 0:
        if (killed.size() + stopped.size() < 2 && !killed.count(k) && !stopped.count(k)) {
          c.run("kill " + host);
          killed.insert(k);
          ++actions["kill -9"];
        }
        break;
      case 1:
        if (killed.count(k)) {
          c.run("start " + host);
          killed.erase(k);
          ++actions["restart"];
        }
        break;
      case 2:
        if (killed.size() + stopped.size() < 2 && !killed.count(k) && !stopped.count(k)) {
          c.run("stop " + host);
          stopped.insert(k);
          ++actions["SIGSTOP"];
        } else if (stopped.count(k)) {
          c.run("cont " + host);
          stopped.erase(k);
          ++actions["SIGCONT"];
        }
        break;
      case 3:
        if (k != other) {
          c.run("cut " + host + " " + std::to_string(other));
          ++actions["cut"];
        }
        break;
      case 4:
        c.run("isolate " + host);
        ++actions["isolate"];
        break;
      default:
        c.run("heal");
        ++actions["heal"];
        break;
    }
    std::this_thread::sleep_for(1500ms);
  }
  // Repair everything, then the cluster must converge.
  c.run("heal");
  for (int k : stopped) c.run("cont " + std::to_string(k));
  for (int k : killed) c.run("start " + std::to_string(k));
  const auto repaired_at = std::chrono::steady_clock::now();
  const bool converged = eventually([&] { return c.converged(); }, 60s);
  done.store(true);
  caller.join();
  REQUIRE(caller_error.empty());

  std::string tally, done_actions;
  int total = 0;
  for (const auto& [kind, n] : outcomes) {
    tally += " " + kind + "=" + std::to_string(n);
    total += n;
  }
  for (const auto& [what, n] : actions) done_actions += " " + what + "=" + std::to_string(n);
  MESSAGE("actions:", done_actions);
  MESSAGE(total, " calls:", tally, "; slowest ", slowest.count(), " ms");
  MESSAGE("converged ", seconds_since(repaired_at), " s after the repairs");
  CHECK(converged);
  CHECK(outcomes["ok"] > 0);
  CHECK(outcomes.count("wrong answer") == 0);
  // A call never waits past its timeout (a connect has the same timeout).
  CHECK(slowest <= 2 * call_timeout + 500ms);
  for (int k = 1; k <= hosts; ++k) {
    const bool alive = c.run("alive " + std::to_string(k));
    if (!alive) MESSAGE("node ", k, "'s log ends:\n", c.output("log " + std::to_string(k) + " | tail -40").first);
    CHECK_MESSAGE(alive, "node ", k, " crashed");
  }
}

TEST_CASE("a global name claimed on both sides of a partition has one owner on every node after the heal") {
  ns_cluster c("lcg", "10.216.4");
  if (!c.usable()) {
    MESSAGE("skipped: needs root, ip netns and nftables");
    return;
  }
  REQUIRE(eventually([&] { return c.converged(); }, 30s));
  REQUIRE(c.run("partition 1,2 3,4,5"));
  REQUIRE(eventually([&] { return c.sees(1, {1, 2}, {3, 4, 5}) && c.sees(4, {3, 4, 5}, {1, 2}); }, 20s));
  // keep-running (the default): each side takes the name.
  const std::string majority = c.hold_name(4, "leader");
  std::this_thread::sleep_for(20ms);  // a later claim time on the minority side
  const std::string minority = c.hold_name(1, "leader");
  REQUIRE_FALSE(majority.empty());
  REQUIRE_FALSE(minority.empty());
  CHECK(eventually([&] { return c.global_names(2)["leader"] == minority && c.global_names(5)["leader"] == majority; },
                   10s));

  REQUIRE(c.run("heal"));
  REQUIRE(eventually([&] { return c.converged(); }, 30s));
  // The earlier claim (host 4's) wins on all five; host 1 withdrew its claim.
  CHECK(eventually(
      [&] {
        for (int k = 1; k <= hosts; ++k)
          if (c.global_names(k) != std::map<std::string, std::string>{{"leader", majority}}) return false;
        return true;
      },
      20s));
  CHECK(c.counter(1, "global_name_conflicts") == 1);
  CHECK(c.counter(4, "global_name_conflicts") == 0);
}

TEST_CASE("keep-majority: the minority side releases its global names, and the cluster re-merges after the heal") {
  ns_cluster c("lcq", "10.216.5", "--partition-policy keep-majority");
  if (!c.usable()) {
    MESSAGE("skipped: needs root, ip netns and nftables");
    return;
  }
  REQUIRE(eventually([&] { return c.converged(); }, 30s));
  const std::string on_1 = c.hold_name(1, "scheduler"), on_4 = c.hold_name(4, "cache");
  REQUIRE_FALSE(on_1.empty());
  REQUIRE_FALSE(on_4.empty());
  REQUIRE(eventually([&] { return c.global_names(3).size() == 2; }, 10s));

  REQUIRE(c.run("partition 1,2 3,4,5"));
  REQUIRE(eventually([&] { return c.sees(1, {1, 2}, {3, 4, 5}) && c.sees(4, {3, 4, 5}, {1, 2}); }, 20s));
  // Minority {1,2}: its own name released, none taken while it lasts.
  CHECK(eventually([&] { return c.global_names(1).empty() && c.global_names(2).empty(); }, 10s));
  CHECK(c.counter(1, "global_names_released") == 1);
  CHECK(c.hold_name(2, "scheduler").empty());
  // Majority {3,4,5}: keeps its own, and may take the released one.
  CHECK(c.global_names(5) == std::map<std::string, std::string>{{"cache", on_4}});
  const std::string on_3 = c.hold_name(3, "scheduler");
  CHECK_FALSE(on_3.empty());

  REQUIRE(c.run("heal"));
  REQUIRE(eventually([&] { return c.converged(); }, 30s));
  const std::map<std::string, std::string> expected{{"cache", on_4}, {"scheduler", on_3}};
  CHECK(eventually(
      [&] {
        for (int k = 1; k <= hosts; ++k)
          if (c.global_names(k) != expected) return false;
        return true;
      },
      20s));
  CHECK_FALSE(c.hold_name(2, "other").empty());  // registrations work again on the healed side
  c.check_sides_stayed_whole({{1, 2}, {3, 4, 5}});
}

TEST_CASE("group membership converges after a partition heals and after a node is killed") {
  ns_cluster c("lcr", "10.216.6");
  if (!c.usable()) {
    MESSAGE("skipped: needs root, ip netns and nftables");
    return;
  }
  REQUIRE(eventually([&] { return c.converged(); }, 30s));
  for (int k = 1; k <= hosts; ++k) REQUIRE(c.join_group(k, "workers", 2));
  auto everywhere = [&](std::size_t n) {
    for (int k = 1; k <= hosts; ++k)
      if (c.alive(k) && c.group_size(k, "workers") != n) return false;
    return true;
  };
  CHECK(eventually([&] { return everywhere(10); }, 10s));

  // Each side of a partition keeps the members it can see, and takes new ones.
  REQUIRE(c.run("partition 1,2 3,4,5"));
  CHECK(eventually([&] { return c.group_size(1, "workers") == 4 && c.group_size(4, "workers") == 6; }, 20s));
  REQUIRE(c.join_group(2, "workers", 1));
  REQUIRE(c.join_group(5, "workers", 1));
  CHECK(eventually([&] { return c.group_size(1, "workers") == 5 && c.group_size(3, "workers") == 7; }, 10s));
  REQUIRE(c.run("heal"));
  REQUIRE(eventually([&] { return c.converged(); }, 30s));
  CHECK(eventually([&] { return everywhere(12); }, 20s));

  // A node killed takes its members with it, on every node.
  REQUIRE(c.run("kill 3"));
  CHECK(eventually([&] { return everywhere(10); }, 20s));
}

// The direct lane behind a firewall: every node's dist port is closed, so
// every direct dial goes unanswered. Each link falls back to the ZeroMQ
// first contact once its direct dial has timed out, and carries calls.
TEST_CASE("with every dist port firewalled, node links fall back to ZeroMQ and carry calls") {
  ns_cluster c("lcf", "10.216.7", "--dist-port 47999", "close-port 47999");
  if (!c.usable()) {
    MESSAGE("skipped: needs root, ip netns and nftables");
    return;
  }
  REQUIRE(eventually([&] { return c.converged(); }, 20s));
  for (int k = 2; k <= hosts; ++k) {
    CAPTURE(k);
    CHECK(
        eventually([&] { return c.output("ctl 1 --json call " + c.name(k) + " sys:echo '\"walled\"'").second; }, 30s));
  }
  std::uint64_t failed = 0, direct = 0;
  for (int k = 1; k <= hosts; ++k) {
    failed += c.counter(k, "direct_dials_failed");
    direct += c.counter(k, "direct_links");
  }
  MESSAGE("direct dials that timed out: ", failed);
  CHECK(failed >= 4);  // at least host 1's four links each tried once
  CHECK(direct == 0);
}
