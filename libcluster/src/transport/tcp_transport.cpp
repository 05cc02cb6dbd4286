#include "transport/tcp_transport.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/resolve.hpp"

namespace cluster::internal {
namespace {

constexpr std::string_view magic = "LCT1";  // libcluster TCP, version 1
constexpr std::size_t header_bytes = 4;
// A hello: the magic, then each credential as a length byte and its bytes.
constexpr std::size_t max_hello_bytes = magic.size() + 2 * (1 + 255);
constexpr std::size_t verdict_bytes = magic.size() + 2;
// Bytes read per connection per turn: the owner gets back to its own sends
// between reads, so a long stream in (a large message) cannot hold up the
// replies it should be sending meanwhile.
constexpr std::size_t read_budget = 1u << 20;
constexpr std::size_t read_chunk = 64u << 10;

void put_length(std::uint8_t* to, std::uint32_t n) {
  to[0] = static_cast<std::uint8_t>(n >> 24);
  to[1] = static_cast<std::uint8_t>(n >> 16);
  to[2] = static_cast<std::uint8_t>(n >> 8);
  to[3] = static_cast<std::uint8_t>(n);
}

std::uint32_t get_length(const std::uint8_t* from) {
  return (std::uint32_t{from[0]} << 24) | (std::uint32_t{from[1]} << 16) | (std::uint32_t{from[2]} << 8) |
         std::uint32_t{from[3]};
}

std::vector<std::uint8_t> hello_of(const dial_credentials& cr) {
  std::vector<std::uint8_t> h(magic.begin(), magic.end());
  for (const std::string* s : {&cr.username, &cr.password}) {
    const std::size_t n = std::min<std::size_t>(s->size(), 255);
    h.push_back(static_cast<std::uint8_t>(n));
    h.insert(h.end(), s->begin(), s->begin() + static_cast<std::ptrdiff_t>(n));
  }
  return h;
}

std::optional<dial_credentials> parse_hello(std::span<const std::uint8_t> h) {
  if (h.size() < magic.size() || !std::equal(magic.begin(), magic.end(), h.begin())) return std::nullopt;
  std::size_t at = magic.size();
  dial_credentials cr;
  for (std::string* s : {&cr.username, &cr.password}) {
    if (at >= h.size() || h.size() - at - 1 < h[at]) return std::nullopt;
    s->assign(reinterpret_cast<const char*>(h.data()) + at + 1, h[at]);
    at += 1 + h[at];
  }
  if (at != h.size()) return std::nullopt;
  return cr;
}

std::vector<std::uint8_t> verdict_of(admission_answer a) {
  std::vector<std::uint8_t> v(magic.begin(), magic.end());
  const auto code = static_cast<std::uint16_t>(a);
  v.push_back(static_cast<std::uint8_t>(code >> 8));
  v.push_back(static_cast<std::uint8_t>(code));
  return v;
}

// "::ffff:10.0.0.5" -> "10.0.0.5": one source, one name, whichever socket
// family it came in on.
std::string plain_address(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

}  // namespace

tcp_transport::tcp_transport(tcp_transport_options options)
    : options_(std::move(options)),
      timer_grain_(std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(options_.heartbeat_interval / 4),
                              std::chrono::milliseconds(1), std::chrono::milliseconds(250))) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

tcp_transport::~tcp_transport() {
  // The goodbyes of connections closed last (a node that leaves) get their linger.
  while (!closing_.empty()) {
    const auto now = clock::now();
    serve_closing(now);
    if (!closing_.empty()) ::poll(nullptr, 0, 1);
  }
  ::close(epoll_fd_);
}

result<void> tcp_transport::bind(const std::string& ip, std::uint16_t port) {
  const std::string where = ip + ":" + std::to_string(port);
  asio::error_code ec;
  const auto address = asio::ip::make_address(ip, ec);
  if (ec) return error{errc::bad_argument, "cannot listen on " + where + ": not an IP address"};
  const asio::ip::tcp::endpoint at(address, port);
  acceptor_.open(at.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(at, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) acceptor_.non_blocking(true, ec);
  if (!ec) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = 0;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, acceptor_.native_handle(), &e) == 0) return {};
    ec = asio::error_code(errno, asio::system_category());
  }
  acceptor_.close();
  if (ec == asio::error::address_in_use)
    return error{errc::io_error, "port " + std::to_string(port) + " on " + ip + " is already in use"};
  return error{errc::io_error, "cannot listen on " + where + ": " + ec.message()};
}

