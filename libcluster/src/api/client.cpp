#include "cluster/client.hpp"

#include <deque>
#include <map>

#include "crypto/keys.hpp"
#include "crypto/link_cipher.hpp"
#include "handshake/handshake.hpp"
#include "links/admission.hpp"
#include "transport/resolve.hpp"
#include "transport/zmq_transport.hpp"
#include "wire/codec.hpp"
#include "wire/member_rows.hpp"

namespace cluster {

namespace wire = internal::wire;
using std::chrono::milliseconds;

// One connection, driven synchronously: every call polls the socket until its
// answer arrives or its deadline passes.
class client::impl final : public internal::transport_handler {
 public:
  impl(client_options options) : options_(std::move(options)), transport_(ctx_, transport_options(options_)) {
    transport_.set_handler(this);
  }

  result<void> connect(const node_name& node) {
    node_name_ = node.to_string();  // until the node proves its name
    auto ip = internal::resolve_host(node.host);
    if (!ip) return ip.err();
    auto c = transport_.connect(*ip, node.port, node.id());
    if (!c) return c.err();
    conn_ = *c;

    internal::handshake::config hc;
    hc.self = {wire::peer_kind::client, options_.label, 0, internal::crypto::random_u32() | 1u,
               options_.insecure_plaintext ? wire::flag_insecure_plaintext : 0};
    hc.key = internal::crypto::derive_key(options_.cookie, internal::crypto::key_purpose::handshake);
    hc.step_timeout = options_.timeout;
    hc.expected_peer = node.id();
    wire::message hello;
    auto hs = internal::handshake::handshake::initiate(hc, clock_.now(), hello);
    send(hello);

    const time_point deadline = clock_.now() + options_.timeout;
    for (;;) {
      auto m = next_message(deadline);
      if (!m) {
        if (m.err().code == errc::timeout)
          return error{errc::timeout, "no answer from " + node.to_string() + " within " +
                                          std::to_string(options_.timeout.count()) + " ms (is it running?)"};
        return m.err();
      }
      auto step = hs.on_message(*m, clock_.now(), nullptr);
      if (step.send) send(*step.send);
      if (step.failure) return *step.failure;
      if (step.done) break;
    }
    node_name_ = hs.peer().name;
    authenticated_ = true;
    if (!options_.insecure_plaintext) {
      const auto keys = hs.keys();
      cipher_.emplace(keys.send, keys.receive);
    }
    return {};
  }

  template <class Reply>
  result<Reply> request(const wire::message& m, std::uint64_t id, std::optional<milliseconds> timeout = {}) {
    if (!connected_) return error{errc::no_connection, "the connection to " + node_name_ + " was lost"};
    send(m);
    return await<Reply>(id, timeout);
  }

  /// Waits for the reply `id` to a request already sent.
  template <class Reply>
  result<Reply> await(std::uint64_t id, std::optional<milliseconds> timeout = {}) {
    const time_point deadline = clock_.now() + timeout.value_or(options_.timeout);
    for (;;) {
      auto got = next_message(deadline);
      if (!got) return got.err();
      if (auto* reply = std::get_if<Reply>(&*got)) {
        if (reply->request_id == id) return std::move(*reply);
      } else if (auto* err = std::get_if<wire::error_reply>(&*got); err && err->request_id == id) {
        return error{static_cast<errc>(err->code), err->message};
      } else if (auto* bye = std::get_if<wire::goodbye>(&*got)) {
        connected_ = false;
        return error{errc::shutting_down, node_name_ + " is leaving: " + bye->reason};
      }
      // anything else (a late reply to an earlier, timed-out request) is skipped
    }
  }

  result<std::chrono::microseconds> ping() {
    if (!connected_) return error{errc::no_connection, "the connection to " + node_name_ + " was lost"};
    const std::uint64_t seq = next_request_++;
    const time_point start = clock_.now();
    send(wire::ping{seq});
    const time_point deadline = start + options_.timeout;
    for (;;) {
      auto got = next_message(deadline);
      if (!got) return got.err();
      if (auto* p = std::get_if<wire::pong>(&*got); p && p->seq == seq)
        return std::chrono::duration_cast<std::chrono::microseconds>(clock_.now() - start);
    }
  }

