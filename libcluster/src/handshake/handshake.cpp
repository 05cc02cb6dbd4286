#include "handshake/handshake.hpp"

#include <algorithm>

namespace cluster::internal::handshake {
namespace {

void append_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void append_str(std::vector<std::uint8_t>& out, std::string_view s) {
  append_u32(out, static_cast<std::uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

identity identity_of(const wire::hello& h) {
  return {static_cast<wire::peer_kind>(h.kind), h.name, h.port, h.creation, h.flags, h.dist_port};
}

identity identity_of(const wire::challenge& c) {
  return {wire::peer_kind::node, c.name, c.port, c.creation, c.flags, c.dist_port};
}

std::string_view message_name(const wire::message& m) {
  switch (wire::type_of(m)) {
    case wire::msg_type::hello:
      return "hello";
    case wire::msg_type::challenge:
      return "challenge";
    case wire::msg_type::challenge_reply:
      return "challenge_reply";
    case wire::msg_type::challenge_ack:
      return "challenge_ack";
    case wire::msg_type::reject:
      return "reject";
    default:
      return "a post-handshake message";
  }
}

}  // namespace

std::string_view to_string(state s) {
  switch (s) {
    case state::awaiting_hello:
      return "awaiting_hello";
    case state::awaiting_challenge:
      return "awaiting_challenge";
    case state::awaiting_reply:
      return "awaiting_reply";
    case state::awaiting_ack:
      return "awaiting_ack";
    case state::up:
      return "up";
    case state::failed:
      return "failed";
  }
  return "?";
}

handshake::handshake(config cfg, bool initiator, time_point now)
    : cfg_(std::move(cfg)), initiator_(initiator), deadline_(now + cfg_.step_timeout) {
  if (!cfg_.random) cfg_.random = crypto::random_bytes;
}

handshake handshake::initiate(config cfg, time_point now, wire::message& hello) {
  handshake h(std::move(cfg), true, now);
  h.state_ = state::awaiting_challenge;
  h.nonce_initiator_ = h.cfg_.random(wire::nonce_size);
  wire::hello m;
  m.version_max = h.cfg_.version_max;
  m.kind = static_cast<std::uint8_t>(h.cfg_.self.kind);
  m.name = h.cfg_.self.name;
  m.port = h.cfg_.self.port;
  m.creation = h.cfg_.self.creation;
  m.flags = h.cfg_.self.flags;
  m.nonce = h.nonce_initiator_;
  m.dist_port = h.cfg_.self.dist_port;
  hello = std::move(m);
  return h;
}

handshake handshake::accept(config cfg, time_point now) {
  handshake h(std::move(cfg), false, now);
  h.state_ = state::awaiting_hello;
  return h;
}

step handshake::fail(errc code, std::string reason, bool tell_peer) {
  state_ = state::failed;
  step s;
  if (tell_peer) s.send = wire::reject{static_cast<std::int32_t>(code), reason};
  s.failure = error{code, std::move(reason)};
  return s;
}

std::vector<std::uint8_t> handshake::transcript(std::string_view label) const {
  const identity& i = initiator_identity();
  const identity& a = acceptor_identity();
  std::vector<std::uint8_t> t;
  append_str(t, "libcluster-handshake-v1");
  append_str(t, label);
  append_u32(t, version_);
  t.insert(t.end(), nonce_initiator_.begin(), nonce_initiator_.end());
  t.insert(t.end(), nonce_acceptor_.begin(), nonce_acceptor_.end());
  // Everything each side said about itself is bound, so nobody in the middle
  // can alter an advertised port or flag without breaking the proof.
  for (const identity* who : {&i, &a}) {
    t.push_back(static_cast<std::uint8_t>(who->kind));
    append_str(t, who->name);
    append_u32(t, who->creation);
    append_u32(t, who->port);
    if (version_ >= 3) append_u32(t, who->dist_port);
    append_u32(t, static_cast<std::uint32_t>(who->flags >> 32));
    append_u32(t, static_cast<std::uint32_t>(who->flags));
  }
  return t;
}

session_keys handshake::keys() const {
  const crypto::key to_acceptor = crypto::keyed_hash(proved_, transcript("initiator-to-acceptor"));
  const crypto::key to_initiator = crypto::keyed_hash(proved_, transcript("acceptor-to-initiator"));
  return initiator_ ? session_keys{to_acceptor, to_initiator} : session_keys{to_initiator, to_acceptor};
}

std::optional<step> handshake::check_encryption() {
  if (encrypted(cfg_.self) == encrypted(peer_)) return std::nullopt;
  const auto setting = [](const identity& who) {
    return encrypted(who) ? std::string(" encrypts its links") : std::string(" runs with --insecure-plaintext");
  };
  return fail(errc::rejected,
              "encryption mismatch: " + peer_.name + setting(peer_) + " but " + cfg_.self.name + setting(cfg_.self) +
                  "; every node and client of a cluster must use the same setting",
              true);
}

step handshake::on_timeout() {
  return fail(errc::timeout, "handshake step timed out in state " + std::string(to_string(state_)), true);
}

step handshake::on_message(const wire::message& m, time_point now, const admit_fn& admit) {
  if (state_ == state::up || state_ == state::failed) return fail(errc::internal, "handshake already finished", false);
  if (const auto* r = std::get_if<wire::reject>(&m)) {
    state_ = state::failed;
    const auto code =
        r->code > 0 && r->code <= static_cast<int>(errc_last) ? static_cast<errc>(r->code) : errc::rejected;
    return step{std::nullopt, false, error{code, "refused by peer: " + r->reason}};
  }
  deadline_ = now + cfg_.step_timeout;

  switch (state_) {
    case state::awaiting_hello: {
      const auto* h = std::get_if<wire::hello>(&m);
      if (!h) return fail(errc::malformed, "expected hello, got " + std::string(message_name(m)), true);
      const std::uint32_t lo = std::max(h->version_min, wire::protocol_version_min);
      const std::uint32_t hi = std::min({h->version_max, wire::protocol_version_max, cfg_.version_max});
      if (lo > hi)
        return fail(errc::unsupported_version,
                    "no common protocol version (peer speaks " + std::to_string(h->version_min) + ".." +
                        std::to_string(h->version_max) + ", we speak " + std::to_string(wire::protocol_version_min) +
                        ".." + std::to_string(wire::protocol_version_max) + ")",
                    true);
      if (h->nonce.size() != wire::nonce_size) return fail(errc::malformed, "hello nonce has the wrong size", true);
      if (h->kind > static_cast<std::uint8_t>(wire::peer_kind::client))
        return fail(errc::malformed, "hello names an unknown peer kind", true);
      if (h->name.empty()) return fail(errc::malformed, "hello carries no name", true);
      peer_ = identity_of(*h);
      version_ = hi;
      if (version_ < 3) peer_.dist_port = 0;  // not bound in a version 2 transcript: not taken
      nonce_initiator_ = h->nonce;
      if (auto refused = check_encryption()) return std::move(*refused);
      if (admit) {
        admission verdict = admit(peer_);
        if (verdict.code != errc::ok) return fail(verdict.code, std::move(verdict.reason), true);
      }
      nonce_acceptor_ = cfg_.random(wire::nonce_size);
      state_ = state::awaiting_reply;
      wire::challenge c{version_,        cfg_.self.name,  cfg_.self.port,     cfg_.self.creation,
                        cfg_.self.flags, nonce_acceptor_, cfg_.self.dist_port};
      return step{std::move(c), false, std::nullopt};
    }
    case state::awaiting_challenge: {
      const auto* c = std::get_if<wire::challenge>(&m);
      if (!c) return fail(errc::malformed, "expected challenge, got " + std::string(message_name(m)), true);
      if (c->version < wire::protocol_version_min ||
          c->version > std::min(wire::protocol_version_max, cfg_.version_max))
        return fail(errc::unsupported_version, "peer chose protocol version " + std::to_string(c->version), true);
      if (c->nonce.size() != wire::nonce_size) return fail(errc::malformed, "challenge nonce has the wrong size", true);
      peer_ = identity_of(*c);
      if (c->version < 3) peer_.dist_port = 0;  // as for hello
      if (cfg_.expected_peer && *cfg_.expected_peer != c->name)
        return fail(errc::rejected, "expected to reach " + *cfg_.expected_peer + " but the node there is " + c->name,
                    true);
      if (auto refused = check_encryption()) return std::move(*refused);
      version_ = c->version;
      nonce_acceptor_ = c->nonce;
      state_ = state::awaiting_ack;
      const crypto::digest d = crypto::hmac(cfg_.key, transcript("initiator"));
      return step{wire::challenge_reply{{d.begin(), d.end()}}, false, std::nullopt};
    }
    case state::awaiting_reply: {
      const auto* r = std::get_if<wire::challenge_reply>(&m);
      if (!r) return fail(errc::malformed, "expected challenge_reply, got " + std::string(message_name(m)), true);
      const crypto::key* proved = nullptr;
      const auto message = transcript("initiator");
      if (crypto::digest_equal(r->digest, crypto::hmac(cfg_.key, message))) proved = &cfg_.key;
      for (const auto& k : cfg_.also_accepted)
        if (!proved && crypto::digest_equal(r->digest, crypto::hmac(k, message))) proved = &k;
      if (!proved) return fail(errc::auth_failed, "cookie mismatch: " + peer_.name + " did not prove the cookie", true);
      state_ = state::up;
      proved_ = *proved;
      const crypto::digest d = crypto::hmac(*proved, transcript("acceptor"));
      return step{wire::challenge_ack{{d.begin(), d.end()}}, true, std::nullopt};
    }
    case state::awaiting_ack: {
      const auto* a = std::get_if<wire::challenge_ack>(&m);
      if (!a) return fail(errc::malformed, "expected challenge_ack, got " + std::string(message_name(m)), true);
      if (!crypto::digest_equal(a->digest, crypto::hmac(cfg_.key, transcript("acceptor"))))
        return fail(errc::auth_failed, "cookie mismatch: " + peer_.name + " did not prove the cookie", true);
      state_ = state::up;
      proved_ = cfg_.key;
      return step{std::nullopt, true, std::nullopt};
    }
    case state::up:
    case state::failed:
      break;
  }
  return fail(errc::internal, "unreachable handshake state", false);
}

}  // namespace cluster::internal::handshake
