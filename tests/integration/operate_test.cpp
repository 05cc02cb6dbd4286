// Operating a cluster with clusterctl against real noded processes: stats,
// why, leave, stop, and the Prometheus endpoint. Addresses 127.7.N.x.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

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
  REQUIRE(eventually([&] {
    const auto r = ctl(n1, {"--json", "stats"});
    return r.code == 0 && r.out.find(n2) != std::string::npos && r.out.find(n3) != std::string::npos;
  }, 20s));

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
  const auto metrics = http_get("127.7.1.1", 9464, "/metrics");
  CHECK(metrics.find("HTTP/1.1 200 OK") == 0);
  CHECK(metrics.find("libcluster_members{state=\"alive\"} 3") != std::string::npos);
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

  // leave: n2 leaves the cluster but keeps running.
  CHECK(ctl(n2, {"leave"}).code == 0);
  CHECK(eventually([&] { return member_state_is(n1, n2, "left"); }));
  CHECK(::kill(b.pid(), 0) == 0);

  // Bad input: a clear line and a non-zero exit.
  auto unknown = ctl(n1, {"why", "nobody@127.7.1.9"});
  CHECK(unknown.code == 1);
  CHECK(unknown.out.find("does not know nobody@127.7.1.9") != std::string::npos);
  CHECK(ctl(n1, {"why", "not a node"}).code == 2);
  CHECK(ctl(n1, {"call", "bad name", "sys:echo"}).code == 2);
}

TEST_CASE("a metrics port in use stops noded with a clear message") {
  noded first("m1@127.7.2.1", {"--metrics-port", "9465"});
  REQUIRE(eventually([&] { return http_get("127.7.2.1", 9465, "/metrics").find("200 OK") != std::string::npos; }));
  noded second("m2@127.7.2.1", {"--port", "4371", "--metrics-port", "9465"});
  CHECK(second.wait() == 1);
  CHECK(second.log().find("cannot serve metrics on 127.7.2.1:9465") != std::string::npos);
}
