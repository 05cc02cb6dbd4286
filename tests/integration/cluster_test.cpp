// Real noded processes on loopback, driven with clusterctl and the client API.
// Each test case uses its own 127.1.N.x addresses so cases never collide.
#include <doctest/doctest.h>

#include <array>
#include <optional>
#include <set>

#include <sys/socket.h>
#include <sys/time.h>

#include <asio.hpp>

#include "cluster/client.hpp"
#include "integration/process.hpp"

using namespace std::chrono_literals;
using itest::clusterctl;
using itest::eventually;
using itest::noded;

namespace {

const std::string cookie = "itest-cookie";

// The node's peers, or nothing if the node could not be asked (so that an
// unreachable node never passes for one with no peers).
std::optional<std::set<std::string>> peers_of(const std::string& node, const std::string& with_cookie = cookie) {
  cluster::client_options o;
  o.cookie = with_cookie;
  o.timeout = 2000ms;
  auto c = cluster::client::connect(*cluster::parse_node_name(node), o);
  if (!c) return std::nullopt;
  auto nodes = (*c)->nodes();
  if (!nodes) return std::nullopt;
  std::set<std::string> out;
  for (const auto& n : *nodes) out.insert(n.name);
  return out;
}

const std::set<std::string> none;

std::uint32_t creation_of(const std::string& node) {
  cluster::client_options o;
  o.cookie = cookie;
  auto c = cluster::client::connect(*cluster::parse_node_name(node), o);
  if (!c) return 0;
  auto info = (*c)->info();
  return info ? info->creation : 0;
}

std::optional<cluster::node_stats> stats_of(const std::string& node) {
  cluster::client_options o;
  o.cookie = cookie;
  auto c = cluster::client::connect(*cluster::parse_node_name(node), o);
  if (!c) return std::nullopt;
  auto s = (*c)->stats();
  return s ? std::optional(*s) : std::nullopt;
}

bool answers(const std::string& node) {
  return clusterctl({"--node", node, "--cookie", cookie, "--timeout", "500", "ping"}).code == 0;
}

}  // namespace

TEST_CASE("three nodes join through one seed and all see each other") {
  noded n1("n1@127.1.1.1", {});
  REQUIRE(eventually([&] { return answers("n1@127.1.1.1"); }));
  noded n2("n2@127.1.1.2", {"--join", "n1@127.1.1.1"});
  noded n3("n3@127.1.1.3", {"--join", "n1@127.1.1.1"});

  CHECK(eventually([&] {
    return peers_of("n1@127.1.1.1") == std::set<std::string>{"n2@127.1.1.2", "n3@127.1.1.3"} &&
           peers_of("n2@127.1.1.2") == std::set<std::string>{"n1@127.1.1.1", "n3@127.1.1.3"} &&
           peers_of("n3@127.1.1.3") == std::set<std::string>{"n1@127.1.1.1", "n2@127.1.1.2"};
  }));

  auto listed = clusterctl({"--node", "n3@127.1.1.3", "--cookie", cookie, "nodes", "--json"});
  CHECK(listed.code == 0);
  CHECK(listed.out.find("\"name\":\"n1@127.1.1.1\"") != std::string::npos);
  CHECK(listed.out.find("\"name\":\"n2@127.1.1.2\"") != std::string::npos);

  auto info = clusterctl({"--node", "n2@127.1.1.2:4370", "--cookie", cookie, "info", "--json"});
  CHECK(info.code == 0);
  CHECK(info.out.find("\"name\":\"n2@127.1.1.2\"") != std::string::npos);
  CHECK(info.out.find("\"node_count\":2") != std::string::npos);

  auto ping = clusterctl({"--node", "n1@127.1.1.1", "--cookie", cookie, "ping"});
  CHECK(ping.code == 0);
  CHECK(ping.out.find("pong from n1@127.1.1.1") != std::string::npos);
}

TEST_CASE("a node with the wrong cookie is refused, with a clear log line on both sides") {
  noded n1("n1@127.1.2.1", {});
  REQUIRE(eventually([&] { return answers("n1@127.1.2.1"); }));
  noded evil("evil@127.1.2.9", {"--join", "n1@127.1.2.1"}, "not-the-cookie");
  CHECK(eventually([&] { return n1.log().find("cookie mismatch") != std::string::npos; }));
  CHECK(eventually([&] { return evil.log().find("cookie mismatch") != std::string::npos; }));
  CHECK(peers_of("n1@127.1.2.1") == none);
  CHECK(peers_of("evil@127.1.2.9", "not-the-cookie") == none);
}

