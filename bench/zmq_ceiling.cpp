// The ceiling: a bare ZeroMQ DEALER -> ROUTER pair on loopback, with nothing
// of ours in between, for the same workloads as bench_dist (64-byte and
// 1 KiB payloads). bench/run.sh prints it beside our figures, so the distance
// to the limit stays visible. `tcp_pingpong` is a bare TCP pair (Asio, no
// ZeroMQ): the round trip of a data path whose own threads read and write
// the sockets, without ZeroMQ's I/O thread on each side.
//   bench_zmq_ceiling [one_way|one_way_1k|one_way_msgpack|pingpong|tcp_pingpong|all] [N]
// Prints "name value unit" lines, as the other benchmarks do.
#include <sched.h>

#include <asio.hpp>
#include <msgpack.hpp>
#include <zmq.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using bench_clock = std::chrono::steady_clock;
const std::string endpoint = "tcp://127.4.60.1:47600";

/// Receives `n` messages on a ROUTER (each the routing id, then the
/// payload), optionally decoding each as msgpack, then answers "done".
void sink(zmq::context_t& ctx, std::int64_t n, bool decode) {
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::rcvhwm, 0);
  router.bind(endpoint);
  zmq::message_t id, payload;
  for (std::int64_t i = 0; i < n; ++i) {
    (void)router.recv(id);
    (void)router.recv(payload);
    if (decode) {
      const auto handle = msgpack::unpack(static_cast<const char*>(payload.data()), payload.size());
      (void)handle.get().via.array.size;
    }
  }
  router.send(id, zmq::send_flags::sndmore);
  router.send(zmq::str_buffer("done"));
}

double one_way(std::int64_t n, bool msgpack_too, std::size_t bytes = 64) {
  zmq::context_t server_ctx(1), client_ctx(1);
  std::thread server([&] { sink(server_ctx, n, msgpack_too); });
  zmq::socket_t dealer(client_ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::sndhwm, 0);
  dealer.connect(endpoint);
  const std::string payload(bytes, 'x');
  const auto t0 = bench_clock::now();
  msgpack::sbuffer buffer;
  for (std::int64_t i = 0; i < n; ++i) {
    if (msgpack_too) {
      // What a process_send costs us on the wire: [type, [to, message]].
      buffer.clear();
      msgpack::packer<msgpack::sbuffer> pk(buffer);
      pk.pack_array(2);
      pk.pack(64);
      pk.pack_array(2);
      pk.pack(i);
      pk.pack(payload);
      dealer.send(zmq::buffer(buffer.data(), buffer.size()));
    } else {
      dealer.send(zmq::buffer(payload));
    }
  }
  zmq::message_t done;
  (void)dealer.recv(done);
  const double secs = std::chrono::duration<double>(bench_clock::now() - t0).count();
  server.join();
  return static_cast<double>(n) / secs;
}

// Takes the next message: blocking in recv, or (`spin`) polling without
// blocking and yielding in between, as our nodes' threads and Erlang's
// schedulers wait while work comes in (no thread wake-up per message).
void take(zmq::socket_t& s, zmq::message_t& m, bool spin) {
  if (!spin) {
    (void)s.recv(m);
    return;
  }
  while (!s.recv(m, zmq::recv_flags::dontwait)) sched_yield();
}

std::vector<double> pingpong(int n, bool spin) {
  zmq::context_t server_ctx(1), client_ctx(1);
  std::thread server([&] {
    zmq::socket_t router(server_ctx, zmq::socket_type::router);
    router.bind(endpoint);
    zmq::message_t id, payload;
    for (int i = 0; i < n; ++i) {
      take(router, id, spin);
      take(router, payload, spin);
      router.send(id, zmq::send_flags::sndmore);
      router.send(payload, zmq::send_flags::none);
    }
  });
  zmq::socket_t dealer(client_ctx, zmq::socket_type::dealer);
  dealer.connect(endpoint);
  const std::string payload(64, 'x');
  std::vector<double> rtt;
  rtt.reserve(static_cast<std::size_t>(n));
  zmq::message_t back;
  for (int i = 0; i < n; ++i) {
    const auto t0 = bench_clock::now();
    dealer.send(zmq::buffer(payload));
    take(dealer, back, spin);
    rtt.push_back(std::chrono::duration<double, std::micro>(bench_clock::now() - t0).count());
  }
  server.join();
  std::sort(rtt.begin(), rtt.end());
  return rtt;
}