  result<void> watch(const std::function<bool(const member_change&)>& on_change, milliseconds for_at_most,
                     const std::function<bool()>& still_wanted) {
    if (!connected_) return error{errc::no_connection, "the connection to " + node_name_ + " was lost"};
    const std::uint64_t id = next_request_++;
    send(wire::watch_request{id});
    const bool forever = for_at_most.count() == 0;
    const time_point until = clock_.now() + for_at_most;
    for (;;) {
      if (still_wanted && !still_wanted()) return {};
      // Wake every 100 ms to ask still_wanted; otherwise wait for the limit.
      time_point deadline = forever ? clock_.now() + std::chrono::hours(1) : until;
      if (still_wanted) deadline = std::min(deadline, clock_.now() + milliseconds(100));
      auto got = next_message(deadline);
      if (!got) {
        if (got.err().code == errc::timeout) {
          if (forever || clock_.now() < until) continue;
          return {};
        }
        return got.err();
      }
      if (auto* e = std::get_if<wire::member_event>(&*got); e && e->request_id == id) {
        const auto kind = e->kind <= 5 ? static_cast<member_change::kind>(e->kind) : member_change::kind::updated;
        if (!on_change({kind, wire::member_of(e->row), e->reporter})) return {};
      } else if (auto* bye = std::get_if<wire::goodbye>(&*got)) {
        connected_ = false;
        return error{errc::shutting_down, node_name_ + " is leaving: " + bye->reason};
      }
    }
  }

  result<void> admin(const std::string& action) {
    const std::uint64_t id = next_request_++;
    auto reply = request<wire::admin_reply>(wire::admin_request{id, action}, id);
    if (!reply) return reply.err();
    if (reply->code != 0) return error{static_cast<errc>(reply->code), reply->message};
    return {};
  }

  std::uint64_t next_request() { return next_request_++; }
  result<void> post(const wire::message& m) {
    if (!connected_) return error{errc::no_connection, "the connection to " + node_name_ + " was lost"};
    send(m);
    return {};
  }
  const std::string& node() const { return node_name_; }

  // transport_handler
  // Frames wait undecoded: whether the next one is sealed depends on how far
  // the handshake got when it is taken, not when it arrived.
  void on_frame(internal::conn_id, std::span<const std::uint8_t> frame) override {
    frames_.emplace_back(frame.begin(), frame.end());
  }
  void on_closed(internal::conn_id) override {
    connected_ = false;
    broken_ = error{errc::no_connection, "the connection to " + node_name_ + " was lost"};
  }
  void on_refused(internal::conn_id, std::optional<internal::admission_answer> answer) override {
    connected_ = false;
    broken_ = internal::refusal_error(node_name_, answer);
  }

 private:
  static internal::zmq_transport_options transport_options(const client_options& o) {
    internal::zmq_transport_options t;
    t.handshake_interval = o.timeout;
    t.credentials = internal::admission_credentials(o.cookie);
    return t;
  }

  void send(const wire::message& m) {
    const wire::bytes frame = wire::encode(m);
    if (!cipher_) {
      (void)transport_.send(conn_, frame);
      return;
    }
    if (!transport_.send(conn_, cipher_->seal(frame))) cipher_->unsend();  // never sent: no gap
  }

  /// Opens and decodes the oldest frame waiting, into the inbox.
  void unpack_frame() {
    const wire::bytes frame = std::move(frames_.front());
    frames_.pop_front();
    std::span<const std::uint8_t> plain = frame;
    if (cipher_) {
      const auto opened = cipher_->open(frame);
      if (!opened) {
        broken_ = error{errc::malformed, "a frame from " + node_name_ + " did not open (forged, altered or replayed)"};
        return;
      }
      plain = *opened;
    }
    auto decoded = wire::decode_frame(plain, authenticated_ ? wire::decode_limits{} : wire::decode_limits::pre_auth());
    if (!decoded) {
      broken_ = decoded.err();
      return;
    }
    for (auto& m : *decoded) inbox_.push_back(std::move(m));
  }

