// The ZeroMQ data plane: one ROUTER bound for inbound connections (nodes and
// clients), one DEALER per outbound connection. A connection is bidirectional:
// the acceptor answers through the ROUTER to the peer's routing id.
//
// Lost connections are reported from ZeroMQ socket monitors: a DEALER's
// DISCONNECTED event names its connection; on the ROUTER, the event's file
// descriptor is matched with the descriptor each inbound connection's first
// frame came from (ZMQ_SRCFD). A DEALER is closed as soon as it disconnects, so
// ZeroMQ never silently reconnects it to a restarted peer that has not
// authenticated it. ZMTP heartbeats catch peers that stop answering.
//
// Admission (optional): a listener can require every dialer to present a
// user name and password in ZeroMQ's own handshake (ZMTP PLAIN). The
// transport answers ZeroMQ's authentication requests (ZAP) by asking its
// handler (`transport_handler::admit`), so a stranger's connection is closed
// before ZeroMQ reads any message from it. ZAP is per context: one admitting
// transport per zmq::context_t.
//
// Not thread-safe: every call, and `poll`, on the thread that owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include <poll.h>

#include <zmq.hpp>

#include "transport/transport.hpp"

namespace cluster::internal {

struct zmq_transport_options {
  std::chrono::milliseconds heartbeat_interval{1000};   ///< ZMTP PING every...
  std::chrono::milliseconds heartbeat_timeout{5000};    ///< ...and drop after this long without traffic
  int send_high_water_mark = 100000;                    ///< frames queued per connection
  std::int64_t max_frame_bytes = 64 << 20;              ///< ZeroMQ refuses larger frames
  std::chrono::milliseconds handshake_interval{10000};  ///< ZeroMQ's own handshake, admission included
  /// Listening: admit each new connection through `transport_handler::admit`.
  bool require_admission = false;
  /// Dialing: what to present at the admission of the node named by the
  /// argument, asked once per connection (tokens are single-use); unset:
  /// dial without.
  std::function<dial_credentials(const std::string& peer)> credentials;
};

/// What the transport has counted, for stats and tests.
struct zmq_transport_stats {
  std::uint64_t dropped_from_closed = 0;  ///< frames from connections we had closed
  std::uint64_t send_refused = 0;         ///< sends to unknown/full connections
  std::uint64_t disconnects = 0;
  std::uint64_t dials_refused = 0;       ///< our dials the peer refused in ZeroMQ's handshake
  std::uint64_t handshakes_refused = 0;  ///< inbound connections that failed ZeroMQ's handshake (admission included)
};

class zmq_transport final : public transport {
 public:
  explicit zmq_transport(zmq::context_t& ctx, zmq_transport_options options = {});
  ~zmq_transport() override;

  /// Binds the ROUTER to `ip:port` (an address, not a host name); port 0
  /// lets the system choose one (see `bound_port`).
  result<void> bind(const std::string& ip, std::uint16_t port);
  /// The port the ROUTER listens on; 0 before `bind`.
  std::uint16_t bound_port() const;

  /// Waits up to `timeout` for traffic and delivers it to the handler.
  /// `also_fd` (another transport's descriptor) ends the wait too, and
  /// counts as traffic; its owner serves it.
  poll_outcome poll(std::chrono::milliseconds timeout, int wake_fd = -1, int also_fd = -1);
  /// Delivers the frames the data sockets hold, without waiting: true if
  /// there were any. Cheaper than `poll(0)` (no zmq_poll over every socket
  /// and descriptor; one system call when nothing came or was sent), for an
  /// owner that busy-waits; it must still `poll` now and then, which alone
  /// serves admission and the monitors. Unlike `poll` it reads the ROUTER
  /// before the monitors have spoken: a descriptor reused by a new
  /// connection is recognized by its first frame either way.
  bool read_ready();

  const zmq_transport_stats& stats() const { return stats_; }

