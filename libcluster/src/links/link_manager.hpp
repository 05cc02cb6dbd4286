// Authenticated links between this node and its peers (nodes and clients).
//
// The link manager owns every connection of a node: it runs the cookie
// handshake on each (handshake/), admits or refuses newcomers (a cap on
// unauthenticated connections, tie-breaks for simultaneous connects,
// readmission of a restarted node with a new creation), keeps at most one link
// per peer node, completes the full mesh by telling peers about each other,
// and retries seeds and lost peers. Messages it does not handle itself
// (requests, later process traffic) go to the `link_listener`.
//
// The direct lane: a transport may have two (`dual_transport`: ZeroMQ, and
// plain TCP without ZeroMQ's I/O threads in the way). A node dials a peer
// first where its name says (ZeroMQ, so that a wrong cookie or a duplicate
// name is diagnosed on both sides, as for any dial), and if both have a
// direct lane (`self.dist_port`), that first contact is only a probe: when
// its handshake succeeds neither side brings the link up; the dialer closes
// it and dials the peer's dist port, which the handshake announced and
// authenticated. Both sides tell a probe by the same facts: the dialer
// announced its dist port in its hello, the acceptor has one, and the
// connection is not direct. No message ever crosses a probe, so nothing can
// be reordered by the change of lane. A direct dial that cannot connect
// makes the next dials to that peer announce no dist port: the first contact
// is then the link (ZeroMQ), until membership has us forget the peer (it
// restarted, or was declared dead).
//
// Pure protocol logic: it reads time from a `clock`, talks through a
// `transport`, and is driven by whoever owns it (the I/O thread in production,
// a simulation loop in tests) from one thread only: no locks inside.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/clock.hpp"
#include "cluster/node_name.hpp"
#include "crypto/link_cipher.hpp"
#include "handshake/handshake.hpp"
#include "links/admission.hpp"
#include "links/auth_backoff.hpp"
#include "transport/transport.hpp"
#include "wire/codec.hpp"

namespace cluster::internal {

struct link_config {
  /// Kind node; name is `name@host`. Links are sealed unless `flags` has
  /// `wire::flag_insecure_plaintext`.
  handshake::identity self;
  std::string host;  ///< our host, as others should dial it
  crypto::key handshake_key{};
  std::vector<crypto::key> accepted_handshake_keys;  ///< other cookies' keys, accepted from peers
  duration handshake_timeout = milliseconds(5000);   ///< per handshake step
  std::size_t max_pending_handshakes = 64;           ///< unauthenticated connections at once
  auth_backoff_config auth_backoff;                  ///< for sources that keep failing admission or the handshake
  /// Tokens taken at admission, when the transport admits (zmq_transport).
  admission_config admission;
  duration retry_interval = milliseconds(1000);  ///< between attempts to reach a peer
  duration forget_after = milliseconds(30000);   ///< stop retrying a lost (non-seed) peer
  /// Every node re-sends its peer list this often, so a mesh that missed an
  /// introduction (a lost frame, crossed connects) still completes.
  duration peers_interval = milliseconds(5000);
  /// Complete the mesh by exchanging peer lists. A node whose membership
  /// layer says who to link to (`want`/`forget`) turns this off.
  bool mesh_gossip = true;
  wire::decode_limits limits{};                                           ///< after authentication
  wire::decode_limits pre_auth_limits = wire::decode_limits::pre_auth();  ///< until then
  handshake::random_source random;                                        ///< nonces; CSPRNG unless seeded
};

/// One authenticated peer as the rest of the node sees it.
struct link_info {
  conn_id conn = 0;
  wire::peer_kind kind = wire::peer_kind::node;
  node_atom name;  ///< `name@host` for nodes, a label for clients (interned: copied per message)
  std::string host;
  std::uint16_t port = 0;
  std::uint32_t creation = 0;
  time_point since{};
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;  ///< on this link
};

/// Counters, for `info`, `stats` and tests. Nothing is dropped uncounted.
struct link_stats {
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t handshakes_ok = 0, handshakes_failed = 0, auth_failures = 0;
  std::uint64_t refused_pending_cap = 0;  ///< newcomers over max_pending_handshakes
  std::uint64_t refused_backoff = 0;      ///< newcomers from a source backed off after failed authentications
  std::uint64_t refused_admission = 0;    ///< newcomers without a valid admission token (not backed off yet)
  std::uint64_t malformed_frames = 0;     ///< frames that did not decode (peer dropped)
  std::uint64_t unopened_frames = 0;      ///< sealed frames forged, altered or replayed (peer dropped)
  std::uint64_t send_failures = 0;        ///< frames the transport would not take
  std::uint64_t links_lost = 0;
  std::uint64_t direct_upgrades = 0;      ///< probes that ended in a direct dial (ours or theirs)
  std::uint64_t direct_dials_failed = 0;  ///< direct dials that did not connect (then ZeroMQ for that peer)
};

class link_listener {
 public:
  virtual ~link_listener() = default;
  virtual void on_link_up(const link_info& peer) = 0;
  /// `reason` says why: `no_connection` (lost), `shutting_down` (the peer left),
  /// `rejected` (replaced by a newer incarnation), `malformed` (bad bytes).
  virtual void on_link_down(const link_info& peer, const error& reason) = 0;
  /// A post-handshake message the link manager does not handle itself.
  virtual void on_message(const link_info& from, wire::message&& m) = 0;
};

class link_manager final : public transport_handler {
 public:
  link_manager(link_config cfg, transport& net, const clock& clk, link_listener& listener);

