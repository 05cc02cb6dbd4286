#include "transport/dual_transport.hpp"

namespace cluster::internal {

dual_transport::dual_transport(zmq_transport& standard, tcp_transport& direct) : standard_(standard), direct_(direct) {
  standard_.set_handler(&standard_lane_);
  direct_.set_handler(&direct_lane_);
}

result<conn_id> dual_transport::connect(const std::string& host, std::uint16_t port, const std::string& peer) {
  return standard_.connect(host, port, peer);
}

result<conn_id> dual_transport::connect_direct(const std::string& host, std::uint16_t port, const std::string& peer) {
  auto c = direct_.connect(host, port, peer);
  if (!c) return c.err();
  return *c | direct_bit;
}

bool dual_transport::send(conn_id c, std::span<const std::uint8_t> frame) {
  return direct(c) ? direct_.send(c & ~direct_bit, frame) : standard_.send(c, frame);
}

void dual_transport::close(conn_id c) {
  if (direct(c))
    direct_.close(c & ~direct_bit);
  else
    standard_.close(c);
}

std::string dual_transport::peer_address(conn_id c) const {
  return direct(c) ? direct_.peer_address(c & ~direct_bit) : standard_.peer_address(c);
}

void dual_transport::lane::on_frame(conn_id c, std::span<const std::uint8_t> frame) {
  if (owner_.handler_) owner_.handler_->on_frame(c | tag_, frame);
}

void dual_transport::lane::on_closed(conn_id c) {
  if (owner_.handler_) owner_.handler_->on_closed(c | tag_);
}

void dual_transport::lane::on_refused(conn_id c, std::optional<admission_answer> answer) {
  if (owner_.handler_) owner_.handler_->on_refused(c | tag_, answer);
}

admission_answer dual_transport::lane::admit(const std::string& address, std::string_view username,
                                             std::string_view password) {
  return owner_.handler_ ? owner_.handler_->admit(address, username, password) : admission_answer::admit;
}

}  // namespace cluster::internal