TEST_CASE("clusterctl with the wrong cookie is refused with one line and a non-zero exit") {
  noded n1("n1@127.1.3.1", {});
  REQUIRE(eventually([&] { return answers("n1@127.1.3.1"); }));
  auto r = clusterctl({"--node", "n1@127.1.3.1", "--cookie", "wrong", "nodes"});
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out.find("cookie mismatch") != std::string::npos, r.out, "\nthe node's log:\n", n1.log());
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
  auto j = clusterctl({"--node", "n1@127.1.3.1", "--cookie", "wrong", "--json", "info"});
  CHECK(j.code == 1);
  CHECK(j.out.find("\"error\":\"auth_failed\"") != std::string::npos);
}

TEST_CASE("a node restarted under the same name is readmitted with a new creation") {
  noded n1("n1@127.1.4.1", {});
  REQUIRE(eventually([&] { return answers("n1@127.1.4.1"); }));
  auto n2 = std::make_unique<noded>("n2@127.1.4.2", std::vector<std::string>{"--join", "n1@127.1.4.1"});
  REQUIRE(eventually([&] { return peers_of("n1@127.1.4.1") == std::set<std::string>{"n2@127.1.4.2"}; }));
  const auto first = creation_of("n2@127.1.4.2");
  REQUIRE(first != 0);

  n2->kill9();
  CHECK(eventually([&] { return peers_of("n1@127.1.4.1") == none; }));
  n2 = std::make_unique<noded>("n2@127.1.4.2", std::vector<std::string>{"--join", "n1@127.1.4.1"});
  CHECK(eventually([&] { return peers_of("n1@127.1.4.1") == std::set<std::string>{"n2@127.1.4.2"}; }));
  const auto second = creation_of("n2@127.1.4.2");
  CHECK(second != 0);
  CHECK(second != first);
  // n1's link now carries the new creation.
  auto listed = clusterctl({"--node", "n1@127.1.4.1", "--cookie", cookie, "nodes", "--json"});
  CHECK(listed.out.find("\"creation\":" + std::to_string(second)) != std::string::npos);
}

TEST_CASE("SIGTERM leaves gracefully: the process exits 0 and peers log a leave") {
  noded n1("n1@127.1.5.1", {});
  REQUIRE(eventually([&] { return answers("n1@127.1.5.1"); }));
  noded n2("n2@127.1.5.2", {"--join", "n1@127.1.5.1"});
  REQUIRE(eventually([&] { return peers_of("n1@127.1.5.1").value_or(none).size() == 1; }));
  CHECK(n2.terminate() == 0);
  CHECK(eventually([&] { return n1.log().find("n2@127.1.5.2 left") != std::string::npos; }));
  CHECK(peers_of("n1@127.1.5.1") == none);
}

TEST_CASE("a cluster stopped all at once logs no warnings") {
  // As scripts/quickstart.sh --stop does: SIGTERM to one node after the
  // other, a few ms apart. Leaving nodes' last frames, goodbyes and redials
  // then cross. (Timing-dependent: before the fixes it warned in most rounds.)
  for (int round = 0; round < 3; ++round) {
    const std::vector<std::string> env = {"CLUSTER_COOKIE=" + cookie};  // not on the command line, which warns
    noded n1("n1@127.1.12.1", {}, "", env);
    noded n2("n2@127.1.12.2", {"--join", "n1@127.1.12.1"}, "", env);
    noded n3("n3@127.1.12.3", {"--join", "n1@127.1.12.1"}, "", env);
    REQUIRE(eventually([&] {
      return peers_of("n2@127.1.12.2").value_or(none).size() == 2 &&
             peers_of("n3@127.1.12.3").value_or(none).size() == 2;
    }));
    for (noded* n : {&n1, &n2, &n3}) {
      n->signal(SIGTERM);
      std::this_thread::sleep_for(2ms);  // usually, the others hear its goodbye before their own SIGTERM
    }
    for (noded* n : {&n1, &n2, &n3}) {
      INFO(n->log());
      CHECK(n->wait() == 0);
      CHECK(n->log().find(" warn ") == std::string::npos);
      CHECK(n->log().find(" error ") == std::string::npos);
    }
  }
}

