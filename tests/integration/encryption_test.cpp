// Encrypted links seen from outside: a capture of the loopback interface
// while calls cross a client link and a node link holds none of their
// payload; the same with --insecure-plaintext holds it (so the capture does
// see the traffic); and nodes or clients with different settings refuse each
// other with a clear error. Addresses 127.12.x; needs root (a packet socket).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <cluster/client.hpp>

#include "crypto/keys.hpp"
#include "integration/process.hpp"

using namespace std::chrono_literals;
using itest::eventually;
using itest::noded;

namespace {

const std::string cookie = "itest-cookie";

// Every byte that crosses the loopback interface while it lives, as a packet
// capture would record it (AF_PACKET, both directions).
class loopback_capture {
 public:
  loopback_capture() {
    fd_ = ::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd_ < 0) return;
    sockaddr_ll where{};
    where.sll_family = AF_PACKET;
    where.sll_protocol = htons(ETH_P_ALL);
    where.sll_ifindex = static_cast<int>(::if_nametoindex("lo"));
    timeval wait{0, 100000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&where), sizeof where) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    reader_ = std::thread([this] {
      std::vector<char> packet(1 << 16);
      while (!stop_) {
        const ssize_t n = ::recv(fd_, packet.data(), packet.size(), 0);
        if (n <= 0) continue;
        std::lock_guard lock(mutex_);
        if (bytes_.size() < (256u << 20)) bytes_.append(packet.data(), static_cast<std::size_t>(n));
      }
    });
  }
  ~loopback_capture() {
    stop_ = true;
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  bool saw(const std::string& text) {
    std::lock_guard lock(mutex_);
    return bytes_.find(text) != std::string::npos;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return bytes_.size();
  }

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread reader_;
  std::mutex mutex_;
  std::string bytes_;
};

cluster::result<std::unique_ptr<cluster::client>> connect(const std::string& node, bool plaintext) {
  cluster::client_options o;
  o.cookie = cookie;
  o.timeout = 5000ms;
  o.insecure_plaintext = plaintext;
  return cluster::client::connect(*cluster::parse_node_name(node), o);
}

std::string random_marker() {
  std::string out = "marker-";
  for (const auto b : cluster::internal::crypto::random_bytes(12)) out += "0123456789abcdef"[b % 16];
  return out;
}

// Starts two nodes with the setting, calls n2 through n1 with a marker as
// argument (client link, then node link, and the reply back), and says
// whether the capture saw the marker.
bool capture_sees_call(const std::string& net, bool plaintext) {
  loopback_capture capture;
  REQUIRE(capture.ok());
  std::vector<std::string> flags;
  if (plaintext) flags.push_back("--insecure-plaintext");
  const std::string n1 = "n1@" + net + ".1", n2 = "n2@" + net + ".2";
  noded a(n1, flags);
  auto joining = flags;
  joining.insert(joining.end(), {"--join", n1});
  noded b(n2, joining);
  std::unique_ptr<cluster::client> c;
  REQUIRE(eventually([&] {
    auto r = connect(n1, plaintext);
    if (!r) return false;
    c = std::move(r).value();
    auto info = c->call("sys:info", cluster::term(), 2000ms, n2);
    return info.ok();
  }));
  const std::string marker = random_marker();
  for (int i = 0; i < 20; ++i) {
    auto echoed = c->call("sys:echo", cluster::term(marker), 2000ms, n2);
    REQUIRE(echoed);
    REQUIRE(echoed->get_if<std::string>());
    REQUIRE(*echoed->get_if<std::string>() == marker);
  }
  std::this_thread::sleep_for(200ms);  // the last packets reach the capture
  MESSAGE("captured ", capture.size(), " bytes on lo (", plaintext ? "plaintext" : "encrypted", ")");
  return capture.saw(marker);
}

}  // namespace

TEST_CASE("a packet capture of calls shows no plaintext payload; with --insecure-plaintext it does") {
  CHECK_FALSE(capture_sees_call("127.12.0", false));
  CHECK(capture_sees_call("127.12.1", true));  // the capture works
}

TEST_CASE("nodes with different encryption settings refuse each other with a clear error") {
  noded secure("secure@127.12.2.1", {});
  noded plain("plain@127.12.2.2", {"--insecure-plaintext", "--join", "secure@127.12.2.1"});
  CHECK(eventually([&] {
    return secure.log().find("encryption mismatch") != std::string::npos &&
           plain.log().find("encryption mismatch") != std::string::npos;
  }));
  CHECK(plain.log().find("links are NOT encrypted") != std::string::npos);
  // Nor does membership take them in: their datagrams are sealed with
  // different keys, refused, counted and explained.
  auto c = connect("secure@127.12.2.1", false);
  REQUIRE(c);
  CHECK(eventually([&] {
    auto stats = (*c)->stats();
    return stats && stats->membership_auth_failures > 0;
  }));
  CHECK(eventually([&] { return secure.log().find("disagree about --insecure-plaintext") != std::string::npos; }));
  auto members = (*c)->members();
  REQUIRE(members);
  for (const auto& m : *members) CHECK(m.name != "plain@127.12.2.2");
}

TEST_CASE("a client with the other setting is refused, saying why") {
  noded secure("secure@127.12.3.1", {});
  noded plain("plain@127.12.3.2", {"--insecure-plaintext"});
  REQUIRE(eventually([&] { return connect("secure@127.12.3.1", false).ok(); }));
  REQUIRE(eventually([&] { return connect("plain@127.12.3.2", true).ok(); }));
  for (const auto& [node, plaintext] : {std::pair{"secure@127.12.3.1", true}, std::pair{"plain@127.12.3.2", false}}) {
    CAPTURE(node);
    auto c = connect(node, plaintext);
    REQUIRE_FALSE(c);
    CHECK(c.err().code == cluster::errc::rejected);
    CHECK(c.err().message.find("encryption mismatch") != std::string::npos);
  }
  const auto r = itest::clusterctl({"--node", "secure@127.12.3.1", "--cookie", cookie, "--insecure-plaintext", "ping"});
  CHECK(r.code != 0);
  CHECK(r.out.find("encryption mismatch") != std::string::npos);
  const auto ok = itest::clusterctl({"--node", "plain@127.12.3.2", "--cookie", cookie, "--insecure-plaintext", "ping"});
  CHECK(ok.code == 0);
}