std::uint16_t tcp_transport::bound_port() const {
  asio::error_code ec;
  const auto at = acceptor_.local_endpoint(ec);
  return ec ? 0 : at.port();
}

result<conn_id> tcp_transport::connect(const std::string& host, std::uint16_t port, const std::string& peer) {
  const std::string where = host + ":" + std::to_string(port);
  asio::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {  // a host name (a seed given by name): resolved here, blocking, once per dial
    auto resolved = resolve_host(host);
    if (!resolved) return error{errc::io_error, "cannot dial " + where + ": " + resolved.err().message};
    address = asio::ip::make_address(*resolved, ec);
    if (ec) return error{errc::io_error, "cannot dial " + where + ": not an address"};
  }
  const asio::ip::tcp::endpoint to(address, port);
  asio::ip::tcp::socket s(io_);
  s.open(to.protocol(), ec);
  if (!ec) s.non_blocking(true, ec);
  if (!ec) s.set_option(asio::ip::tcp::no_delay(true), ec);
  if (ec) return error{errc::io_error, "cannot dial " + where + ": " + ec.message()};

  auto conn = std::make_unique<connection>(std::move(s));
  conn->id = next_id_++;
  conn->outbound = true;
  conn->address = plain_address(address);
  conn->opened = conn->last_in = conn->last_out = clock::now();
  queue(*conn, hello_of(options_.credentials ? options_.credentials(peer) : dial_credentials{}));
  conn->hello_queued = true;
  // Non-blocking: EINPROGRESS, then EPOLLOUT says how it went. Asio's own
  // connect would wait for that.
  if (::connect(conn->socket.native_handle(), to.data(), static_cast<socklen_t>(to.size())) == 0)
    conn->at = phase::awaiting_verdict;
  else if (errno != EINPROGRESS)
    lose(*conn);  // reported at the end of the next turn, as any loss
  connection& c = *conns_.emplace(conn->id, std::move(conn)).first->second;
  watch(c, true);
  if (c.at == phase::awaiting_verdict) flush(c);
  return c.id;
}

void tcp_transport::queue(connection& conn, std::span<const std::uint8_t> frame) {
  std::vector<std::uint8_t> bytes(header_bytes + frame.size());
  put_length(bytes.data(), static_cast<std::uint32_t>(frame.size()));
  std::copy(frame.begin(), frame.end(), bytes.begin() + header_bytes);
  conn.out.push_back(std::move(bytes));
}

bool tcp_transport::send(conn_id c, std::span<const std::uint8_t> frame) {
  const auto it = conns_.find(c);
  if (it == conns_.end() || it->second->lost || frame.size() > options_.max_frame_bytes ||
      it->second->out.size() >= options_.send_high_water_mark + (it->second->hello_queued ? 1 : 0)) {
    ++stats_.send_refused;
    return false;
  }
  connection& conn = *it->second;
  if (conn.at != phase::open || !conn.out.empty()) {
    queue(conn, frame);  // behind what waits, which EPOLLOUT (or the verdict) sends
    return true;
  }
  // Nothing waits: straight to the kernel, header and frame in one call,
  // copied only if it takes part of them.
  std::array<std::uint8_t, header_bytes> header{};
  put_length(header.data(), static_cast<std::uint32_t>(frame.size()));
  std::array<iovec, 2> iov{{{header.data(), header.size()}, {const_cast<std::uint8_t*>(frame.data()), frame.size()}}};
  msghdr m{};
  m.msg_iov = iov.data();
  m.msg_iovlen = iov.size();
  ssize_t n = 0;
  do n = ::sendmsg(conn.socket.native_handle(), &m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0 && !would_block(errno)) {
    lose(conn);
    ++stats_.send_refused;
    return false;
  }
  const std::size_t written = n < 0 ? 0 : static_cast<std::size_t>(n);
  if (written > 0) conn.last_out = clock::now();
  if (written == header.size() + frame.size()) return true;
  queue(conn, frame);
  conn.out_written = written;
  watch(conn, true);
  return true;
}

