// The TCP transport on loopback (127.8.4.x): real sockets, one process, one
// thread driving both ends.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "integration/poll_until.hpp"
#include "transport/tcp_transport.hpp"

using namespace cluster;
using namespace cluster::internal;
using namespace std::chrono_literals;
using itest::poll_until;

namespace {

struct recorder final : transport_handler {
  std::vector<std::pair<conn_id, std::vector<std::uint8_t>>> frames;
  std::vector<conn_id> closed;
  std::vector<std::pair<conn_id, std::optional<admission_answer>>> refused;
  std::vector<std::string> admitted_from;
  std::string password = "open sesame";  // what admit takes
  admission_answer otherwise = admission_answer::refuse;

  void on_frame(conn_id c, std::span<const std::uint8_t> f) override {
    frames.emplace_back(c, std::vector(f.begin(), f.end()));
  }
  void on_closed(conn_id c) override { closed.push_back(c); }
  void on_refused(conn_id c, std::optional<admission_answer> a) override { refused.emplace_back(c, a); }
  admission_answer admit(const std::string& address, std::string_view user, std::string_view pass) override {
    if (pass != password) return otherwise;
    admitted_from.push_back(address + "/" + std::string(user));
    return admission_answer::admit;
  }
};

/// Serves `t` alone until `done` or 5 s.
template <class Done>
bool eventually_served(tcp_transport& t, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done() && std::chrono::steady_clock::now() < deadline) t.poll(1ms);
  return done();
}

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  std::iota(v.begin(), v.end(), seed);
  return v;
}

/// `a` dials `b`, which listens on `ip` and admits with the recorder's password.
struct dialed_pair {
  tcp_transport a, b;
  recorder a_in, b_in;
  conn_id c = 0;  ///< a's connection to b
  explicit dialed_pair(const std::string& ip, tcp_transport_options options = {}, std::string password = "open sesame")
      : a(dialer(options, password)), b(listener(options)) {
    a.set_handler(&a_in);
    b.set_handler(&b_in);
    REQUIRE(b.bind(ip, 0));
    const auto dialed = a.connect(ip, b.bound_port(), "b@" + ip);
    REQUIRE(dialed);
    c = *dialed;
  }
  static tcp_transport_options dialer(tcp_transport_options o, std::string password) {
    o.credentials = [password](const std::string& peer) { return dial_credentials{"to " + peer, password}; };
    return o;
  }
  static tcp_transport_options listener(tcp_transport_options o) {
    o.require_admission = true;
    return o;
  }
  /// b's end of the connection, once a frame has come through it.
  conn_id b_end() const { return b_in.frames.at(0).first; }
};

}  // namespace

TEST_CASE("frames cross both ways, in order and whole, sent before and after admission") {
  dialed_pair p("127.8.4.1");
  // Sent while still connecting: held until b's verdict, then in order.
  for (std::uint8_t i = 0; i < 5; ++i) REQUIRE(p.a.send(p.c, bytes(10 + i, i)));
  REQUIRE(poll_until(p.a, p.b, [&] { return p.b_in.frames.size() == 5; }));
  CHECK(p.b_in.admitted_from == std::vector<std::string>{"127.0.0.1/to b@127.8.4.1"});
  for (std::uint8_t i = 0; i < 5; ++i) CHECK(p.b_in.frames[i].second == bytes(10 + i, i));
  CHECK(p.b.peer_address(p.b_end()) == "127.0.0.1");

  // Back, and a large frame between small ones: the receiver's buffer grows
  // to it, and what follows it is not lost.
  const auto big = bytes(8 << 20, 7);
  REQUIRE(p.b.send(p.b_end(), bytes(3, 1)));
  REQUIRE(p.b.send(p.b_end(), big));
  REQUIRE(p.b.send(p.b_end(), bytes(4, 2)));
  REQUIRE(poll_until(p.a, p.b, [&] { return p.a_in.frames.size() == 3; }));
  CHECK(p.a_in.frames[0].first == p.c);
  CHECK(p.a_in.frames[1].second == big);
  CHECK(p.a_in.frames[2].second == bytes(4, 2));
  CHECK(p.a_in.closed.empty());
  CHECK(p.b_in.closed.empty());
}

TEST_CASE("a refused dialer hears why, and the listener reads nothing else from it") {
  SUBCASE("refuse") {
    dialed_pair p("127.8.4.2", {}, "wrong");
    REQUIRE(p.a.send(p.c, bytes(16, 0)));  // held, and never sent
    REQUIRE(poll_until(p.a, p.b, [&] { return !p.a_in.refused.empty(); }));
    CHECK(p.a_in.refused[0] == std::pair{p.c, std::optional{admission_answer::refuse}});
    CHECK(p.a.stats().dials_refused == 1);
    CHECK(p.b.stats().handshakes_refused == 1);
    CHECK(p.b_in.frames.empty());
    CHECK_FALSE(p.a.send(p.c, bytes(16, 0)));  // the connection is gone
  }
  SUBCASE("later") {
    dialed_pair p("127.8.4.2", {}, "wrong");
    p.b_in.otherwise = admission_answer::later;
    REQUIRE(poll_until(p.a, p.b, [&] { return !p.a_in.refused.empty(); }));
    CHECK(p.a_in.refused[0].second == admission_answer::later);
  }
}