TEST_CASE("a seed that starts after the node joining it is reached by retries") {
  noded n2("n2@127.1.6.2", {"--join", "n1@127.1.6.1"});
  REQUIRE(eventually([&] { return answers("n2@127.1.6.2"); }));
  noded n1("n1@127.1.6.1", {});
  CHECK(eventually([&] { return peers_of("n1@127.1.6.1") == std::set<std::string>{"n2@127.1.6.2"}; }, 15000ms));
}

TEST_CASE("noded refuses bad input with one line and a non-zero exit") {
  struct bad_case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<bad_case> cases = {
      {{"--join", "nonsense"}, "--join"},
      {{"--log-level", "loud"}, "log-level"},
      {{"--port", "99999"}, "port"},
      {{"--busy-wait-us", "-5"}, "busy-wait-us"},
      {{"--bogus-flag"}, "bogus"},
      {{"--cookie-file", "/nonexistent/cookie"}, "cannot read cookie file"},
      {{"--dist-port", "lots"}, "--dist-port: expected a port (0-65535) or off"},
      {{"--dist-port", "70000"}, "--dist-port"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.expect);
    std::vector<std::string> args = c.args;
    noded n("n1@127.1.7.1", args, c.args[0] == "--cookie-file" ? "" : cookie);
    CHECK(n.wait() != 0);
    CHECK(n.log().find(c.expect) != std::string::npos);
  }
  noded bad_name("nonsense", {});
  CHECK(bad_name.wait() == 2);
  CHECK(bad_name.log().find("must look like name@host") != std::string::npos);

  noded unresolvable("n1@no-such-host.invalid", {});
  CHECK(unresolvable.wait() == 1);
  CHECK(unresolvable.log().find("does not resolve") != std::string::npos);

  noded first("n1@127.1.7.2", {});
  REQUIRE(eventually([&] { return answers("n1@127.1.7.2"); }));
  noded second("n2@127.1.7.2", {});
  CHECK(second.wait() == 1);
  CHECK(second.log().find("already in use") != std::string::npos);
}

