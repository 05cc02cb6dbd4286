// The mutual cookie handshake on one connection, as a pure state machine.
//
//   initiator                           acceptor
//   hello{versions, name, creation, nonce_i} ->
//                                       admit? (limits, tie-breaks)
//                   <- challenge{version, name, creation, nonce_a}
//   challenge_reply{HMAC(k, "initiator" | transcript)} ->
//                                       verify (constant time)
//                   <- challenge_ack{HMAC(k, "acceptor" | transcript)}
//   verify
//
// The transcript binds both fresh nonces, both names and creations and the
// version, so a recorded handshake cannot be replayed and a proof for one
// direction cannot be reflected as the other. The cookie never crosses the
// wire; `k` is derived from it. While a cluster rotates its cookie the
// initiator proves its first cookie and the acceptor checks the reply against
// each cookie it accepts, then proves the one that matched. Any side may send
// `reject` instead of its next step and close. Both sides must agree on
// `wire::flag_insecure_plaintext`; once up, each side derives the keys that
// seal the link (`keys()`) from the proved cookie key and the transcript.
// Each step has a deadline (`deadline()`); the owner calls `on_timeout` when
// it passes. No I/O, no threads, no clock reads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cluster/clock.hpp"
#include "cluster/error.hpp"
#include "crypto/keys.hpp"
#include "wire/codec.hpp"

namespace cluster::internal::handshake {

/// What one side says about itself.
struct identity {
  wire::peer_kind kind = wire::peer_kind::node;
  std::string name;        ///< `name@host` (a node) or a label (a client)
  std::uint16_t port = 0;  ///< where a node listens; 0 for clients
  std::uint32_t creation = 0;
  std::uint64_t flags = 0;
  /// A node: where it takes direct links (a transport's direct lane, see
  /// links/link_manager.hpp), 0 if it has none. An initiator announces it
  /// only to say that this connection is a first contact, to be replaced by
  /// a direct one.
  std::uint16_t dist_port = 0;
};

/// The acceptor's verdict on a hello, from whoever owns the connection.
struct admission {
  errc code = errc::ok;  ///< ok, or why the hello is refused
  std::string reason;
  static admission accept() { return {}; }
};

using random_source = std::function<std::vector<std::uint8_t>(std::size_t)>;
using admit_fn = std::function<admission(const identity& peer)>;

struct config {
  identity self;
  crypto::key key{};  ///< the handshake key derived from the cookie
  /// Keys of other cookies an acceptor also takes (cookie rotation); it
  /// answers with the key the initiator proved.
  std::vector<crypto::key> also_accepted;
  duration step_timeout = milliseconds(5000);
  random_source random;                      ///< nonces; the CSPRNG unless a test seeds one
  std::optional<std::string> expected_peer;  ///< initiator: the name we meant to reach
  /// The newest protocol version offered or accepted (tests: an older peer).
  std::uint32_t version_max = wire::protocol_version_max;
};

/// The keys of one link's two directions, from this side's point of view.
struct session_keys {
  crypto::key send{};
  crypto::key receive{};
};

/// Whether the link will be sealed: no side asked for plaintext.
inline bool encrypted(const identity& side) { return (side.flags & wire::flag_insecure_plaintext) == 0; }

enum class state { awaiting_hello, awaiting_challenge, awaiting_reply, awaiting_ack, up, failed };

/// What to do after an input: send `send` (if any), then the link is up
/// (`done`), or close the connection (`failure`).
struct step {
  std::optional<wire::message> send;
  bool done = false;
  std::optional<error> failure;
};

class handshake {
 public:
  /// Starts as the connecting side; `hello` is the first message to send.
  static handshake initiate(config cfg, time_point now, wire::message& hello);
  /// Starts as the accepting side, waiting for a hello.
  static handshake accept(config cfg, time_point now);

  step on_message(const wire::message& m, time_point now, const admit_fn& admit);
  /// Call when `now >= deadline()`; fails the handshake.
  step on_timeout();

  state current() const { return state_; }
  time_point deadline() const { return deadline_; }
  bool initiator() const { return initiator_; }
  /// The peer's identity, valid once its hello or challenge arrived.
  const identity& peer() const { return peer_; }
  std::uint32_t version() const { return version_; }
  /// The link's keys, fresh for this connection; only once `current() == up`.
  session_keys keys() const;

 private:
  handshake(config cfg, bool initiator, time_point now);
  step fail(errc code, std::string reason, bool tell_peer);
  /// A refusal if the peer's encryption setting differs from ours.
  std::optional<step> check_encryption();
  std::vector<std::uint8_t> transcript(std::string_view label) const;
  const identity& initiator_identity() const { return initiator_ ? cfg_.self : peer_; }
  const identity& acceptor_identity() const { return initiator_ ? peer_ : cfg_.self; }

  config cfg_;
  bool initiator_ = false;
  state state_ = state::awaiting_hello;
  time_point deadline_{};
  identity peer_;
  std::uint32_t version_ = 0;
  std::vector<std::uint8_t> nonce_initiator_;
  std::vector<std::uint8_t> nonce_acceptor_;
  crypto::key proved_{};  ///< the cookie key both sides proved; set when up
};

std::string_view to_string(state s);

}  // namespace cluster::internal::handshake