// Reads exactly `bytes.size()` bytes: blocking, or on a non-blocking socket
// yielding between tries, as take() does.
void read_exact(asio::ip::tcp::socket& s, std::string& bytes) {
  std::size_t got = 0;
  while (got < bytes.size()) {
    asio::error_code ec;
    got += s.read_some(asio::buffer(bytes.data() + got, bytes.size() - got), ec);
    if (ec == asio::error::would_block)
      sched_yield();
    else if (ec)
      throw asio::system_error(ec);
  }
}

std::vector<double> tcp_pingpong(int n, bool spin) {
  asio::io_context io;
  const asio::ip::tcp::endpoint at(asio::ip::make_address("127.4.60.1"), 47601);
  asio::ip::tcp::acceptor acceptor(io, at);  // reuse_address, as Asio's default
  std::thread server([&] {
    asio::ip::tcp::socket s = acceptor.accept();
    s.set_option(asio::ip::tcp::no_delay(true));
    s.non_blocking(spin);
    std::string ball(64, '\0');
    for (int i = 0; i < n; ++i) {
      read_exact(s, ball);
      asio::write(s, asio::buffer(ball));
    }
  });
  asio::ip::tcp::socket s(io);
  s.connect(at);
  s.set_option(asio::ip::tcp::no_delay(true));
  s.non_blocking(spin);
  std::string ball(64, 'x');
  std::vector<double> rtt;
  rtt.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto t0 = bench_clock::now();
    asio::write(s, asio::buffer(ball));
    read_exact(s, ball);
    rtt.push_back(std::chrono::duration<double, std::micro>(bench_clock::now() - t0).count());
  }
  server.join();
  std::sort(rtt.begin(), rtt.end());
  return rtt;
}

void print_percentiles(const char* name, const std::vector<double>& rtt) {
  // The percentiles of bench/dist_bench.cpp.
  const std::pair<const char*, double> points[] = {{"p10", 0.10}, {"p25", 0.25}, {"p50", 0.50},  {"p75", 0.75},
                                                   {"p90", 0.90}, {"p99", 0.99}, {"p999", 0.999}};
  for (const auto& [suffix, q] : points)
    std::printf("%s_%s %.1f us\n", name, suffix,
                rtt[static_cast<std::size_t>(q * static_cast<double>(rtt.size() - 1))]);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc >= 2 ? argv[1] : "all";
  const std::int64_t n = argc >= 3 ? std::atoll(argv[2]) : 2000000;
  if (what == "all" || what == "one_way") std::printf("zmq_one_way_64B %.1f msg/s\n", one_way(n, false));
  if (what == "all" || what == "one_way_1k") std::printf("zmq_one_way_1K %.1f msg/s\n", one_way(n / 2, false, 1024));
  if (what == "all" || what == "one_way_msgpack") std::printf("zmq_msgpack_one_way_64B %.1f msg/s\n", one_way(n, true));
  // The ceiling waits as our nodes do (busy, yielding): like with like.
  // The blocking pair (a thread wake-up per message) is printed beside it.
  if (what == "all" || what == "pingpong") {
    print_percentiles("zmq_pingpong", pingpong(20000, true));
    print_percentiles("zmq_pingpong_blocking", pingpong(20000, false));
  }
  if (what == "all" || what == "tcp_pingpong") {
    print_percentiles("tcp_pingpong", tcp_pingpong(20000, true));
    print_percentiles("tcp_pingpong_blocking", tcp_pingpong(20000, false));
  }
  return 0;
}