TEST_CASE("the cookie comes from a file, the environment, or a default file created with mode 0400") {
  const std::string home = itest::temp_dir() + "/home";
  ::mkdir(home.c_str(), 0700);
  noded n1("n1@127.1.8.1", {}, "", {"HOME=" + home, "CLUSTER_COOKIE="});
  const std::string cookie_path = home + "/.libcluster.cookie";
  REQUIRE(eventually([&] { return ::access(cookie_path.c_str(), F_OK) == 0; }));
  struct stat st {};
  REQUIRE(::stat(cookie_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0400);
  const std::string secret = itest::read_file(cookie_path);
  CHECK(secret.size() >= 32);

  // The same default file admits clusterctl; CLUSTER_COOKIE and --cookie-file work too.
  CHECK(eventually([&] {
    return clusterctl({"--node", "n1@127.1.8.1", "ping"}, {"HOME=" + home, "CLUSTER_COOKIE="}).code == 0;
  }));
  std::string trimmed = secret.substr(0, secret.find('\n'));
  CHECK(clusterctl({"--node", "n1@127.1.8.1", "ping"}, {"HOME=/nonexistent", "CLUSTER_COOKIE=" + trimmed}).code == 0);
  CHECK(clusterctl({"--node", "n1@127.1.8.1", "--cookie-file", cookie_path, "ping"}, {"CLUSTER_COOKIE="}).code == 0);
  // The cookie never shows up in the node's command line.
  CHECK(itest::read_file("/proc/" + std::to_string(n1.pid()) + "/cmdline").find(trimmed) == std::string::npos);
}

TEST_CASE("clusterctl reports bad usage and unreachable nodes clearly") {
  auto no_command = clusterctl({"--node", "n1@127.1.9.1", "--cookie", cookie});
  CHECK(no_command.code == 2);
  auto bad_node = clusterctl({"--node", "n1-at-nowhere", "--cookie", cookie, "ping"});
  CHECK(bad_node.code == 2);
  CHECK(bad_node.out.find("must look like name@host") != std::string::npos);
  auto nobody = clusterctl({"--node", "n1@127.1.9.1", "--cookie", cookie, "--timeout", "300", "ping"});
  CHECK(nobody.code == 1);
  CHECK(nobody.out.find("no answer") != std::string::npos);
  auto help = clusterctl({"--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("nodes") != std::string::npos);
}

TEST_CASE("connecting to a node under the wrong name is refused") {
  noded n1("n1@127.1.10.1", {});
  REQUIRE(eventually([&] { return answers("n1@127.1.10.1"); }));
  // Admission tokens are made for the node meant, so the node there refuses
  // it before the handshake could say what it is called.
  auto r = clusterctl({"--node", "other@127.1.10.1", "--cookie", cookie, "ping"});
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out.find("has another name") != std::string::npos, r.out, "\nthe node's log:\n", n1.log());
}

TEST_CASE("calls through one node reach every node, and each kind of error is clear") {
  noded n1("n1@127.1.11.1", {});
  REQUIRE(eventually([&] { return answers("n1@127.1.11.1"); }));
  noded n2("n2@127.1.11.2", {"--join", "n1@127.1.11.1"});
  // n3's threads sleep as soon as they are idle: the path without busy waiting.
  noded n3("n3@127.1.11.3", {"--join", "n1@127.1.11.1", "--busy-wait-us", "0"});
  REQUIRE(eventually([&] { return peers_of("n1@127.1.11.1").value_or(none).size() == 2; }));
  auto ctl = [](std::vector<std::string> args) {
    std::vector<std::string> full = {"--node", "n1@127.1.11.1", "--cookie", cookie};
    full.insert(full.end(), args.begin(), args.end());
    return clusterctl(full);
  };

  auto info = ctl({"call", "n3@127.1.11.3", "sys:info"});
  CHECK(info.code == 0);
  CHECK(info.out.find("\"name\":\"n3@127.1.11.3\"") != std::string::npos);

  auto echo = ctl({"call", "n2@127.1.11.2", "sys:echo", R"({"k": [1, 2.5, {"atom": "ok"}, null]})"});
  CHECK(echo.code == 0);
  CHECK(echo.out.find(R"({"k":[1,2.5,{"atom":"ok"},null]})") != std::string::npos);

  auto undefined = ctl({"call", "n2@127.1.11.2", "sys:nope"});
  CHECK(undefined.code == 1);
  CHECK(undefined.out.find("undefined function sys:nope") != std::string::npos);

  auto bad_args = ctl({"call", "n2@127.1.11.2", "sys:sleep", R"("soon")"});
  CHECK(bad_args.code == 1);
  CHECK(bad_args.out.find("takes a number of milliseconds") != std::string::npos);

  auto thrown = ctl({"--json", "call", "n3@127.1.11.3", "sys:fail", R"("it broke")"});
  CHECK(thrown.code == 1);
  CHECK(thrown.out.find(R"("error":"exception")") != std::string::npos);
  CHECK(thrown.out.find("it broke") != std::string::npos);

  auto nowhere = ctl({"call", "n9@127.1.11.9", "sys:info"});
  CHECK(nowhere.code == 1);
  CHECK(nowhere.out.find("no connection to n9@127.1.11.9") != std::string::npos);

  auto slow = ctl({"--timeout", "300", "call", "n2@127.1.11.2", "sys:sleep", "5000"});
  CHECK(slow.code == 1);
  CHECK(slow.out.find("did not answer within 300 ms") != std::string::npos);

  auto malformed = ctl({"call", "n2@127.1.11.2", "sys:echo", "{not json"});
  CHECK(malformed.code == 2);
  CHECK(malformed.out.find("malformed JSON") != std::string::npos);

  auto spawned = ctl({"spawn", "n2@127.1.11.2", "sys:sleep", "60000"});
  CHECK(spawned.code == 0);
  CHECK(spawned.out.find("<n2@127.1.11.2.") == 0);
}

TEST_CASE("a call to a frozen node returns timeout on time, and the node answers again once thawed") {
  noded n1("n1@127.1.13.1", {});
  REQUIRE(eventually([&] { return answers("n1@127.1.13.1"); }));
  noded n2("n2@127.1.13.2", {"--join", "n1@127.1.13.1"});
  REQUIRE(eventually([&] { return peers_of("n1@127.1.13.1").value_or(none).size() == 1; }));
  cluster::client_options o;
  o.cookie = cookie;
  auto c = cluster::client::connect(*cluster::parse_node_name("n1@127.1.13.1"), o);
  REQUIRE(c.ok());
  REQUIRE(n2.freeze());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = (*c)->call("sys:echo", cluster::term(1), 500ms, "n2@127.1.13.2");
  const auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == cluster::errc::timeout);
  CHECK(waited < 5s);  // bounded by the timeout, not by the frozen node
  n2.signal(SIGCONT);
  CHECK(eventually([&] { return (*c)->call("sys:echo", cluster::term(2), 1000ms, "n2@127.1.13.2").ok(); }));
}

// Node links move to the direct lane (plain TCP at each node's dist port)
// after a first contact through ZeroMQ; a node with --dist-port off keeps
// its links on ZeroMQ, and both kinds carry calls alike.
TEST_CASE("links between nodes run on the direct lane, unless a node turns it off") {
  noded n1("n1@127.1.20.1", {"--dist-port", "47990"});
  REQUIRE(eventually([&] { return answers("n1@127.1.20.1"); }));
  noded n2("n2@127.1.20.2", {"--join", "n1@127.1.20.1"});
  noded n3("n3@127.1.20.3", {"--join", "n1@127.1.20.1", "--dist-port", "off"});
  REQUIRE(eventually([&] {
    return peers_of("n1@127.1.20.1").value_or(none).size() == 2 &&
           peers_of("n2@127.1.20.2").value_or(none).size() == 2 && peers_of("n3@127.1.20.3").value_or(none).size() == 2;
  }));
  CHECK(n1.log().find("node links direct, dist port 47990") != std::string::npos);
  CHECK(n3.log().find("node links through ZeroMQ") != std::string::npos);
  // The dist port a node chose itself is in its info (a firewall must know it).
  auto info2 = clusterctl({"--node", "n2@127.1.20.2", "--cookie", cookie, "info", "--json"});
  CHECK(info2.out.find("\"dist_port\":0") == std::string::npos);
  CHECK(info2.out.find("\"dist_port\":") != std::string::npos);
  auto info1 = clusterctl({"--node", "n1@127.1.20.1", "--cookie", cookie, "info"});
  CHECK(info1.out.find("dist port:  47990") != std::string::npos);
  auto info3 = clusterctl({"--node", "n3@127.1.20.3", "--cookie", cookie, "info", "--json"});
  CHECK(info3.out.find("\"dist_port\":0") != std::string::npos);
  const auto s1 = stats_of("n1@127.1.20.1"), s2 = stats_of("n2@127.1.20.2"), s3 = stats_of("n3@127.1.20.3");
  REQUIRE((s1 && s2 && s3));
  CHECK(s1->direct_links == 1);  // to n2; n3's is on ZeroMQ
  CHECK(s2->direct_links == 1);
  CHECK(s3->direct_links == 0);
  CHECK(s1->direct_upgrades + s2->direct_upgrades >= 2);  // n1-n2 once on each side
  CHECK(s1->direct_dials_failed + s2->direct_dials_failed == 0);

  // Calls over each kind of link: n1-n2 direct, n2-n3 through ZeroMQ.
  for (const auto& [via, to] :
       {std::pair{"n1@127.1.20.1", "n2@127.1.20.2"}, std::pair{"n2@127.1.20.2", "n3@127.1.20.3"},
        std::pair{"n3@127.1.20.3", "n1@127.1.20.1"}}) {
    CAPTURE(to);
    auto r = clusterctl({"--node", via, "--cookie", cookie, "call", to, "sys:echo", "\"over\""});
    CHECK(r.code == 0);
    CHECK(r.out.find("over") != std::string::npos);
  }

  // A stranger on the dist port is hung up on at its first frame, counted,
  // and the node goes on.
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.1.20.1"), 47990});
  const std::string junk = "GET / HTTP/1.1\r\n\r\n";
  asio::write(s, asio::buffer(junk));
  const timeval patience{5, 0};  // a node that never hung up fails the count below, not the run
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  asio::error_code ec;
  std::array<char, 64> sink{};
  while (!ec) s.read_some(asio::buffer(sink), ec);  // until the node hangs up
  CHECK(eventually(
      [&] { return stats_of("n1@127.1.20.1").value_or(cluster::node_stats{}).direct_handshakes_refused >= 1; }));
  CHECK(answers("n1@127.1.20.1"));
}