  // transport
  void set_handler(transport_handler* h) override { handler_ = h; }
  result<conn_id> connect(const std::string& host, std::uint16_t port, const std::string& peer = {}) override;
  bool send(conn_id c, std::span<const std::uint8_t> frame) override;
  void close(conn_id c) override;
  std::string peer_address(conn_id c) const override;

 private:
  /// An outbound connection's DEALER and the monitor that reports its loss.
  struct outbound {
    zmq::socket_t dealer;
    zmq::socket_t monitor;
    bool admitted = false;  ///< ZeroMQ's handshake (admission) has succeeded
    int fd = -1;            ///< ZeroMQ's notification descriptor (ZMQ_FD)
    bool drained = false;   ///< a recv found nothing, and no send since (read_ready)
    outbound(zmq::socket_t d, zmq::socket_t m) : dealer(std::move(d)), monitor(std::move(m)) {}
    outbound(outbound&&) = default;
    outbound& operator=(outbound&&) = default;
    ~outbound() { stop_monitor(dealer); }
  };
  /// Stops reporting a socket's events before its monitor is closed. libzmq's
  /// I/O thread sends events with a blocking send; a socket closes
  /// asynchronously, so a peer hanging up on it after our end of the monitor
  /// is gone would block that thread, and every connection with it, forever.
  static void stop_monitor(zmq::socket_t& s) noexcept;
  void configure(zmq::socket_t& s) const;
  zmq::socket_t monitor_of(zmq::socket_t& s, int events);
  /// Reads inbound frames until none is left or `budget` bytes were read;
  /// true if there was any.
  bool read_router(std::size_t budget = SIZE_MAX);
  void read_router_monitor();
  /// True if `fd`'s next DISCONNECTED event was already acted on (counted
  /// in stale_disconnects_), and takes that count away.
  bool consume_stale_disconnect(int fd);
  /// Answers ZeroMQ's pending authentication requests (ZAP, RFC 27).
  void serve_admission();
  bool read_dealer(conn_id c, std::size_t budget);  ///< as read_router
  /// Bytes read per socket per `poll`: the owner's thread gets back to its
  /// own sends between reads, so a long stream in (a large message) cannot
  /// hold up the replies it should be sending meanwhile.
  static constexpr std::size_t read_budget = 1u << 20;
  bool read_dealer_monitor(conn_id c);  ///< true if the connection was lost
  void forget_inbound(conn_id c);

  zmq::context_t& ctx_;
  zmq_transport_options options_;
  transport_handler* handler_ = nullptr;
  conn_id next_id_ = 1;
  zmq_transport_stats stats_;

  std::unique_ptr<zmq::socket_t> zap_;  ///< ZeroMQ's authentication requests, when admitting
  std::unique_ptr<zmq::socket_t> router_;
  std::unique_ptr<zmq::socket_t> router_monitor_;
  int router_fd_ = -1;           ///< the ROUTER's ZMQ_FD
  bool router_drained_ = false;  ///< as outbound::drained
  std::map<std::string, conn_id> inbound_by_routing_id_;
  std::unordered_map<conn_id, std::string> routing_id_of_;
  std::unordered_map<int, conn_id> inbound_by_fd_;
  std::unordered_map<conn_id, int> fd_of_;
  std::unordered_map<conn_id, std::string> peer_address_of_;  ///< inbound connections' source IPs
  std::set<std::string> closed_routing_ids_;
  std::unordered_map<int, std::string> closed_by_fd_;  ///< descriptors of closed connections
  std::unordered_map<int, int> stale_disconnects_;     ///< DISCONNECTED events already acted on

  std::map<conn_id, outbound> outbound_;
  std::vector<conn_id> dealers_;   ///< read_ready's list of outbound_, kept to spare an allocation per call
  std::vector<pollfd> ready_fds_;  ///< read_ready's descriptors, likewise
};

}  // namespace cluster::internal