void tcp_transport::flush(connection& conn) {
  while (!conn.lost) {
    // Until the verdict a dialer sends its hello only.
    const std::size_t writable = conn.at == phase::open ? conn.out.size() : (conn.hello_queued ? 1 : 0);
    if (writable == 0) break;
    std::array<iovec, 64> iov{};
    const std::size_t count = std::min(writable, iov.size());
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t skip = i == 0 ? conn.out_written : 0;
      iov[i] = {conn.out[i].data() + skip, conn.out[i].size() - skip};
    }
    msghdr m{};
    m.msg_iov = iov.data();
    m.msg_iovlen = count;
    const ssize_t n = ::sendmsg(conn.socket.native_handle(), &m, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (!would_block(errno)) lose(conn);
      break;
    }
    conn.last_out = clock::now();
    for (auto left = static_cast<std::size_t>(n); left > 0;) {
      const std::size_t rest = conn.out.front().size() - conn.out_written;
      if (left < rest) {
        conn.out_written += left;
        break;
      }
      left -= rest;
      conn.out.pop_front();
      conn.out_written = 0;
      conn.hello_queued = false;
    }
  }
  if (conn.closing_until != clock::time_point{}) return;  // out of the epoll set: serve_closing writes it
  const bool pending = conn.at == phase::open ? !conn.out.empty() : conn.hello_queued;
  watch(conn, !conn.lost && pending);
}

void tcp_transport::watch(connection& conn, bool want_write) {
  if (conn.watched && conn.want_write == want_write) return;
  epoll_event e{};
  e.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
  e.data.u64 = conn.id;
  if (::epoll_ctl(epoll_fd_, conn.watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, conn.socket.native_handle(), &e) != 0) {
    lose(conn);  // out of kernel memory: better a lost connection than a silent one
    return;
  }
  conn.watched = true;
  conn.want_write = want_write;
}

void tcp_transport::pause_accepting(bool paused) {
  if (paused == accept_paused_ || !acceptor_.is_open()) return;
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.u64 = 0;
  ::epoll_ctl(epoll_fd_, paused ? EPOLL_CTL_DEL : EPOLL_CTL_ADD, acceptor_.native_handle(), &e);
  accept_paused_ = paused;
}

void tcp_transport::accept_all() {
  // A bounded number per turn: a flood of dialers cannot starve the links.
  for (int i = 0; i < 64; ++i) {
    asio::error_code ec;
    asio::ip::tcp::socket s(io_);
    acceptor_.accept(s, ec);
    if (ec && (ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == ENOBUFS || ec.value() == ENOMEM)) {
      // The connection stays in the backlog, and a level-triggered listener
      // would wake us for it at once, forever: look again at the next timers.
      ++stats_.accepts_failed;
      pause_accepting(true);
      return;
    }
    if (ec) return;  // none left (would_block)
    if (std::count_if(conns_.begin(), conns_.end(), [](const auto& kv) {
          return kv.second->at == phase::awaiting_hello;
        }) >= static_cast<std::ptrdiff_t>(options_.max_unadmitted)) {
      ++stats_.handshakes_refused;  // too many strangers at once: this one is hung up on
      continue;
    }
    const auto from = s.remote_endpoint(ec);
    if (!ec) s.non_blocking(true, ec);
    if (!ec) s.set_option(asio::ip::tcp::no_delay(true), ec);
    if (ec) continue;  // gone already
    auto conn = std::make_unique<connection>(std::move(s));
    conn->id = next_id_++;
    conn->at = phase::awaiting_hello;
    conn->address = plain_address(from.address());
    conn->opened = conn->last_in = conn->last_out = clock::now();
    connection& c = *conns_.emplace(conn->id, std::move(conn)).first->second;
    watch(c, false);
  }
}

void tcp_transport::finish_connect(connection& conn) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(conn.socket.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    lose(conn);
    return;
  }
  conn.at = phase::awaiting_verdict;
  flush(conn);
}