TEST_CASE("strangers are closed at their first frame without the handler hearing of them") {
  tcp_transport_options admitting;
  admitting.require_admission = true;
  tcp_transport b(admitting);
  recorder b_in;
  b.set_handler(&b_in);
  REQUIRE(b.bind("127.8.4.3", 0));
  asio::io_context io;
  const asio::ip::tcp::endpoint at(asio::ip::make_address("127.8.4.3"), b.bound_port());

  // Returns once b has hung up on a connection that wrote `junk`.
  auto hung_up_on = [&](const std::vector<std::uint8_t>& junk) {
    asio::ip::tcp::socket s(io);
    s.connect(at);
    asio::error_code ec;
    asio::write(s, asio::buffer(junk), ec);
    s.non_blocking(true);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    std::array<char, 64> sink{};
    while (std::chrono::steady_clock::now() < deadline) {
      b.poll(1ms);
      s.read_some(asio::buffer(sink), ec);
      if (ec && ec != asio::error::would_block) return true;  // eof or reset
    }
    return false;
  };
  // An HTTP request, a ZMTP greeting, and a hello too long to be one.
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(hung_up_on({http.begin(), http.end()}));
  CHECK(hung_up_on({0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0}));
  std::vector<std::uint8_t> long_hello{0, 1, 0, 0, 'L', 'C', 'T', '1'};  // 64 KiB announced
  long_hello.resize(4096, 'x');
  CHECK(hung_up_on(long_hello));
  CHECK(b.stats().handshakes_refused == 3);
  CHECK(b_in.frames.empty());
  CHECK(b_in.closed.empty());
}

TEST_CASE("a frame past max_frame_bytes loses the connection, and both ends hear of it") {
  tcp_transport_options strict;
  strict.max_frame_bytes = 1024;
  dialed_pair p("127.8.4.4", strict);
  CHECK_FALSE(p.a.send(p.c, bytes(2048, 0)));  // refused at the sender
  CHECK(p.a.stats().send_refused == 1);
  REQUIRE(p.a.send(p.c, bytes(16, 0)));
  REQUIRE(poll_until(p.a, p.b, [&] { return p.b_in.frames.size() == 1; }));
  // A sender with a larger limit is this receiver's problem.
  tcp_transport_options loose;
  loose.max_frame_bytes = 1 << 20;
  loose.credentials = [](const std::string&) { return dial_credentials{"u", "open sesame"}; };
  tcp_transport x(loose);
  recorder x_in;
  x.set_handler(&x_in);
  const auto xc = x.connect("127.8.4.4", p.b.bound_port(), "b");
  REQUIRE(xc);
  REQUIRE(x.send(*xc, bytes(2048, 0)));
  REQUIRE(poll_until(x, p.b, [&] { return !x_in.closed.empty(); }));
  CHECK(p.b.stats().oversized_frames == 1);
  CHECK(p.b_in.closed.size() == 1);
  CHECK(p.b_in.frames.size() == 1);  // only a's
}

TEST_CASE("heartbeats keep an idle connection; a peer that stops answering is lost") {
  tcp_transport_options quick;
  quick.heartbeat_interval = 50ms;
  quick.heartbeat_timeout = 500ms;
  dialed_pair p("127.8.4.5", quick);
  REQUIRE(p.a.send(p.c, bytes(8, 0)));
  REQUIRE(poll_until(p.a, p.b, [&] { return p.b_in.frames.size() == 1; }));
  // Idle for three timeouts, both served: still up, and heartbeats were not delivered.
  CHECK_FALSE(poll_until(
      p.a, p.b, [&] { return !p.a_in.closed.empty() || !p.b_in.closed.empty(); }, 1500ms));
  CHECK(p.a_in.frames.empty());
  CHECK(p.b_in.frames.size() == 1);
  // b stops serving (frozen, as under SIGSTOP: its kernel still acknowledges).
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (p.a_in.closed.empty() && std::chrono::steady_clock::now() < deadline) p.a.poll(5ms);
  CHECK(p.a_in.closed == std::vector{p.c});
  CHECK(p.a.stats().heartbeat_timeouts == 1);
}

TEST_CASE("a peer's close is heard, after the frames it sent last") {
  dialed_pair p("127.8.4.6");
  REQUIRE(p.a.send(p.c, bytes(8, 0)));
  REQUIRE(poll_until(p.a, p.b, [&] { return p.b_in.frames.size() == 1; }));
  REQUIRE(p.b.send(p.b_end(), bytes(5, 9)));  // a goodbye...
  p.b.close(p.b_end());                       // ...and gone at once
  REQUIRE(poll_until(p.a, p.b, [&] { return !p.a_in.closed.empty(); }));
  REQUIRE(p.a_in.frames.size() == 1);
  CHECK(p.a_in.frames[0].second == bytes(5, 9));
  CHECK(p.b_in.closed.empty());  // closed by b itself: not reported to b
  CHECK_FALSE(p.b.send(p.b_end(), bytes(1, 0)));
}

