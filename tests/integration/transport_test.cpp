// The ZeroMQ transport on loopback (127.8.x.y): real sockets, one process.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/poll_until.hpp"
#include "transport/zmq_transport.hpp"

using namespace cluster;
using namespace cluster::internal;
using namespace std::chrono_literals;
using itest::poll_until;

namespace {

struct recorder final : transport_handler {
  std::vector<std::pair<conn_id, std::size_t>> frames;  // connection, size
  void on_frame(conn_id c, std::span<const std::uint8_t> frame) override { frames.emplace_back(c, frame.size()); }
  void on_closed(conn_id) override {}
};

/// A fresh connection that carries nothing means ZeroMQ's I/O thread is
/// stuck; destroying the context would hang as well, so leave at once.
void require_carried(bool carried) {
  if (carried) return;
  FAIL_CHECK("a fresh connection carried nothing: ZeroMQ's I/O thread is stuck");
  std::_Exit(1);
}

/// Two transports on one context, `a` dialing `b` at `ip`; each records
/// what it receives.
struct dialed_pair {
  zmq::context_t ctx;
  zmq_transport a{ctx}, b{ctx};
  recorder a_in, b_in;
  conn_id c = 0;  ///< a's connection to b
  explicit dialed_pair(const std::string& ip) {
    a.set_handler(&a_in);
    b.set_handler(&b_in);
    REQUIRE(b.bind(ip, 0));
    const auto dialed = a.connect(ip, b.bound_port());
    REQUIRE(dialed);
    c = *dialed;
  }
};

/// Calls only `t.read_ready()` until `in` holds `count` frames (ZeroMQ's I/O
/// threads carry them meanwhile), for at most 5 s: true if they came and
/// the last call said there were frames.
bool read_ready_until(zmq_transport& t, const recorder& in, std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  bool said = false;
  while (in.frames.size() < count && std::chrono::steady_clock::now() < deadline) said = t.read_ready();
  return in.frames.size() >= count && said;
}

}  // namespace

// A DEALER closed by us and hung up on by its peer at the same moment made
// libzmq's I/O thread report DISCONNECTED to a monitor socket we had already
// closed; that send blocks forever, and every connection of the node stalled.
TEST_CASE("closing a connection while its peer hangs up does not stall the transport") {
  zmq::context_t ctx;
  zmq_transport a(ctx);
  recorder a_in;
  a.set_handler(&a_in);
  const std::vector<std::uint8_t> big(4 << 20, 0x55);
  const std::vector<std::uint8_t> small(16, 0x11);

  for (int i = 0; i < 60; ++i) {
    auto b = std::make_unique<zmq_transport>(ctx);
    recorder b_in;
    b->set_handler(&b_in);
    // Each round's transport is likely allocated where the last one was: its
    // monitor's inproc name once repeated, and the bind failed while ZeroMQ
    // was still closing the old one.
    REQUIRE(b->bind("127.8.1.1", 0));
    auto c = a.connect("127.8.1.1", b->bound_port());
    REQUIRE(c);
    REQUIRE(a.send(*c, small));
    require_carried(poll_until(a, *b, [&] { return !b_in.frames.empty(); }));
    // A large frame still leaving keeps the DEALER lingering after close.
    a.send(*c, big);
    a.close(*c);
    b.reset();
    a.poll(1ms);
  }

  zmq_transport b(ctx);
  recorder b_in;
  b.set_handler(&b_in);
  REQUIRE(b.bind("127.8.1.1", 0));
  auto c = a.connect("127.8.1.1", b.bound_port());
  REQUIRE(c);
  REQUIRE(a.send(*c, small));
  require_carried(poll_until(a, b, [&] { return !b_in.frames.empty(); }));
  REQUIRE(b.send(b_in.frames.front().first, small));
  CHECK(poll_until(a, b, [&] { return !a_in.frames.empty(); }));
}

// The busy-waiting owner's cheap turn: no zmq_poll, only the data sockets.
TEST_CASE("read_ready delivers what the ROUTER and the DEALERs hold, and says whether there was any") {
  dialed_pair p("127.8.2.1");
  CHECK_FALSE(p.a.read_ready());
  const std::vector<std::uint8_t> frame(64, 0x22);
  REQUIRE(p.a.send(p.c, frame));
  CHECK(read_ready_until(p.b, p.b_in, 1));  // through the ROUTER, from a connection it had not seen yet
  REQUIRE(p.b_in.frames.size() == 1);
  CHECK(p.b_in.frames[0].second == frame.size());
  CHECK_FALSE(p.b.read_ready());
  REQUIRE(p.b.send(p.b_in.frames[0].first, frame));
  CHECK(read_ready_until(p.a, p.a_in, 1));  // back through the DEALER
  REQUIRE(p.a_in.frames.size() == 1);
  CHECK(p.a_in.frames[0].first == p.c);
  CHECK_FALSE(p.a.read_ready());
}

