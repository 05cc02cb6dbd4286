// The data-plane transport, as seen by the protocol engines: connections that
// carry frames (byte strings), opened by us (outbound) or by others (inbound).
//
// Implementations: `zmq_transport` (one ROUTER for inbound, one DEALER per
// outbound connection), `tcp_transport` (plain TCP, read and written on the
// owner's thread) and `testing::sim_network` (in memory, seeded loss, delay
// and partitions). A transport and its handler are used from one thread
// only: the thread that drives the engine.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cluster/error.hpp"

namespace cluster::internal {

/// Names one connection for as long as it lives; never reused by a transport.
using conn_id = std::uint64_t;

/// A listener's verdict on a new connection, at admission, as ZAP status
/// codes. `later` is 500, not ZAP's 300 (temporary): libzmq leaves a 300
/// connection hanging without telling the dialer, and it reports 500 to it.
enum class admission_answer { admit = 200, refuse = 400, later = 500 };

/// What a dialer presents at admission (at most 255 bytes each, as ZMTP
/// PLAIN requires).
struct dial_credentials {
  std::string username, password;
};

/// What one wait of a transport's `poll` saw: the owner's wake descriptor
/// readable, and anything else ready.
struct poll_outcome {
  bool woken = false;
  bool traffic = false;
};

class transport_handler {
 public:
  virtual ~transport_handler() = default;
  /// A frame arrived. A conn_id not seen before is a new inbound connection.
  virtual void on_frame(conn_id c, std::span<const std::uint8_t> frame) = 0;
  /// The connection is gone (the peer closed it, or the network failed).
  /// Not called for connections closed with `transport::close`.
  virtual void on_closed(conn_id c) = 0;
  /// A connection we dialed was refused in the transport's own handshake:
  /// `answer` is the peer's admission verdict (`later`: our address is backed
  /// off; `refuse`: a cookie it does not take, or clocks too far apart), or
  /// nothing if the handshake failed otherwise (a peer without admission).
  virtual void on_refused(conn_id c, std::optional<admission_answer> /*answer*/) { on_closed(c); }
  /// Admission of a new inbound connection from `address`, before any of its
  /// messages is read. Only transports that admit call it.
  virtual admission_answer admit(const std::string& /*address*/, std::string_view /*username*/,
                                 std::string_view /*password*/) {
    return admission_answer::admit;
  }
};

class transport {
 public:
  virtual ~transport() = default;
  virtual void set_handler(transport_handler* h) = 0;
  /// Opens an outbound connection to the node named `peer` (name@host; the
  /// admission token is made for it). Frames sent before it is established
  /// are queued. `host` must be an address the transport can dial.
  virtual result<conn_id> connect(const std::string& host, std::uint16_t port, const std::string& peer) = 0;
  /// As `connect`, on the transport's direct lane (`dual_transport`: plain
  /// TCP to the peer's dist port); a transport with one lane has only that.
  virtual result<conn_id> connect_direct(const std::string& host, std::uint16_t port, const std::string& peer) {
    return connect(host, port, peer);
  }
  /// True if `c` runs on the direct lane of a transport that has two.
  virtual bool direct(conn_id /*c*/) const { return false; }
  /// Queues a frame; false (and counted as a drop) if the connection is gone
  /// or its queue is full.
  virtual bool send(conn_id c, std::span<const std::uint8_t> frame) = 0;
  /// Forgets a connection; later frames from it are dropped and counted.
  virtual void close(conn_id c) = 0;
  /// Where an inbound connection comes from (an IP address, no port), for
  /// per-source limits; empty if unknown.
  virtual std::string peer_address(conn_id) const { return {}; }
};

}  // namespace cluster::internal
