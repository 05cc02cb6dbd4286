// The data-plane transport, as seen by the protocol engines: connections that
// carry frames (byte strings), opened by us (outbound) or by others (inbound).
//
// Implementations: `zmq_transport` (one ROUTER for inbound, one DEALER per
// outbound connection) and `testing::sim_network` (in memory, seeded loss,
// delay and partitions). A transport and its handler are used from one thread
// only: the thread that drives the engine.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "cluster/error.hpp"

namespace cluster::internal {

/// Names one connection for as long as it lives; never reused by a transport.
using conn_id = std::uint64_t;

class transport_handler {
 public:
  virtual ~transport_handler() = default;
  /// A frame arrived. A conn_id not seen before is a new inbound connection.
  virtual void on_frame(conn_id c, std::span<const std::uint8_t> frame) = 0;
  /// The connection is gone (the peer closed it, or the network failed).
  /// Not called for connections closed with `transport::close`.
  virtual void on_closed(conn_id c) = 0;
};

class transport {
 public:
  virtual ~transport() = default;
  virtual void set_handler(transport_handler* h) = 0;
  /// Opens an outbound connection. Frames sent before it is established are
  /// queued. `host` must be an address the transport can dial.
  virtual result<conn_id> connect(const std::string& host, std::uint16_t port) = 0;
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