  result<wire::message> next_message(time_point deadline) {
    for (;;) {
      if (!inbox_.empty()) {
        wire::message m = std::move(inbox_.front());
        inbox_.pop_front();
        return m;
      }
      if (broken_) return *broken_;
      if (!frames_.empty()) {
        unpack_frame();
        continue;
      }
      const auto left = std::chrono::ceil<milliseconds>(deadline - clock_.now());
      if (left <= milliseconds(0)) return error{errc::timeout, "no answer from " + node_name_ + " in time"};
      try {
        transport_.poll(left);
      } catch (const zmq::error_t& e) {
        return error{errc::io_error, std::string("transport error: ") + e.what()};
      }
    }
  }

  client_options options_;
  steady_clock clock_;
  zmq::context_t ctx_{1};
  internal::zmq_transport transport_;
  internal::conn_id conn_ = 0;
  std::deque<wire::bytes> frames_;  // received, not yet opened and decoded
  std::deque<wire::message> inbox_;
  std::optional<internal::crypto::link_cipher> cipher_;  // once authenticated, unless plaintext
  std::optional<error> broken_;
  bool connected_ = true;
  bool authenticated_ = false;  // until then, the tight pre-authentication limits apply
  std::string node_name_;
  std::uint64_t next_request_ = 1;
};

result<std::unique_ptr<client>> client::connect(const node_name& node, const client_options& options) {
  if (options.cookie.empty()) return error{errc::bad_argument, "the cookie is empty"};
  auto p = std::make_unique<impl>(options);
  if (auto ok = p->connect(node); !ok) return ok.err();
  return std::unique_ptr<client>(new client(std::move(p)));
}

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
client::~client() = default;

const std::string& client::node() const { return impl_->node(); }

result<std::chrono::microseconds> client::ping() { return impl_->ping(); }

result<std::vector<peer_node>> client::nodes() {
  const std::uint64_t id = impl_->next_request();
  auto reply = impl_->request<wire::nodes_reply>(wire::nodes_request{id}, id);
  if (!reply) return reply.err();
  std::vector<peer_node> out;
  for (const auto& e : reply->nodes) out.push_back({e.name, e.host, e.port, e.creation});
  return out;
}

result<client::process_list> client::processes(const std::string& sort, std::uint32_t limit) {
  const std::uint64_t id = impl_->next_request();
  auto reply = impl_->request<wire::processes_reply>(wire::processes_request{id, sort, limit}, id);
  if (!reply) return reply.err();
  process_list out{reply->total, {}};
  for (const auto& p : reply->processes)
    out.processes.push_back({p.pid, p.name, p.mailbox, p.handled, p.memory, p.function});
  return out;
}

result<std::vector<std::pair<std::string, pid>>> client::registered() {
  const std::uint64_t id = impl_->next_request();
  auto reply = impl_->request<wire::registered_reply>(wire::registered_request{id}, id);
  if (!reply) return reply.err();
  return std::move(reply->names);
}

result<term> client::monitor(const pid& p, std::chrono::milliseconds for_at_most) {
  const std::uint64_t id = impl_->next_request();
  // Without a limit, a day at a time: request() skips what is not ours.
  for (bool first = true;; first = false) {
    const auto wait = for_at_most.count() == 0 ? std::chrono::milliseconds(std::chrono::hours(24)) : for_at_most;
    auto reply = first ? impl_->request<wire::monitor_down>(wire::monitor_request{id, p}, id, wait)
                       : impl_->await<wire::monitor_down>(id, wait);
    if (reply) return std::move(reply->reason);
    if (reply.err().code != errc::timeout || for_at_most.count() != 0) return reply.err();
  }
}

result<node_stats> client::stats() {
  const std::uint64_t id = impl_->next_request();
  auto reply = impl_->request<wire::stats_reply>(wire::stats_request{id}, id);
  if (!reply) return reply.err();
  // Back into the struct by name: a counter this client does not know is skipped.
  node_stats out;
  std::map<std::string, std::uint64_t> by_name(reply->counters.begin(), reply->counters.end());
  out.assign(by_name);
  for (const auto& l : reply->links)
    out.links.push_back({l.node, l.creation, l.frames_in, l.frames_out, l.bytes_in, l.bytes_out, l.messages_in,
                         l.messages_out, l.queued, l.queued_bytes, std::chrono::milliseconds(l.up_ms), l.busy,
                         l.suspended});
  const auto hist = [](const wire::histogram_row& r) {
    histogram h;
    for (std::size_t i = 0; i < h.counts.size() && i < r.counts.size(); ++i) h.counts[i] = r.counts[i];
    h.sum_us = r.sum_us;
    h.count = r.count;
    return h;
  };
  out.call_latency = hist(reply->call_latency);
  out.spawn_latency = hist(reply->spawn_latency);
  return out;
}

result<std::vector<member_history_entry>> client::why(const std::string& node) {
  const std::uint64_t id = impl_->next_request();
  auto reply = impl_->request<wire::why_reply>(wire::why_request{id, node}, id);
  if (!reply) return reply.err();
  std::vector<member_history_entry> out;
  for (const auto& h : reply->history)
    out.push_back({std::chrono::milliseconds(h.ago_ms),
                   h.state <= 3 ? static_cast<member_state>(h.state) : member_state::dead, h.incarnation, h.reason,
                   h.reporter});
  return out;
}

result<void> client::leave() { return impl_->admin("leave"); }
result<void> client::stop() { return impl_->admin("stop"); }

result<std::vector<member>> client::members() {
  const std::uint64_t id = impl_->next_request();
  auto reply = impl_->request<wire::members_reply>(wire::members_request{id}, id);
  if (!reply) return reply.err();
  std::vector<member> out;
  for (const auto& r : reply->members) out.push_back(wire::member_of(r));
  return out;
}

result<void> client::watch(const std::function<bool(const member_change&)>& on_change,
                           std::chrono::milliseconds for_at_most, const std::function<bool()>& still_wanted) {
  return impl_->watch(on_change, for_at_most, still_wanted);
}

result<node_info> client::info() {
  const std::uint64_t id = impl_->next_request();
  auto reply = impl_->request<wire::info_reply>(wire::info_request{id}, id);
  if (!reply) return reply.err();
  node_info i;
  i.name = reply->name;
  i.host = reply->host;
  i.port = reply->port;
  i.creation = reply->creation;
  i.uptime = milliseconds(reply->uptime_ms);
  i.version = reply->version;
  i.process_count = reply->process_count;
  i.node_count = reply->node_count;
  i.dist_port = reply->dist_port;
  return i;
}

result<term> client::call(const std::string& function, const term& args, std::chrono::milliseconds timeout,
                          const std::string& node) {
  const std::uint64_t id = impl_->next_request();
  auto reply = impl_->request<wire::call_reply>(wire::call_request{id, node, function, args}, id, timeout);
  if (!reply) {
    if (reply.err().code == errc::timeout)
      return error{errc::timeout, function + " did not answer within " + std::to_string(timeout.count()) + " ms"};
    return reply.err();
  }
  if (reply->code != 0) return error{static_cast<errc>(reply->code), reply->message};
  return std::move(reply->result);
}

result<void> client::cast(const std::string& function, const term& args, const std::string& node) {
  return impl_->post(wire::cast_request{node, function, args});
}

result<pid> client::spawn(const std::string& function, const term& args, const std::string& node) {
  const std::uint64_t id = impl_->next_request();
  auto reply = impl_->request<wire::spawn_reply>(wire::spawn_request{id, node, function, args}, id);
  if (!reply) return reply.err();
  if (reply->code != 0) return error{static_cast<errc>(reply->code), reply->message};
  if (!reply->pid.is<pid>()) return error{errc::malformed, "the spawn reply carries no PID"};
  return reply->pid.as<pid>();
}

result<void> client::send(const pid& to, const term& msg) { return impl_->post(wire::process_send{to, msg}); }

result<void> client::send(const std::string& name, const term& msg) {
  return impl_->post(wire::process_send_named{name, msg});
}

result<void> client::send(const std::string& name, const std::string& node, const term& msg) {
  if (!node.empty() && !is_node_id(node)) {
    const auto n = parse_node_name(node);
    if (!n) return n.err();
    return error{errc::bad_argument, "name the node as in its PIDs: " + n->id() + ", no port"};
  }
  return impl_->post(wire::process_send_named_at{node, name, msg});
}

}  // namespace cluster
