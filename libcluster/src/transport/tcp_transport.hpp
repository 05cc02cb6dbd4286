// The data plane over plain TCP, read and written on the owner's thread.
//
// Why: ZeroMQ reads and writes in its own I/O threads, so every message
// costs a thread wake-up on each side on top of the receiver's own; on a
// machine that parks idle CPUs those alone are most of a round trip
// (docs/PERFORMANCE.md). Here the thread that sends writes the socket, and
// the thread that waits reads it.
//
// Wire: a frame is a 4-byte big-endian length and that many bytes; an empty
// frame is a heartbeat, never delivered. Each side opens with one hello
// frame before any other: the dialer's is the protocol's magic and its
// admission credentials (empty without), the listener's the magic and its
// admission verdict (`admission_answer`'s code). The dialer holds its frames
// until the verdict says admit; the listener reads at most one hello's bytes
// from a connection before its verdict, so a stranger cannot make it hold
// more. A refused dialer hears why (`transport_handler::on_refused`).
//
// Liveness: a connection that sent nothing for `heartbeat_interval` sends a
// heartbeat; one that received nothing for `heartbeat_timeout` is lost (a
// frozen peer's kernel still acknowledges, so TCP alone would not tell).
//
// Not thread-safe: every call on the thread that owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "transport/transport.hpp"

namespace cluster::internal {

struct tcp_transport_options {
  std::chrono::milliseconds heartbeat_interval{1000};   ///< a heartbeat after this long without sending...
  std::chrono::milliseconds heartbeat_timeout{5000};    ///< ...and lost after this long without receiving
  std::size_t max_frame_bytes = 64 << 20;               ///< a larger frame breaks the connection
  std::chrono::milliseconds handshake_interval{10000};  ///< to connect and exchange hellos
  std::size_t send_high_water_mark = 64;                ///< frames queued per connection beyond the kernel's buffer
  std::size_t max_unadmitted = 64;                      ///< connections without a verdict yet; more are hung up on
  /// How long a connection we close keeps writing what the kernel has not
  /// taken yet (a goodbye behind a backlog), as ZeroMQ's linger.
  std::chrono::milliseconds linger{200};
  /// Listening: admit each new connection through `transport_handler::admit`.
  bool require_admission = false;
  /// Dialing: what to present to the node named by the argument, asked once
  /// per connection; unset: present nothing.
  std::function<dial_credentials(const std::string& peer)> credentials;
};

/// What the transport has counted, for stats and tests.
struct tcp_transport_stats {
  std::uint64_t send_refused = 0;        ///< sends to unknown, lost or full connections
  std::uint64_t disconnects = 0;         ///< connections lost (not closed by us)
  std::uint64_t heartbeat_timeouts = 0;  ///< ...of them, silent past heartbeat_timeout
  std::uint64_t oversized_frames = 0;    ///< ...of them, for a frame past max_frame_bytes
  std::uint64_t dials_refused = 0;       ///< our dials the peer refused at admission
  std::uint64_t handshakes_refused = 0;  ///< inbound connections refused, malformed, too slow to say hello, or too many
  std::uint64_t accepts_failed = 0;      ///< out of descriptors or memory: accepting paused until the next timers
};

class tcp_transport final : public transport {
 public:
  explicit tcp_transport(tcp_transport_options options = {});
  ~tcp_transport() override;
  tcp_transport(const tcp_transport&) = delete;
  tcp_transport& operator=(const tcp_transport&) = delete;

  /// Listens on `ip:port` (an address, not a host name); port 0 lets the
  /// system choose one (see `bound_port`).
  result<void> bind(const std::string& ip, std::uint16_t port);
  /// The port it listens on; 0 before `bind`.
  std::uint16_t bound_port() const;

  /// Readable while the transport has something to serve (its epoll set),
  /// for an owner that waits on more than this transport; it then calls
  /// `read_ready`. The timers (heartbeats, timeouts) need a call at least
  /// every `timer_grain()` too.
  int descriptor() const { return epoll_fd_; }
  std::chrono::milliseconds timer_grain() const { return timer_grain_; }