TEST_CASE("a dial to a port nobody listens on is reported lost") {
  std::uint16_t port = 0;
  {
    tcp_transport gone;
    REQUIRE(gone.bind("127.8.4.7", 0));
    port = gone.bound_port();
  }
  tcp_transport a, idle;
  recorder a_in;
  a.set_handler(&a_in);
  const auto c = a.connect("127.8.4.7", port, "nobody");
  REQUIRE(c);
  REQUIRE(poll_until(a, idle, [&] { return !a_in.closed.empty(); }));
  CHECK(a_in.closed == std::vector{*c});
}

TEST_CASE("a receiver that does not read makes sends refused past the queue, not memory grow") {
  tcp_transport_options short_queue;
  short_queue.send_high_water_mark = 4;
  dialed_pair p("127.8.4.8", short_queue);
  REQUIRE(p.a.send(p.c, bytes(8, 0)));
  REQUIRE(poll_until(p.a, p.b, [&] { return p.b_in.frames.size() == 1; }));
  // b stops reading: the kernel's buffers fill, then four frames wait, then no more.
  const auto frame = bytes(256 << 10, 1);
  int accepted = 0;
  while (p.a.send(p.c, frame) && accepted < 1000) {
    ++accepted;
    p.a.read_ready();
  }
  CHECK(accepted < 1000);
  CHECK(p.a.stats().send_refused == 1);
  // b reads again: everything accepted arrives.
  REQUIRE(poll_until(
      p.a, p.b, [&] { return p.b_in.frames.size() == 1 + static_cast<std::size_t>(accepted); }, 20s));
  CHECK(p.b_in.frames.back().second == frame);
}

TEST_CASE("frames a closed connection still held reach the peer (a linger, as ZeroMQ's)") {
  tcp_transport_options patient;
  patient.linger = 20s;  // however slow the build: the test is that they arrive, not how fast
  dialed_pair p("127.8.4.9", patient);
  REQUIRE(p.a.send(p.c, bytes(8, 0)));
  REQUIRE(poll_until(p.a, p.b, [&] { return p.b_in.frames.size() == 1; }));
  // More than the kernel's buffers take at once, then the goodbye, then close.
  for (int i = 0; i < 16; ++i) REQUIRE(p.b.send(p.b_end(), bytes(1 << 20, static_cast<std::uint8_t>(i))));
  REQUIRE(p.b.send(p.b_end(), bytes(3, 0xbb)));
  p.b.close(p.b_end());
  REQUIRE(poll_until(
      p.a, p.b, [&] { return !p.a_in.closed.empty(); }, 20s));
  REQUIRE(p.a_in.frames.size() == 17);
  CHECK(p.a_in.frames.back().second == bytes(3, 0xbb));
}

TEST_CASE("strangers that say nothing are capped, and the cap is counted") {
  tcp_transport_options capped;
  capped.require_admission = true;
  capped.max_unadmitted = 3;
  tcp_transport b(capped);
  recorder b_in;
  b.set_handler(&b_in);
  REQUIRE(b.bind("127.8.4.10", 0));
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> silent;
  for (int i = 0; i < 5; ++i) {
    silent.emplace_back(io);
    silent.back().connect({asio::ip::make_address("127.8.4.10"), b.bound_port()});
  }
  CHECK(eventually_served(b, [&] { return b.stats().handshakes_refused == 2; }));
  // A dialer with a token still gets in once the strangers are gone (each
  // counted: never admitted).
  silent.clear();
  CHECK(eventually_served(b, [&] { return b.stats().handshakes_refused == 5; }));
  tcp_transport_options o;
  o.credentials = [](const std::string&) { return dial_credentials{"u", "open sesame"}; };
  tcp_transport a(o);
  recorder a_in;
  a.set_handler(&a_in);
  const auto c = a.connect("127.8.4.10", b.bound_port(), "b");
  REQUIRE(c);
  REQUIRE(a.send(*c, bytes(4, 4)));
  CHECK(poll_until(a, b, [&] { return b_in.frames.size() == 1; }));
}

TEST_CASE("a host name is resolved for the dial") {
  tcp_transport a, b;
  recorder a_in, b_in;
  a.set_handler(&a_in);
  b.set_handler(&b_in);
  REQUIRE(b.bind("127.0.0.1", 0));
  const auto c = a.connect("localhost", b.bound_port(), "b");
  REQUIRE(c);
  REQUIRE(a.send(*c, bytes(5, 5)));
  CHECK(poll_until(a, b, [&] { return b_in.frames.size() == 1; }));
  CHECK_FALSE(a.connect("no-such-host.invalid", 1, "x"));
}