  /// Keeps trying to reach `peer` (a seed) until it is linked, and again
  /// whenever the link is lost. Joining oneself is ignored.
  void join(const node_name& peer);
  /// Keeps a link to the node `name`, listening at host:port, until `forget`:
  /// membership says it is a live member. Retried every retry_interval.
  void want(const std::string& name, const std::string& host, std::uint16_t port);
  /// No longer wants `name`: stops retrying, and closes its link if the link
  /// is to incarnation `creation` (a restarted node's new link stays).
  void forget(const std::string& name, std::uint32_t creation, const error& reason);
  /// True while we keep trying to reach `name` (linked or not).
  bool wanted(const std::string& name) const { return wanted_.contains(name); }
  /// Sends to an authenticated peer; false if it has no link (counted).
  bool send(conn_id to, const wire::message& m);
  /// Sends an already encoded frame (one or more messages) to a peer.
  bool send_frame(conn_id to, std::span<const std::uint8_t> frame);
  /// The authenticated peer on connection `c` (node or client), if any.
  const link_info* peer(conn_id c) const {
    const auto it = conns_.find(c);
    return it == conns_.end() || !it->second.link ? nullptr : &*it->second.link;
  }
  /// The connection of the link to `node`, if it is up.
  std::optional<conn_id> node_link(const std::string& node) const { return link_of(node); }
  /// Tells every peer we are leaving, then closes every connection.
  void leave(const std::string& reason);

  /// Fires expired handshake deadlines and due retries.
  void tick();
  /// The earliest time `tick` has work to do.
  std::optional<time_point> next_deadline() const;

  /// Authenticated peer nodes (not clients), by name.
  std::vector<link_info> nodes() const;
  const link_stats& stats() const { return stats_; }
  std::size_t pending_handshakes() const;
  /// Connections open now (links, clients, and handshakes in progress).
  std::size_t connection_count() const { return conns_.size(); }
  const link_config& config() const { return cfg_; }
  /// Where our direct lane listens, once bound (before any dial).
  void set_dist_port(std::uint16_t port) { cfg_.self.dist_port = port; }

  // transport_handler
  void on_frame(conn_id c, std::span<const std::uint8_t> frame) override;
  void on_closed(conn_id c) override;
  void on_refused(conn_id c, std::optional<admission_answer> answer) override;
  admission_answer admit(const std::string& address, std::string_view username, std::string_view password) override;

 private:
  struct connection {
    std::optional<handshake::handshake> hs;     ///< engaged until the link is up
    std::optional<link_info> link;              ///< engaged once authenticated
    std::optional<crypto::link_cipher> cipher;  ///< engaged once authenticated, unless plaintext
    bool outbound = false;
    std::string target;           ///< outbound: the node we meant to reach
    std::string source;           ///< inbound: the peer's address, if the transport knows it
    std::string host;             ///< outbound: the address dialed
    bool direct = false;          ///< outbound: dialed on the direct lane
    bool announced_dist = false;  ///< outbound: our hello announced our dist port (a probe, if the peer has one)
  };
  struct wanted_peer {
    node_name address;
    bool seed = false;
    time_point next_attempt{};
    std::optional<time_point> forget_at;  ///< non-seeds are forgotten eventually
    bool direct_failed = false;           ///< a direct dial did not connect: link on the first contact
  };

  void connect_to(const std::string& name, const std::string& host, std::uint16_t port, bool direct = false);
  handshake::config handshake_config(std::optional<std::string> expected, bool announce_dist_port = true) const;
  /// A first contact whose handshake just ended, to be replaced by a direct
  /// link (see the top of this file).
  bool is_probe(conn_id c, const connection& conn, const handshake::identity& peer) const;
  /// A direct dial to a wanted peer did not connect: its next dial is a
  /// first contact that stays the link (see the top of this file).
  void direct_dial_failed(const std::string& peer, const error& reason);
  handshake::admission admit(conn_id c, const handshake::identity& peer);
  void on_handshake_done(conn_id c, connection& conn);
  void handle_link_message(conn_id c, wire::message&& m);
  void send_raw(conn_id c, const wire::message& m);
  /// Seals (if the link is encrypted) and sends one frame; false if refused.
  bool transmit(conn_id c, connection* conn, std::span<const std::uint8_t> frame);
  void count_out(conn_id c, std::size_t bytes);
  /// Forgets a connection, tells the transport, and reports a lost link.
  void drop(conn_id c, const error& reason, bool close_transport);
  std::optional<conn_id> link_of(const std::string& node) const;
  bool connecting_to(const std::string& node) const;
  void learn(const wire::node_entry& e);
  void send_peer_lists();
  wire::node_entry entry_of(const link_info& l) const;

  link_config cfg_;
  transport& net_;
  const clock& clock_;
  link_listener& listener_;
  std::unordered_map<conn_id, connection> conns_;
  std::map<std::string, conn_id> links_by_name_;  ///< authenticated peer nodes
  std::map<std::string, wanted_peer> wanted_;     ///< peers we keep trying to reach
  link_stats stats_;
  /// Records a failed authentication from `source`; logs when it gets backed off.
  void note_auth_failure(const std::string& source);

  auth_backoff backoff_;
  admission_gate admission_;
  bool leaving_ = false;
  time_point next_peers_exchange_{};
};

}  // namespace cluster::internal