  /// Waits up to `timeout` for traffic or `wake_fd`, then serves what is ready.
  poll_outcome poll(std::chrono::milliseconds timeout, int wake_fd = -1);
  /// Serves what is ready without waiting (one epoll_wait when nothing is),
  /// and the timers when due: true if frames arrived.
  bool read_ready();

  const tcp_transport_stats& stats() const { return stats_; }

  // transport
  void set_handler(transport_handler* h) override { handler_ = h; }
  result<conn_id> connect(const std::string& host, std::uint16_t port, const std::string& peer = {}) override;
  bool send(conn_id c, std::span<const std::uint8_t> frame) override;
  void close(conn_id c) override;
  std::string peer_address(conn_id c) const override;

 private:
  using clock = std::chrono::steady_clock;
  enum class phase { connecting, awaiting_hello, awaiting_verdict, open };
  struct connection {
    explicit connection(asio::ip::tcp::socket s) : socket(std::move(s)) {}
    asio::ip::tcp::socket socket;
    conn_id id = 0;
    phase at = phase::connecting;
    bool outbound = false;
    bool lost = false;        ///< broken: reported at the end of the turn
    bool watched = false;     ///< in the epoll set
    bool want_write = false;  ///< EPOLLOUT is armed
    std::string address;      ///< the peer's IP address
    clock::time_point opened, last_in, last_out;
    std::vector<std::uint8_t> in;  ///< bytes read, [in_start, in_end) not yet parsed
    std::size_t in_start = 0, in_end = 0;
    std::deque<std::vector<std::uint8_t>> out;  ///< whole frames, header included, not yet written
    std::size_t out_written = 0;                ///< bytes of out.front() already written
    bool hello_queued = false;                  ///< out.front() is our hello: until the verdict, only it goes out
    clock::time_point closing_until{};          ///< closed by us with frames unwritten: written until then
  };

  /// Serves one epoll_wait's events (waiting up to `timeout_ms`); true if
  /// frames arrived.
  bool serve(int timeout_ms);
  void accept_all();
  void pause_accepting(bool paused);
  /// Ends our side of a connection we close: no more writes, unread input discarded.
  void hang_up(connection& conn);
  /// Writes what connections we closed still hold; closes those done or past their linger.
  void serve_closing(clock::time_point now);
  void finish_connect(connection& conn);
  /// Reads up to the turn's budget and handles the frames; true if any
  /// was delivered.
  bool read(conn_id c);
  /// Handles one frame; false if the connection must not be read further.
  bool on_frame(conn_id c, connection& conn, std::span<const std::uint8_t> frame);
  void on_hello(connection& conn, std::span<const std::uint8_t> hello);
  void on_verdict(connection& conn, std::span<const std::uint8_t> verdict);
  /// Writes what the kernel takes; arms or disarms EPOLLOUT to match.
  void flush(connection& conn);
  /// Appends a frame, header included, behind what waits to be written.
  void queue(connection& conn, std::span<const std::uint8_t> frame);
  void watch(connection& conn, bool want_write);
  /// Marks a connection broken. The handler hears of it at the end of the
  /// turn (`report_lost`), never from inside one of its own calls.
  void lose(connection& conn) { conn.lost = true; }
  /// Takes a connection out of service; it is freed after the turn, so a
  /// frame handed to the handler stays valid while the handler runs.
  void retire(conn_id c);
  void report_lost();
  void run_timers(clock::time_point now);

  tcp_transport_options options_;
  std::chrono::milliseconds timer_grain_;
  transport_handler* handler_ = nullptr;
  tcp_transport_stats stats_;
  asio::io_context io_;  // Asio's sockets need one; nothing runs on it
  asio::ip::tcp::acceptor acceptor_{io_};
  int epoll_fd_ = -1;
  conn_id next_id_ = 1;  // 0 names the acceptor in epoll events
  std::map<conn_id, std::unique_ptr<connection>> conns_;
  std::vector<std::unique_ptr<connection>> retired_;
  std::vector<std::unique_ptr<connection>> closing_;  ///< see connection::closing_until
  bool accept_paused_ = false;
  clock::time_point next_timers_{};
};

}  // namespace cluster::internal