bool tcp_transport::read(conn_id c) {
  connection* conn = conns_.at(c).get();
  bool delivered = false;
  // Before admission, no more than one hello (or verdict) is read.
  const auto limit_of = [this](const connection& k) {
    return k.at == phase::awaiting_hello     ? max_hello_bytes
           : k.at == phase::awaiting_verdict ? verdict_bytes
                                             : options_.max_frame_bytes;
  };
  for (std::size_t budget = read_budget; budget > 0 && !conn->lost;) {
    const std::size_t limit = limit_of(*conn);
    const std::size_t buffered = conn->in_end - conn->in_start;
    std::size_t want = read_chunk;
    if (conn->at != phase::open)
      want = header_bytes + limit - std::min(buffered, header_bytes + limit);
    else if (buffered >= header_bytes)  // room for the whole of a large frame at once
      want = std::max(want, header_bytes + std::min<std::size_t>(get_length(&conn->in[conn->in_start]), limit) -
                                std::min(buffered, header_bytes + limit));
    if (want == 0) break;
    if (conn->in.size() - conn->in_end < want) {
      if (buffered > 0 && conn->in_start > 0) std::memmove(conn->in.data(), conn->in.data() + conn->in_start, buffered);
      conn->in_start = 0;
      conn->in_end = buffered;
      if (conn->in.size() - conn->in_end < want) conn->in.resize(conn->in_end + want);
    }
    const ssize_t n = ::recv(conn->socket.native_handle(), conn->in.data() + conn->in_end, want, 0);
    if (n == 0 || (n < 0 && errno != EINTR && !would_block(errno))) {
      lose(*conn);  // the peer hung up, or the network failed
      break;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    conn->in_end += static_cast<std::size_t>(n);
    budget -= std::min(budget, static_cast<std::size_t>(n));
    conn->last_in = clock::now();
    while (conn->in_end - conn->in_start >= header_bytes) {
      const std::size_t length = get_length(&conn->in[conn->in_start]);
      if (length > limit_of(*conn)) {
        if (conn->at == phase::open) ++stats_.oversized_frames;
        lose(*conn);
        break;
      }
      if (conn->in_end - conn->in_start < header_bytes + length) break;
      const std::span<const std::uint8_t> frame(conn->in.data() + conn->in_start + header_bytes, length);
      conn->in_start += header_bytes + length;
      const bool data = conn->at == phase::open && length > 0;
      if (!on_frame(c, *conn, frame)) return delivered || data;  // closed meanwhile: hands off
      delivered = delivered || data;
    }
    if (conn->in_start == conn->in_end) {
      conn->in_start = conn->in_end = 0;
      if (conn->in.size() > read_budget) conn->in = {};  // a large frame's room is not kept
    }
    // Less than asked for: the socket was empty. Asking again would only
    // hear so (a system call per message); epoll says when more comes.
    if (static_cast<std::size_t>(n) < want) break;
  }
  return delivered;
}

bool tcp_transport::on_frame(conn_id c, connection& conn, std::span<const std::uint8_t> frame) {
  switch (conn.at) {
    case phase::awaiting_hello:
      on_hello(conn, frame);
      break;
    case phase::awaiting_verdict:
      on_verdict(conn, frame);
      break;
    case phase::open:
      if (!frame.empty() && handler_) handler_->on_frame(c, frame);  // empty: a heartbeat
      break;
    case phase::connecting:
      break;
  }
  const auto it = conns_.find(c);
  return it != conns_.end() && it->second.get() == &conn && !conn.lost;
}

void tcp_transport::on_hello(connection& conn, std::span<const std::uint8_t> hello) {
  const auto cr = parse_hello(hello);
  if (!cr) {  // not one of ours: no verdict, it would not read one
    ++stats_.handshakes_refused;
    retire(conn.id);
    return;
  }
  const admission_answer answer = options_.require_admission && handler_
                                      ? handler_->admit(conn.address, cr->username, cr->password)
                                      : admission_answer::admit;
  queue(conn, verdict_of(answer));
  if (answer == admission_answer::admit) {
    conn.at = phase::open;
    flush(conn);
    return;
  }
  ++stats_.handshakes_refused;
  conn.at = phase::open;  // so that the verdict goes out
  flush(conn);
  ::shutdown(conn.socket.native_handle(), SHUT_WR);
  retire(conn.id);
}

void tcp_transport::on_verdict(connection& conn, std::span<const std::uint8_t> verdict) {
  std::optional<admission_answer> answer;
  if (verdict.size() == verdict_bytes && std::equal(magic.begin(), magic.end(), verdict.begin())) {
    const int code = verdict[magic.size()] << 8 | verdict[magic.size() + 1];
    for (const auto a : {admission_answer::admit, admission_answer::refuse, admission_answer::later})
      if (code == static_cast<int>(a)) answer = a;
  }
  if (answer == admission_answer::admit) {
    conn.at = phase::open;
    flush(conn);  // what was sent meanwhile
    return;
  }
  ++stats_.dials_refused;
  const conn_id c = conn.id;
  retire(c);
  if (handler_) handler_->on_refused(c, answer);
}

void tcp_transport::retire(conn_id c) {
  const auto it = conns_.find(c);
  if (it == conns_.end()) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second->socket.native_handle(), nullptr);
  retired_.push_back(std::move(it->second));
  conns_.erase(it);
}

