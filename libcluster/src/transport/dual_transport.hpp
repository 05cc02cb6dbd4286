// Two transports behind one interface, for a node: ZeroMQ for clients and a
// node's first contact (at the port in its name, which seeds and membership
// know), and plain TCP for the links between nodes (at its dist port, which
// the first contact's handshake announces: see links/link_manager.hpp).
//
// Connection ids of the direct lane carry the top bit, so the two never
// meet; each inner transport reports to this one, which reports to the
// handler with the id it knows. Not thread-safe, as its parts.
#pragma once

#include "transport/tcp_transport.hpp"
#include "transport/zmq_transport.hpp"

namespace cluster::internal {

class dual_transport final : public transport {
 public:
  dual_transport(zmq_transport& standard, tcp_transport& direct);

  void set_handler(transport_handler* h) override { handler_ = h; }
  result<conn_id> connect(const std::string& host, std::uint16_t port, const std::string& peer) override;
  result<conn_id> connect_direct(const std::string& host, std::uint16_t port, const std::string& peer) override;
  bool direct(conn_id c) const override { return (c & direct_bit) != 0; }
  bool send(conn_id c, std::span<const std::uint8_t> frame) override;
  void close(conn_id c) override;
  std::string peer_address(conn_id c) const override;

 private:
  static constexpr conn_id direct_bit = conn_id{1} << 63;

  /// Reports one lane's events with the ids this transport gives out.
  class lane final : public transport_handler {
   public:
    lane(dual_transport& owner, conn_id tag) : owner_(owner), tag_(tag) {}
    void on_frame(conn_id c, std::span<const std::uint8_t> frame) override;
    void on_closed(conn_id c) override;
    void on_refused(conn_id c, std::optional<admission_answer> answer) override;
    admission_answer admit(const std::string& address, std::string_view username, std::string_view password) override;

   private:
    dual_transport& owner_;
    conn_id tag_;
  };

  zmq_transport& standard_;
  tcp_transport& direct_;
  transport_handler* handler_ = nullptr;
  lane standard_lane_{*this, 0}, direct_lane_{*this, direct_bit};
};

}  // namespace cluster::internal
