#include "transport/zmq_transport.hpp"

#include <atomic>
#include <cstring>
#include <vector>

namespace cluster::internal {
namespace {

struct monitor_event {
  std::uint16_t event = 0;
  std::int32_t value = 0;  // the file descriptor for connection events
};

// Reads one event from a monitor socket (two frames: 6-byte header, endpoint).
std::optional<monitor_event> read_event(zmq::socket_t& monitor) {
  zmq::message_t header;
  if (!monitor.recv(header, zmq::recv_flags::dontwait)) return std::nullopt;
  monitor_event e;
  if (header.size() >= 6) {
    std::memcpy(&e.event, header.data(), 2);
    std::memcpy(&e.value, static_cast<const char*>(header.data()) + 2, 4);
  }
  while (header.more()) {
    zmq::message_t rest;
    if (!monitor.recv(rest, zmq::recv_flags::dontwait)) break;
    header.swap(rest);
  }
  return e;
}

// "::ffff:10.0.0.5" -> "10.0.0.5": our sockets take IPv6, and one source
// must have one name, whether it comes from ZAP or from message metadata.
std::string plain_address(std::string address) {
  constexpr std::string_view mapped = "::ffff:";
  if (address.starts_with(mapped) && address.find('.') != std::string::npos) address.erase(0, mapped.size());
  return address;
}

std::string endpoint(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

zmq_transport::zmq_transport(zmq::context_t& ctx, zmq_transport_options options) : ctx_(ctx), options_(options) {}

zmq_transport::~zmq_transport() {
  if (router_) stop_monitor(*router_);
}

void zmq_transport::stop_monitor(zmq::socket_t& s) noexcept {
  if (s.handle() != nullptr) zmq_socket_monitor(s.handle(), nullptr, 0);
}

void zmq_transport::configure(zmq::socket_t& s) const {
  s.set(zmq::sockopt::linger, 200);  // a final reject or goodbye still gets out
  s.set(zmq::sockopt::sndhwm, options_.send_high_water_mark);
  s.set(zmq::sockopt::heartbeat_ivl, static_cast<int>(options_.heartbeat_interval.count()));
  s.set(zmq::sockopt::heartbeat_timeout, static_cast<int>(options_.heartbeat_timeout.count()));
  s.set(zmq::sockopt::heartbeat_ttl, static_cast<int>(options_.heartbeat_timeout.count()));
  s.set(zmq::sockopt::maxmsgsize, options_.max_frame_bytes);
  s.set(zmq::sockopt::ipv6, 1);
  s.set(zmq::sockopt::handshake_ivl, static_cast<int>(options_.handshake_interval.count()));
}

std::uint16_t zmq_transport::bound_port() const {
  if (!router_) return 0;
  const auto last = router_->get(zmq::sockopt::last_endpoint);  // tcp://host:port
  return static_cast<std::uint16_t>(std::stoul(last.substr(last.rfind(':') + 1)));
}

zmq::socket_t zmq_transport::monitor_of(zmq::socket_t& s, int events) {
  // Unique in the process: a closed socket's monitor endpoint stays bound
  // until ZeroMQ has finished closing it, and a new transport may be
  // allocated where an old one was.
  static std::atomic<std::uint64_t> next_monitor{1};
  const std::string address = "inproc://cluster-monitor-" + std::to_string(next_monitor.fetch_add(1));
  if (zmq_socket_monitor(s.handle(), address.c_str(), events) != 0) throw zmq::error_t();
  zmq::socket_t m(ctx_, zmq::socket_type::pair);
  m.set(zmq::sockopt::linger, 0);
  m.connect(address);
  return m;
}

result<void> zmq_transport::bind(const std::string& ip, std::uint16_t port) {
  try {
    auto router = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::router);
    configure(*router);
    router->set(zmq::sockopt::router_mandatory, 1);
    if (options_.require_admission && !zap_) {
      // ZeroMQ sends every new connection's PLAIN credentials to this fixed
      // endpoint and waits for our verdict before reading its messages.
      auto zap = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::rep);
      zap->set(zmq::sockopt::linger, 0);
      try {
        zap->bind("inproc://zeromq.zap.01");
      } catch (const zmq::error_t& e) {
        return error{errc::io_error, std::string("cannot answer ZeroMQ's admission requests (is another "
                                                 "admitting transport using this ZeroMQ context?): ") +
                                         e.what()};
      }
      zap_ = std::move(zap);
    }
    if (options_.require_admission) {
      router->set(zmq::sockopt::plain_server, 1);
      router->set(zmq::sockopt::zap_domain, "libcluster");
    }
    // The monitor first: events of a connection that comes at once are not lost.
    auto monitor = std::make_unique<zmq::socket_t>(
        monitor_of(*router, ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL));
    try {
      router->bind(endpoint(ip, port));
    } catch (...) {
      stop_monitor(*router);
      throw;
    }
    router_monitor_ = std::move(monitor);
    router_fd_ = router->get(zmq::sockopt::fd);
    router_ = std::move(router);
    return {};
  } catch (const zmq::error_t& e) {
    if (e.num() == EADDRINUSE)
      return error{errc::io_error, "port " + std::to_string(port) + " on " + ip + " is already in use"};
    return error{errc::io_error, "cannot listen on " + ip + ":" + std::to_string(port) + ": " + e.what()};
  }
}

result<conn_id> zmq_transport::connect(const std::string& host, std::uint16_t port, const std::string& peer) {
  try {
    outbound o(zmq::socket_t(ctx_, zmq::socket_type::dealer), zmq::socket_t());
    configure(o.dealer);
    if (options_.credentials) {
      const dial_credentials cr = options_.credentials(peer);
      o.dealer.set(zmq::sockopt::plain_username, cr.username);
      o.dealer.set(zmq::sockopt::plain_password, cr.password);
    }
    // The monitor before the connect: a refusal can come back before a
    // monitor attached afterwards would see it, and ZeroMQ does not retry.
    o.monitor =
        monitor_of(o.dealer, ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    o.dealer.connect(endpoint(host, port));
    o.fd = o.dealer.get(zmq::sockopt::fd);
    const conn_id c = next_id_++;
    outbound_.emplace(c, std::move(o));
    return c;
  } catch (const zmq::error_t& e) {
    // Out of sockets or descriptors, or an address ZeroMQ will not take.
    return error{errc::io_error, "cannot dial " + host + ":" + std::to_string(port) + ": " + e.what()};
  }
}

bool zmq_transport::send(conn_id c, std::span<const std::uint8_t> frame) {
  try {
    if (const auto it = outbound_.find(c); it != outbound_.end()) {
      it->second.drained = false;  // a send may take the descriptor's signal (read_ready)
      if (it->second.dealer.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::dontwait)) return true;
    } else if (const auto id = routing_id_of_.find(c); id != routing_id_of_.end() && router_) {
      router_drained_ = false;
      if (router_->send(zmq::buffer(id->second), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
          router_->send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::dontwait))
        return true;
    }
  } catch (const zmq::error_t&) {
    // EHOSTUNREACH: the peer is gone (router_mandatory); counted below
  }
  ++stats_.send_refused;
  return false;
}

std::string zmq_transport::peer_address(conn_id c) const {
  const auto it = peer_address_of_.find(c);
  return it == peer_address_of_.end() ? std::string() : it->second;
}

void zmq_transport::forget_inbound(conn_id c) {
  peer_address_of_.erase(c);
  if (const auto id = routing_id_of_.find(c); id != routing_id_of_.end()) {
    inbound_by_routing_id_.erase(id->second);
    routing_id_of_.erase(id);
  }
  if (const auto fd = fd_of_.find(c); fd != fd_of_.end()) {
    if (const auto by_fd = inbound_by_fd_.find(fd->second); by_fd != inbound_by_fd_.end() && by_fd->second == c)
      inbound_by_fd_.erase(by_fd);
    fd_of_.erase(fd);
  }
}

void zmq_transport::close(conn_id c) {
  if (outbound_.erase(c) > 0) return;
  // ZeroMQ cannot hang up on one ROUTER peer: ignore it from now on, until its
  // descriptor disconnects.
  if (const auto id = routing_id_of_.find(c); id != routing_id_of_.end()) {
    closed_routing_ids_.insert(id->second);
    if (const auto fd = fd_of_.find(c); fd != fd_of_.end()) closed_by_fd_[fd->second] = id->second;
  }
  forget_inbound(c);
}

bool zmq_transport::read_router(std::size_t budget) {
  bool any = false;
  for (std::size_t read = 0; read < budget;) {
    zmq::message_t id;
    router_drained_ = false;  // until a recv finds nothing (read_ready)
    if (!router_->recv(id, zmq::recv_flags::dontwait)) {
      router_drained_ = true;
      return any;
    }
    any = true;
    std::vector<zmq::message_t> parts;
    bool more = id.more();
    while (more) {
      zmq::message_t part;
      if (!router_->recv(part, zmq::recv_flags::dontwait)) break;
      more = part.more();
      read += part.size();
      parts.push_back(std::move(part));
    }
    std::string routing_id = id.to_string();
    if (closed_routing_ids_.count(routing_id) || parts.size() != 1) {
      ++stats_.dropped_from_closed;
      continue;
    }
    conn_id c;
    if (const auto it = inbound_by_routing_id_.find(routing_id); it != inbound_by_routing_id_.end()) {
      c = it->second;
    } else {
      c = next_id_++;
      inbound_by_routing_id_.emplace(routing_id, c);
      routing_id_of_.emplace(c, std::move(routing_id));
      if (const char* address = zmq_msg_gets(parts[0].handle(), "Peer-Address"))
        peer_address_of_.emplace(c, plain_address(address));
      // The C call: cppzmq's get() throws where the peer's message has no
      // descriptor metadata (older ZMTP versions); -1 means unknown.
      const int fd = zmq_msg_get(parts[0].handle(), ZMQ_SRCFD);
      if (fd >= 0) {
        // The descriptor was reused, so its previous connection is gone: its
        // DISCONNECTED event is still on the way and must then be ignored.
        if (const auto old = inbound_by_fd_.find(fd); old != inbound_by_fd_.end()) {
          const conn_id gone = old->second;
          ++stale_disconnects_[fd];
          forget_inbound(gone);
          if (handler_) handler_->on_closed(gone);
        }
        if (const auto closed = closed_by_fd_.find(fd); closed != closed_by_fd_.end()) {
          // That connection is gone (the descriptor is new), and its
          // DISCONNECTED event, not read yet, must then be ignored. (Should
          // ZeroMQ's fair queueing hand us the new peer's first frame before
          // the old one's last, those would now pass for a new connection's:
          // a malformed frame, counted, from a peer we had dropped anyway.)
          closed_routing_ids_.erase(closed->second);
          closed_by_fd_.erase(closed);
          ++stale_disconnects_[fd];
        }
        inbound_by_fd_[fd] = c;
        fd_of_[c] = fd;
      }
    }
    if (handler_) handler_->on_frame(c, {static_cast<const std::uint8_t*>(parts[0].data()), parts[0].size()});
  }
  return any;
}

void zmq_transport::read_router_monitor() {
  while (auto e = read_event(*router_monitor_)) {
    // Refused at admission, or not speaking ZMTP as we do (no credentials,
    // garbage, too slow): closed by ZeroMQ before any message was read.
    if (e->event != ZMQ_EVENT_DISCONNECTED) {
      ++stats_.handshakes_refused;
      continue;
    }
    ++stats_.disconnects;
    const int fd = e->value;
    if (consume_stale_disconnect(fd)) continue;
    // The connection this event ends: one we closed, or a live one.
    std::string gone;  // its routing id
    std::optional<conn_id> live;
    if (const auto closed = closed_by_fd_.find(fd); closed != closed_by_fd_.end()) {
      gone = closed->second;
    } else if (const auto in = inbound_by_fd_.find(fd); in != inbound_by_fd_.end()) {
      live = in->second;
      if (const auto id = routing_id_of_.find(*live); id != routing_id_of_.end()) gone = id->second;
    } else {
      continue;
    }
    // What it sent before it went (a goodbye) is read first: a live peer's
    // is delivered, a closed one's dropped, and neither is taken for a new
    // connection's. No byte budget, so all of it is read (other peers'
    // frames come along, as in any turn).
    read_router();
    if (const auto closed = closed_by_fd_.find(fd); closed != closed_by_fd_.end() && closed->second == gone) {
      // Closed before, or by the handler during the drain: this event ends it.
      closed_routing_ids_.erase(closed->second);
      closed_by_fd_.erase(closed);
      continue;
    }
    if (live && routing_id_of_.contains(*live)) {
      forget_inbound(*live);
      if (handler_) handler_->on_closed(*live);
      continue;
    }
    // The drain saw the descriptor reused by a newer connection, and counted
    // this very event as stale (to be ignored): it is that event.
    consume_stale_disconnect(fd);
  }
}

bool zmq_transport::consume_stale_disconnect(int fd) {
  const auto stale = stale_disconnects_.find(fd);
  if (stale == stale_disconnects_.end()) return false;
  if (--stale->second == 0) stale_disconnects_.erase(stale);
  return true;
}

void zmq_transport::serve_admission() {
  for (;;) {
    // RFC 27: version, request id, domain, address, routing id, mechanism, credentials...
    std::vector<zmq::message_t> request;
    do {
      zmq::message_t part;
      if (!zap_->recv(part, zmq::recv_flags::dontwait)) {
        if (request.empty()) return;
        break;  // not expected: ZeroMQ queues whole requests
      }
      request.push_back(std::move(part));
    } while (request.back().more());
    const bool plain = request.size() == 8 && request[5].to_string_view() == "PLAIN";
    admission_answer answer = admission_answer::refuse;
    try {
      if (plain && handler_)
        answer = handler_->admit(plain_address(request[3].to_string()), request[6].to_string_view(),
                                 request[7].to_string_view());
    } catch (const std::exception&) {
      answer = admission_answer::refuse;  // the REP socket owes ZeroMQ an answer whatever happens
    }
    const std::string status = std::to_string(static_cast<int>(answer));
    const std::string_view reply[] = {"1.0",  request.size() > 1 ? request[1].to_string_view() : "",
                                      status, answer == admission_answer::admit ? "OK" : "refused",
                                      "",     ""};
    for (std::size_t i = 0; i < std::size(reply); ++i)
      zap_->send(zmq::buffer(reply[i]), i + 1 < std::size(reply) ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

bool zmq_transport::read_dealer(conn_id c, std::size_t budget) {
  bool any = false;
  for (std::size_t read = 0; read < budget;) {
    const auto it = outbound_.find(c);
    if (it == outbound_.end()) return any;  // closed by the handler meanwhile
    zmq::message_t frame;
    it->second.drained = false;  // until a recv finds nothing (read_ready)
    if (!it->second.dealer.recv(frame, zmq::recv_flags::dontwait)) {
      it->second.drained = true;
      return any;
    }
    any = true;
    read += frame.size();
    if (handler_) handler_->on_frame(c, {static_cast<const std::uint8_t*>(frame.data()), frame.size()});
  }
  return any;
}

bool zmq_transport::read_ready() {
  // One poll(2) over the sockets' notification descriptors rather than a
  // recv on each: an empty recv costs libzmq two system calls (its fork
  // check, getpid, then a poll of that same descriptor), and a busy-waiting
  // owner turns every few microseconds. The descriptor signals new input
  // only to a socket whose reader found it empty: a recv that found nothing
  // (drained). Frames can wait unannounced otherwise, so a socket not
  // drained is read without asking: a new one (a fresh DEALER's pipe takes
  // frames without a signal until first read dry), one read up to its
  // budget, one sent on since (a send may process the socket's commands and
  // so take the signal). poll's zmq_poll takes signals too, but it reads
  // every socket it then reports readable.
  ready_fds_.clear();
  dealers_.clear();  // by id, as poll does: the handler may close connections as it reads
  if (router_) ready_fds_.push_back({router_fd_, POLLIN, 0});
  for (const auto& [c, o] : outbound_) {
    ready_fds_.push_back({o.fd, POLLIN, 0});
    dealers_.push_back(c);
  }
  if (::poll(ready_fds_.data(), ready_fds_.size(), 0) < 0)
    for (auto& p : ready_fds_) p.revents = POLLIN;  // failed (EINTR): look at every socket
  bool any = false;
  std::size_t at = 0;
  if (router_) {
    const bool signaled = ready_fds_[at++].revents != 0;
    if (signaled || !router_drained_) any = read_router(read_budget);
  }
  for (const conn_id c : dealers_) {
    const bool signaled = ready_fds_[at++].revents != 0;
    const auto it = outbound_.find(c);
    if (it != outbound_.end() && (signaled || !it->second.drained)) any = read_dealer(c, read_budget) || any;
  }
  return any;
}

bool zmq_transport::read_dealer_monitor(conn_id c) {
  const auto it = outbound_.find(c);
  if (it == outbound_.end()) return false;
  bool lost = false, refused = false;
  std::optional<admission_answer> answer;
  while (auto e = read_event(it->second.monitor)) {
    if (e->event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) it->second.admitted = true;
    // A handshake cut short is a lost connection too: closed now, before
    // ZeroMQ redials with a token the peer has already seen.
    if (e->event == ZMQ_EVENT_DISCONNECTED || e->event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) lost = true;
    if (e->event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      refused = true;
      answer =
          e->value == static_cast<int>(admission_answer::later) ? admission_answer::later : admission_answer::refuse;
    }
    if (e->event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) refused = true;
  }
  // Closed by the peer inside ZeroMQ's handshake: libzmq does not always get
  // to report the refusal itself (the peer's close can overtake its ERROR).
  if (lost && !it->second.admitted) refused = true;
  if (refused) {
    // Closed now, or ZeroMQ would keep redialing with a spent token.
    ++stats_.dials_refused;
    outbound_.erase(it);
    if (handler_) handler_->on_refused(c, answer);
    return true;
  }
  if (!lost) return false;
  read_dealer(c, SIZE_MAX);  // frames the peer sent before it went (a goodbye) first
  const auto still = outbound_.find(c);
  if (still == outbound_.end()) return true;  // the handler closed it meanwhile
  ++stats_.disconnects;
  outbound_.erase(still);
  if (handler_) handler_->on_closed(c);
  return true;
}

poll_outcome zmq_transport::poll(std::chrono::milliseconds timeout, int wake_fd, int also_fd) {
  std::vector<zmq::pollitem_t> items;
  std::vector<conn_id> owners;  // for dealer and dealer-monitor items
  if (wake_fd >= 0) items.push_back({nullptr, wake_fd, ZMQ_POLLIN, 0});
  if (also_fd >= 0) items.push_back({nullptr, also_fd, ZMQ_POLLIN, 0});
  const std::size_t zap_at = items.size();
  if (zap_) items.push_back({zap_->handle(), 0, ZMQ_POLLIN, 0});
  const std::size_t router_at = items.size();
  if (router_) {
    items.push_back({router_monitor_->handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({router_->handle(), 0, ZMQ_POLLIN, 0});
  }
  const std::size_t dealers_at = items.size();
  for (auto& [c, o] : outbound_) {
    items.push_back({o.monitor.handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({o.dealer.handle(), 0, ZMQ_POLLIN, 0});
    owners.push_back(c);
  }
  int ready = 0;
  try {
    ready = zmq::poll(items.data(), items.size(), timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return {};  // a signal: the owner looks at its flags and polls again
    throw;
  }
  poll_outcome seen;
  seen.woken = wake_fd >= 0 && (items[0].revents & ZMQ_POLLIN);
  seen.traffic = ready > (seen.woken ? 1 : 0);

  if (zap_ && (items[zap_at].revents & ZMQ_POLLIN)) serve_admission();
  // Monitors first: a lost connection is known before a new one on a reused
  // descriptor speaks.
  if (router_) {
    if (items[router_at].revents & ZMQ_POLLIN) read_router_monitor();
    if (items[router_at + 1].revents & ZMQ_POLLIN) read_router(read_budget);
  }
  for (std::size_t i = 0; i < owners.size(); ++i) {
    const auto& monitor = items[dealers_at + 2 * i];
    const auto& dealer = items[dealers_at + 2 * i + 1];
    if (dealer.revents & ZMQ_POLLIN) read_dealer(owners[i], read_budget);
    if (monitor.revents & ZMQ_POLLIN) read_dealer_monitor(owners[i]);
  }
  return seen;
}

}  // namespace cluster::internal