void tcp_transport::close(conn_id c) {
  const auto it = conns_.find(c);
  if (it == conns_.end()) return;
  connection& conn = *it->second;
  if (!conn.lost) flush(conn);  // a last goodbye goes out now, if the kernel takes it
  const bool pending = !conn.lost && conn.at == phase::open && !conn.out.empty();
  if (!pending) hang_up(conn);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.socket.native_handle(), nullptr);
  conn.watched = false;
  if (pending) {  // what the kernel did not take yet gets up to `linger` more (as ZeroMQ's linger)
    conn.closing_until = clock::now() + options_.linger;
    closing_.push_back(std::move(it->second));
    conns_.erase(it);
    return;
  }
  retire(c);
}

void tcp_transport::hang_up(connection& conn) {
  ::shutdown(conn.socket.native_handle(), SHUT_WR);
  // Unread bytes would make the close a reset, which can take the goodbye
  // with it before the peer reads it.
  std::array<std::uint8_t, 4096> sink{};
  for (int i = 0; i < 16 && ::recv(conn.socket.native_handle(), sink.data(), sink.size(), 0) > 0; ++i) {
  }
}

void tcp_transport::serve_closing(clock::time_point now) {
  std::erase_if(closing_, [&](const std::unique_ptr<connection>& conn) {
    flush(*conn);
    if (!conn->lost && !conn->out.empty() && now < conn->closing_until) return false;
    if (!conn->lost) hang_up(*conn);
    return true;  // closed as it goes
  });
}

void tcp_transport::report_lost() {
  std::vector<conn_id> lost;
  for (const auto& [c, conn] : conns_)
    if (conn->lost) lost.push_back(c);
  for (const conn_id c : lost) {
    const auto it = conns_.find(c);
    if (it == conns_.end()) continue;  // closed by a handler meanwhile
    const bool known = it->second->outbound || it->second->at == phase::open;
    retire(c);
    if (!known) {  // never admitted: the handler never heard of it
      ++stats_.handshakes_refused;
      continue;
    }
    ++stats_.disconnects;
    if (handler_) handler_->on_closed(c);
  }
}

void tcp_transport::run_timers(clock::time_point now) {
  static const std::array<std::uint8_t, 0> heartbeat{};
  pause_accepting(false);
  for (auto& [c, p] : conns_) {
    connection& conn = *p;
    if (conn.lost) continue;
    if (conn.at != phase::open) {
      if (now - conn.opened > options_.handshake_interval) lose(conn);
    } else if (now - conn.last_in > options_.heartbeat_timeout) {
      ++stats_.heartbeat_timeouts;
      lose(conn);
    } else if (now - conn.last_out >= options_.heartbeat_interval && conn.out.empty()) {
      (void)send(c, heartbeat);
    }
  }
}

bool tcp_transport::serve(int timeout_ms) {
  std::array<epoll_event, 64> events{};
  const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
  bool frames = false;
  for (int i = 0; i < n; ++i) {
    const conn_id c = events[i].data.u64;
    const std::uint32_t what = events[i].events;
    if (c == 0) {
      accept_all();
      continue;
    }
    const auto it = conns_.find(c);
    if (it == conns_.end() || it->second->lost) continue;  // gone earlier in this turn
    connection& conn = *it->second;
    if (conn.at == phase::connecting) {
      if (what & (EPOLLOUT | EPOLLERR | EPOLLHUP)) finish_connect(conn);
      continue;
    }
    if (what & EPOLLOUT) flush(conn);
    if ((what & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !conn.lost) frames = read(c) || frames;
  }
  report_lost();
  if (!closing_.empty()) serve_closing(clock::now());
  if (const auto now = clock::now(); now >= next_timers_) {
    next_timers_ = now + timer_grain_;
    run_timers(now);
    report_lost();
  }
  retired_.clear();
  return frames;
}

bool tcp_transport::read_ready() { return serve(0); }

poll_outcome tcp_transport::poll(std::chrono::milliseconds timeout, int wake_fd) {
  // No longer than the next timers, while there are connections to time.
  if (!conns_.empty())
    timeout = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(next_timers_ - clock::now()),
                         std::chrono::milliseconds(0), timeout);
  std::array<pollfd, 2> fds{{{epoll_fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}}};
  const int ready = ::poll(fds.data(), wake_fd >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
  poll_outcome seen;
  seen.woken = ready > 0 && wake_fd >= 0 && (fds[1].revents & POLLIN);
  seen.traffic = ready > 0 && fds[0].revents != 0;
  serve(0);
  return seen;
}

std::string tcp_transport::peer_address(conn_id c) const {
  const auto it = conns_.find(c);
  return it == conns_.end() ? std::string() : it->second->address;
}

}  // namespace cluster::internal