// read_ready asks ZeroMQ's notification descriptors first, and those signal
// only a socket whose reader found it empty: frames on a fresh DEALER, past
// a read's byte budget, or announced to a send (which may process the
// socket's commands, and so take the signal) wait without one. Driven by
// read_ready alone (no poll), such frames would wait for good and these
// would fail.
TEST_CASE("read_ready alone carries a pipelined exchange and a burst past its byte budget") {
  dialed_pair p("127.8.2.2");
  // Eight frames in flight each way, each answered as it comes: sends often
  // find frames waiting that nothing has read yet.
  const std::vector<std::uint8_t> ball(64, 0x33);
  constexpr std::size_t total = 4000, in_flight = 8;
  std::size_t sent = 0, answered = 0;
  for (; sent < in_flight; ++sent) REQUIRE(p.a.send(p.c, ball));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (p.a_in.frames.size() < total && std::chrono::steady_clock::now() < deadline) {
    p.b.read_ready();
    for (; answered < p.b_in.frames.size(); ++answered) REQUIRE(p.b.send(p.b_in.frames[answered].first, ball));
    p.a.read_ready();
    for (; sent < std::min(total, p.a_in.frames.size() + in_flight); ++sent) REQUIRE(p.a.send(p.c, ball));
  }
  CHECK(p.a_in.frames.size() == total);

  // A send while a frame waits, announced but not read: the pause lets the
  // frame arrive and outlasts libzmq's throttle (a send processes the
  // socket's commands at most every millisecond or so), so the send takes
  // the signal. Too short a pause only makes a round prove less.
  for (std::size_t round = 0; round < 10; ++round) {
    REQUIRE(p.a.send(p.c, ball));
    std::this_thread::sleep_for(5ms);
    REQUIRE(p.b.send(p.b_in.frames.back().first, ball));
    REQUIRE(read_ready_until(p.b, p.b_in, total + 2 * round + 1));  // through the ROUTER
    std::this_thread::sleep_for(5ms);
    REQUIRE(p.a.send(p.c, ball));
    REQUIRE(read_ready_until(p.a, p.a_in, total + round + 1));  // through the DEALER
  }
  const std::size_t at_b = p.b_in.frames.size();

  const std::vector<std::uint8_t> big(256 << 10, 0x44);  // 64 of them: 16 MiB, sixteen budgets
  for (int i = 0; i < 64; ++i) REQUIRE(p.a.send(p.c, big));
  CHECK(read_ready_until(p.b, p.b_in, at_b + 64));
}

// A peer that says goodbye and hangs up at once: its DISCONNECTED event is
// read before its last frame, and the handler closes the connection while
// that frame is delivered. The event must still end the closed connection,
// or the descriptor's next connection would have its own hang-up ignored.
TEST_CASE("a connection closed by its handler as its peer hangs up leaves no trace for the next one") {
  zmq::context_t ctx;
  zmq_transport a(ctx), b(ctx);
  struct closer final : transport_handler {
    zmq_transport* self = nullptr;
    std::vector<conn_id> seen, closed;
    void on_frame(conn_id c, std::span<const std::uint8_t> frame) override {
      seen.push_back(c);
      if (frame.size() == 3) self->close(c);  // "bye"
    }
    void on_closed(conn_id c) override { closed.push_back(c); }
  } b_in;
  recorder a_in;
  b_in.self = &b;
  a.set_handler(&a_in);
  b.set_handler(&b_in);
  REQUIRE(b.bind("127.8.3.1", 0));
  const std::vector<std::uint8_t> hello(8, 0x33), bye(3, 0x44);

  auto first = a.connect("127.8.3.1", b.bound_port());
  REQUIRE(first);
  REQUIRE(a.send(*first, hello));
  require_carried(poll_until(a, b, [&] { return b_in.seen.size() == 1; }));
  REQUIRE(a.send(*first, bye));
  a.close(*first);
  // Both the frame and the hang-up wait for b's next poll, which reads the
  // monitor first.
  std::this_thread::sleep_for(100ms);
  CHECK(poll_until(a, b, [&] { return b_in.seen.size() == 2; }));
  for (int i = 0; i < 5; ++i) b.poll(1ms);

  // The next connection most likely gets the same descriptor.
  auto second = a.connect("127.8.3.1", b.bound_port());
  REQUIRE(second);
  REQUIRE(a.send(*second, hello));
  require_carried(poll_until(a, b, [&] { return b_in.seen.size() == 3; }));
  const conn_id next = b_in.seen.back();
  a.close(*second);
  CHECK(poll_until(a, b, [&] { return std::find(b_in.closed.begin(), b_in.closed.end(), next) != b_in.closed.end(); }));
}
