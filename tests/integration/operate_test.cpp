// Operating a cluster with clusterctl against real noded processes: stats,
// why, leave, stop, and the Prometheus endpoint. Addresses 127.7.N.x.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <algorithm>
#include <fstream>
#include <memory>

#include "integration/process.hpp"

using namespace std::chrono_literals;
using itest::clusterctl;
using itest::eventually;
using itest::noded;

namespace {

const std::string cookie = "itest-cookie";

itest::run_result ctl(const std::string& node, std::vector<std::string> args) {
  std::vector<std::string> all = {"--node", node, "--cookie", cookie};
  all.insert(all.end(), args.begin(), args.end());
  return clusterctl(all);
}

// JSON keys come sorted, so a member's "state" follows its "name" and comes
// before the first '}' (that of its "tags").
bool member_state_is(const std::string& node, const std::string& member, const std::string& state) {
  const auto r = ctl(node, {"--json", "members"});
  const auto at = r.out.find("\"name\":\"" + member + "\"");
  if (r.code != 0 || at == std::string::npos) return false;
  return r.out.substr(at, r.out.find('}', at) - at).find("\"state\":\"" + state + "\"") != std::string::npos;
}

/// GET `path` from host:port with a bare socket; the whole response, or "".
std::string http_get(const std::string& host, std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
    (void)::send(fd, req.data(), req.size(), 0);
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("stats, why, leave and stop from clusterctl; metrics over HTTP") {
  const std::string n1 = "n1@127.7.1.1", n2 = "n2@127.7.1.2", n3 = "n3@127.7.1.3";
  noded a(n1, {"--metrics-port", "9464"});
  noded b(n2, {"--join", n1});
  noded c(n3, {"--join", n1});
  REQUIRE(eventually(
      [&] {
        const auto r = ctl(n1, {"--json", "stats"});
        return r.code == 0 && r.out.find(n2) != std::string::npos && r.out.find(n3) != std::string::npos;
      },
      20s));

  // A call through n1 to a target written with its port, then stats shows it.
  REQUIRE(ctl(n1, {"call", n2 + ":4370", "sys:echo", "[1, 2]"}).out == "[1,2]\n");
  auto stats = ctl(n1, {"--json", "stats"});
  CHECK(stats.code == 0);
  CHECK(stats.out.find("\"counters\":{") != std::string::npos);
  CHECK(stats.out.find("\"node\":\"" + n2 + "\"") != std::string::npos);
  CHECK(stats.out.find("\"call_latency\":{") != std::string::npos);
  auto table = ctl(n1, {"stats"});
  CHECK(table.code == 0);
  CHECK(table.out.find("membership_datagrams_in") != std::string::npos);
  CHECK(table.out.find("LINK") != std::string::npos);

  // Prometheus text: members by state, per-link bytes; anything else is a 404.
  // (A link can come up before both sides' membership has the other.)
  std::string metrics;
  CHECK(eventually([&] {
    metrics = http_get("127.7.1.1", 9464, "/metrics");
    return metrics.find("libcluster_members{state=\"alive\"} 3") != std::string::npos;
  }));
  CHECK(metrics.find("HTTP/1.1 200 OK") == 0);
  CHECK(metrics.find("libcluster_link_bytes_in_total{peer=\"" + n2 + "\"}") != std::string::npos);
  CHECK(metrics.find("libcluster_call_latency_seconds_bucket{le=\"+Inf\"}") != std::string::npos);
  CHECK(http_get("127.7.1.1", 9464, "/nope").find("404") != std::string::npos);

  // stop: n3 leaves and exits; why tells the story.
  auto stopped = ctl(n3, {"stop"});
  CHECK(stopped.code == 0);
  CHECK(c.wait() == 0);
  CHECK(eventually([&] { return member_state_is(n1, n3, "left"); }));
  auto why = ctl(n1, {"why", n3});
  CHECK(why.code == 0);
  CHECK(why.out.find("left the cluster (reported by " + n3 + ")") != std::string::npos);
  CHECK(why.out.find("joined") != std::string::npos);
  auto why_json = ctl(n1, {"--json", "why", n3});
  CHECK(why_json.out.find("\"state\":\"left\"") != std::string::npos);

  // Bad input: a clear line and a non-zero exit.
  auto unknown = ctl(n1, {"why", "nobody@127.7.1.9"});
  CHECK(unknown.code == 1);
  CHECK(unknown.out.find("does not know nobody@127.7.1.9") != std::string::npos);
  CHECK(ctl(n1, {"why", "not a node"}).code == 2);
  CHECK(ctl(n1, {"call", "bad name", "sys:echo"}).code == 2);
}

// Its own cluster: see the closing note of 2026-11-28 on a node that once
// stopped answering right after a peer left.
TEST_CASE("leave: the node leaves the cluster gracefully and keeps running alone") {
  const std::string l1 = "l1@127.7.4.1", l2 = "l2@127.7.4.2";
  noded a(l1, {});
  noded b(l2, {"--join", l1});
  REQUIRE(eventually([&] { return member_state_is(l1, l2, "alive") && member_state_is(l2, l1, "alive"); }, 20s));
  const auto left = ctl(l2, {"leave"});
  INFO(left.out);
  CHECK(left.code == 0);
  CHECK(left.out == l2 + " left the cluster\n");
  CHECK(eventually([&] { return member_state_is(l1, l2, "left"); }));
  CHECK(::kill(b.pid(), 0) == 0);
}

TEST_CASE("a metrics port in use stops noded with a clear message") {
  noded first("m1@127.7.2.1", {"--metrics-port", "9465"});
  REQUIRE(eventually([&] { return http_get("127.7.2.1", 9465, "/metrics").find("200 OK") != std::string::npos; }));
  noded second("m2@127.7.2.1", {"--port", "4371", "--metrics-port", "9465"});
  CHECK(second.wait() == 1);
  CHECK(second.log().find("cannot serve metrics on 127.7.2.1:9465") != std::string::npos);
}

namespace {

// A terminal for clusterctl's live views: a detached tmux session.
struct terminal {
  std::string session;
  explicit terminal(const std::string& name, const std::string& command) : session(name) {
    (void)std::system(("tmux kill-session -t " + session + " 2>/dev/null").c_str());
    ok = std::system(("tmux new-session -d -s " + session + " -x 160 -y 40 '" + command + "'").c_str()) == 0;
  }
  ~terminal() { (void)std::system(("tmux kill-session -t " + session + " 2>/dev/null").c_str()); }
  std::string screen() const {
    const std::string file = itest::temp_dir() + "/" + session + ".screen";
    (void)std::system(("tmux capture-pane -p -t " + session + " > " + file + " 2>/dev/null").c_str());
    return itest::read_file(file);
  }
  void keys(const std::string& k) const { (void)std::system(("tmux send-keys -t " + session + " " + k).c_str()); }
  bool alive() const { return std::system(("tmux has-session -t " + session + " 2>/dev/null").c_str()) == 0; }
  bool ok = false;
};

}  // namespace

TEST_CASE("processes, registered, monitor, ping NODE; top and watch in a terminal") {
  const std::string n1 = "n1@127.7.3.1", n2 = "n2@127.7.3.2", n3 = "n3@127.7.3.3";
  noded a(n1, {});
  noded b(n2, {"--join", n1});
  auto c = std::make_unique<noded>(n3, std::vector<std::string>{"--join", n1});
  REQUIRE(eventually([&] { return ctl(n1, {"ping", n2}).code == 0 && ctl(n1, {"ping", n3}).code == 0; }, 20s));
  CHECK(ctl(n1, {"ping", n3}).out.find("pong from " + n3 + " (via " + n1 + ")") != std::string::npos);
  CHECK(ctl(n1, {"ping", "nobody@127.7.3.9"}).code == 1);

  // A process on n2, seen in its process list with what it runs.
  auto spawned = ctl(n1, {"spawn", n2, "sys:sleep", "1500"});
  REQUIRE(spawned.code == 0);
  const std::string pid = spawned.out.substr(0, spawned.out.find('\n'));
  auto procs = ctl(n2, {"--json", "processes", "--sort", "handled"});
  CHECK(procs.code == 0);
  CHECK(procs.out.find("\"pid\":\"" + pid + "\"") != std::string::npos);
  CHECK(procs.out.find("\"function\":\"sys:sleep\"") != std::string::npos);
  REQUIRE(ctl(n1, {"spawn", n2, "sys:sleep", "1500"}).code == 0);
  auto one = ctl(n2, {"processes", "--limit", "1"});
  CHECK(one.out.find("MAILBOX") != std::string::npos);
  CHECK(one.out.find("(1 of ") != std::string::npos);
  CHECK(ctl(n2, {"processes", "--sort", "colour"}).code == 2);
  // Only the node's own services have names: the replicas of global names
  // and of the default scope of groups (Erlang lists its system processes too).
  auto names = ctl(n2, {"--json", "registered"});
  CHECK(names.code == 0);
  CHECK(names.out.find("\"cluster.global\"") != std::string::npos);
  CHECK(names.out.find("\"cluster.pg.pg\"") != std::string::npos);
  CHECK(std::count(names.out.begin(), names.out.end(), ':') == 2);

  // monitor waits for a process to end (through n1: the process is on n2).
  // A fresh one: the commands above can take longer than the first sleeper
  // lives on a loaded machine under the sanitizers.
  const auto brief = ctl(n1, {"spawn", n2, "sys:sleep", "2000"}).out;
  const std::string brief_pid = brief.substr(0, brief.find('\n'));
  auto down = ctl(n1, {"monitor", brief_pid});
  CHECK(down.code == 0);
  CHECK(down.out == "DOWN " + brief_pid + " {\"atom\":\"normal\"}\n");
  CHECK(ctl(n1, {"monitor", "<" + n2 + ".1.999999>"}).out.find("noproc") != std::string::npos);
  CHECK(ctl(n1, {"monitor", "not-a-pid"}).code == 2);

  // top: a refreshing screen of processes, until Ctrl-C.
  const auto sleeper = ctl(n1, {"spawn", n2, "sys:sleep", "20000"}).out;
  auto gave_up = ctl(n1, {"monitor", "--for", "200", sleeper.substr(0, sleeper.find('\n'))});
  CHECK(gave_up.code == 1);
  CHECK(gave_up.out.find("in time") != std::string::npos);
  const std::string ctl_cmd = std::string(CLUSTERCTL_PATH) + " --node " + n2 + " --cookie " + cookie;
  terminal top("lc-top", ctl_cmd + " top --interval 200");
  REQUIRE(top.ok);
  CHECK(eventually([&] {
    const auto s = top.screen();
    return s.find("top: " + n2) != std::string::npos && s.find("sys:sleep") != std::string::npos &&
           s.find("MAILBOX") != std::string::npos;
  }));
  top.keys("C-c");
  CHECK(eventually([&] { return !top.alive(); }));

  // watch: membership changes stream onto the screen as they happen.
  terminal watch("lc-watch", std::string(CLUSTERCTL_PATH) + " --node " + n1 + " --cookie " + cookie + " watch");
  REQUIRE(watch.ok);
  const std::string n4 = "n4@127.7.3.4";
  REQUIRE(itest::watch_subscribed(n4, n1, [&] { return watch.screen().find(n4) != std::string::npos; }));
  CHECK(c->terminate() == 0);
  CHECK(eventually([&] { return watch.screen().find("left  " + n3) != std::string::npos; }));
  watch.keys("C-c");
  CHECK(eventually([&] { return !watch.alive(); }, 5s));
}

TEST_CASE("the cookie changes with rolling restarts, and the cluster serves calls throughout") {
  // docs/SECURITY.md: every node's cookie file goes "old" -> "old, new" ->
  // "new, old" -> "new", one node restarted at a time.
  const std::vector<std::string> names = {"r1@127.7.5.1", "r2@127.7.5.2", "r3@127.7.5.3"};
  auto file = [](const std::string& step, const std::string& text) {
    const std::string path = itest::temp_dir() + "/cookie-" + step;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0400);
    return path;
  };
  const std::vector<std::string> steps = {file("old", "old\n"), file("old-new", "old\nnew\n"),
                                          file("new-old", "new\nold\n"), file("new", "new\n")};
  auto start = [&](std::size_t k, const std::string& cookie_file) {
    std::vector<std::string> args = {"--cookie-file", cookie_file};
    for (std::size_t j = 0; j < names.size(); ++j)
      if (j != k) args.insert(args.end(), {"--join", names[j]});
    return std::make_unique<noded>(names[k], args, "");
  };
  auto ctl_with = [](const std::string& cookie_file, const std::string& node, std::vector<std::string> args) {
    std::vector<std::string> all = {"--node", node, "--cookie-file", cookie_file};
    all.insert(all.end(), args.begin(), args.end());
    return clusterctl(all);
  };
  // Every node has every other alive, and a call from each reaches the next.
  auto whole = [&](const std::vector<std::size_t>& at) {
    for (std::size_t k = 0; k < names.size(); ++k) {
      const auto& f = steps[at[k]];
      const auto members = ctl_with(f, names[k], {"--json", "members"});
      if (members.code != 0 || std::count_if(names.begin(), names.end(), [&](const std::string& n) {
                                 const auto p = members.out.find("\"name\":\"" + n + "\"");
                                 return p != std::string::npos &&
                                        members.out.substr(p, members.out.find('}', p) - p).find("\"alive\"") !=
                                            std::string::npos;
                               }) != 3)
        return false;
      const auto echo = ctl_with(f, names[k], {"call", names[(k + 1) % 3], "sys:echo", "\"hi\""});
      if (echo.code != 0 || echo.out.find("hi") == std::string::npos) return false;
    }
    return true;
  };
  std::vector<std::unique_ptr<noded>> nodes;
  std::vector<std::size_t> at(3, 0);
  for (std::size_t k = 0; k < 3; ++k) nodes.push_back(start(k, steps[0]));
  REQUIRE(eventually([&] { return whole(at); }, 30s));
  for (std::size_t step = 1; step < steps.size(); ++step)
    for (std::size_t k = 0; k < 3; ++k) {
      CAPTURE(step);
      CAPTURE(k);
      REQUIRE(nodes[k]->terminate() == 0);
      nodes[k] = start(k, steps[step]);
      at[k] = step;
      REQUIRE(eventually([&] { return whole(at); }, 30s));
      if (step < 3) CHECK(nodes[k]->log().find("accepting 1 more") != std::string::npos);
    }
  // Done: the old cookie no longer gets in.
  const auto refused = ctl_with(steps[0], names[0], {"members"});
  CHECK(refused.code != 0);
  CHECK(refused.out.find("cookie") != std::string::npos);
  CHECK(nodes[0]->log().find("cookie rotation") == std::string::npos);  // a one-cookie file says nothing
}
