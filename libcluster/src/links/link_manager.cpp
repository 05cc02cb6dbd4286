#include "links/link_manager.hpp"

#include <algorithm>
#include <string_view>

#include "cluster/log.hpp"

namespace cluster::internal {
namespace {

// The goodbye reason that retires the spare one of two crossed connections.
constexpr const char* duplicate_reason = "duplicate connection";
// How the goodbye to a peer we drop (not leaving ourselves) begins.
constexpr std::string_view dropped_prefix = "dropped: ";

std::string host_of(const std::string& name) {
  auto parsed = parse_node_name(name);
  return parsed ? parsed->host : std::string();
}

}  // namespace

link_manager::link_manager(link_config cfg, transport& net, const clock& clk, link_listener& listener)
    : cfg_(std::move(cfg)),
      net_(net),
      clock_(clk),
      listener_(listener),
      backoff_(cfg_.auth_backoff),
      admission_(cfg_.admission) {
  if (!cfg_.random) cfg_.random = crypto::random_bytes;
  net_.set_handler(this);
}

handshake::config link_manager::handshake_config(std::optional<std::string> expected, bool announce_dist_port) const {
  handshake::config hc;
  hc.self = cfg_.self;
  if (!announce_dist_port) hc.self.dist_port = 0;
  hc.key = cfg_.handshake_key;
  hc.also_accepted = cfg_.accepted_handshake_keys;
  hc.step_timeout = cfg_.handshake_timeout;
  hc.random = cfg_.random;
  hc.expected_peer = std::move(expected);
  return hc;
}

void link_manager::join(const node_name& peer) {
  if (peer.id() == cfg_.self.name) return;
  wanted_peer& w = wanted_[peer.id()];
  w.address = peer;
  w.seed = true;
  w.forget_at.reset();
  w.next_attempt = clock_.now();
  tick();
}

std::optional<conn_id> link_manager::link_of(const std::string& node) const {
  const auto it = links_by_name_.find(node);
  if (it == links_by_name_.end()) return std::nullopt;
  return it->second;
}

bool link_manager::connecting_to(const std::string& node) const {
  return std::any_of(conns_.begin(), conns_.end(), [&](const auto& kv) {
    const connection& c = kv.second;
    if (!c.hs) return false;
    if (c.outbound) return c.target == node;
    return c.hs->current() == handshake::state::awaiting_reply && c.hs->peer().name == node;
  });
}

std::size_t link_manager::pending_handshakes() const {
  return static_cast<std::size_t>(
      std::count_if(conns_.begin(), conns_.end(), [](const auto& kv) { return kv.second.hs && !kv.second.outbound; }));
}

void link_manager::connect_to(const std::string& name, const std::string& host, std::uint16_t port, bool direct) {
  auto c = direct ? net_.connect_direct(host, port, name) : net_.connect(host, port, name);
  if (!c) {
    log(log_level::warn, cfg_.self.name + ": cannot connect to " + name + ": " + c.err().message);
    if (direct) direct_dial_failed(name, c.err());
    return;
  }
  log(log_level::debug, cfg_.self.name + ": connecting to " + name + " at " + host + ":" + std::to_string(port) +
                            (direct ? " (direct)" : ""));
  wire::message hello;
  connection conn;
  const auto w = wanted_.find(name);
  conn.announced_dist = !direct && cfg_.self.dist_port != 0 && (w == wanted_.end() || !w->second.direct_failed);
  conn.hs = handshake::handshake::initiate(handshake_config(name, conn.announced_dist), clock_.now(), hello);
  conn.outbound = true;
  conn.target = name;
  conn.host = host;
  conn.direct = direct;
  conns_.insert_or_assign(*c, std::move(conn));
  send_raw(*c, hello);
}

bool link_manager::transmit(conn_id c, connection* conn, std::span<const std::uint8_t> frame) {
  if (conn && conn->cipher) frame = conn->cipher->seal(frame);
  if (!net_.send(c, frame)) {
    if (conn && conn->cipher) conn->cipher->unsend();
    ++stats_.send_failures;
    return false;
  }
  count_out(c, frame.size());  // as on the wire, like bytes_in
  return true;
}

void link_manager::send_raw(conn_id c, const wire::message& m) {
  const auto it = conns_.find(c);
  transmit(c, it == conns_.end() ? nullptr : &it->second, wire::encode(m));
}

void link_manager::count_out(conn_id c, std::size_t bytes) {
  ++stats_.frames_out;
  stats_.bytes_out += bytes;
  if (auto it = conns_.find(c); it != conns_.end() && it->second.link) {
    ++it->second.link->frames_out;
    it->second.link->bytes_out += bytes;
  }
}

bool link_manager::send_frame(conn_id to, std::span<const std::uint8_t> frame) {
  const auto it = conns_.find(to);
  if (it == conns_.end() || !it->second.link) {
    ++stats_.send_failures;
    return false;
  }
  return transmit(to, &it->second, frame);
}

bool link_manager::send(conn_id to, const wire::message& m) {
  const auto it = conns_.find(to);
  if (it == conns_.end() || !it->second.link) {
    ++stats_.send_failures;
    return false;
  }
  send_raw(to, m);
  return true;
}

handshake::admission link_manager::admit(conn_id c, const handshake::identity& peer) {
  if (leaving_) return {errc::shutting_down, cfg_.self.name + " is stopping"};
  if (peer.kind == wire::peer_kind::client) return handshake::admission::accept();
  if (!is_node_id(peer.name)) return {errc::bad_argument, "'" + peer.name + "' is not a valid node name (name@host)"};
  if (peer.port == 0) return {errc::bad_argument, peer.name + " announces no listening port"};
  if (peer.name == cfg_.self.name)
    return {errc::rejected, "a node named " + peer.name + " is already running here (duplicate node name)"};
  if (const auto existing = link_of(peer.name)) {
    if (conns_.at(*existing).link->creation == peer.creation)
      return {errc::already_connected, cfg_.self.name + " is already connected to " + peer.name};
    return handshake::admission::accept();  // a new incarnation: replaces the old link when it completes
  }
  // Simultaneous connect: the connection opened by the smaller name wins, and
  // it is settled here, before either completes. Were both to complete, one
  // side would have to switch links after sending on the other: what was in
  // flight there would be lost, and the peer might see us go down and up.
  // So the smaller name refuses the other's dial while its own is under way
  // (the larger admits ours, whatever its own dial's state). If our dial then
  // fails (no route that way), it is retried after `retry_interval`, and the
  // peer's next dial gets in meanwhile. A forged hello cannot cancel our dial
  // either way: it is only ever theirs that is refused.
  if (cfg_.self.name < peer.name) {
    const bool ours_under_way = std::any_of(conns_.begin(), conns_.end(), [&](const auto& kv) {
      const connection& o = kv.second;
      return kv.first != c && o.hs && o.outbound && o.target == peer.name;
    });
    if (ours_under_way)
      return {errc::already_connected, "simultaneous connect: keeping the connection opened by " + cfg_.self.name};
  }
  return handshake::admission::accept();
}

wire::node_entry link_manager::entry_of(const link_info& l) const {
  return wire::node_entry{l.name, l.host, l.port, l.creation};
}

bool link_manager::is_probe(conn_id c, const connection& conn, const handshake::identity& peer) const {
  if (peer.kind != wire::peer_kind::node || net_.direct(c)) return false;
  return conn.outbound ? conn.announced_dist && peer.dist_port != 0 : peer.dist_port != 0 && cfg_.self.dist_port != 0;
}

void link_manager::on_handshake_done(conn_id c, connection& conn) {
  const handshake::identity peer = conn.hs->peer();
  const bool outbound = conn.outbound;
  if (!outbound) backoff_.on_success(conn.source);
  if (is_probe(c, conn, peer)) {
    ++stats_.direct_upgrades;
    const std::string host = conn.host;
    conns_.erase(c);  // never a link: nothing was sent on it, nothing is lost
    net_.close(c);
    if (outbound) connect_to(peer.name, host, peer.dist_port, true);
    return;
  }
  // Sealing starts with the next frame. Nothing unsealed can ride behind the
  // handshake's last message: before authentication a frame holds one message.
  if (handshake::encrypted(cfg_.self)) {
    const handshake::session_keys keys = conn.hs->keys();
    conn.cipher.emplace(keys.send, keys.receive);
  }
  conn.hs.reset();
  conn.link = link_info{c, peer.kind, peer.name, host_of(peer.name), peer.port, peer.creation, clock_.now()};
  ++stats_.handshakes_ok;
  const link_info info = *conn.link;
  if (peer.kind == wire::peer_kind::client) {
    log(log_level::debug, cfg_.self.name + ": client " + peer.name + " authenticated");
    listener_.on_link_up(info);
    return;
  }

  if (const auto old = link_of(peer.name); old && *old != c) {
    const std::uint32_t old_creation = conns_.at(*old).link->creation;
    if (old_creation != peer.creation) {
      log(log_level::info, cfg_.self.name + ": " + peer.name + " restarted (creation " + std::to_string(old_creation) +
                               " -> " + std::to_string(peer.creation) + ")");
      drop(*old, error{errc::rejected, "replaced by a new incarnation"}, true);
    } else {
      // Two links to one incarnation (the connects crossed): keep the one opened
      // by the smaller name, on both sides alike, without a down/up blip.
      const std::string& opener = outbound ? cfg_.self.name : peer.name;
      const std::string& smaller = std::min(cfg_.self.name, peer.name);
      if (opener != smaller) {
        send_raw(c, wire::goodbye{duplicate_reason});
        conns_.erase(c);
        net_.close(c);
        return;
      }
      const conn_id previous = *old;
      links_by_name_[peer.name] = c;
      send_raw(previous, wire::goodbye{duplicate_reason});
      conns_.erase(previous);
      net_.close(previous);
      return;
    }
  }

  links_by_name_[peer.name] = c;
  if (auto w = wanted_.find(peer.name); w != wanted_.end()) w->second.forget_at.reset();
  log(log_level::info, cfg_.self.name + ": node " + peer.name + " up (creation " + std::to_string(peer.creation) + ")");
  listener_.on_link_up(info);
  if (!cfg_.mesh_gossip) return;

  // Complete the mesh: the newcomer learns our peers, our peers learn the newcomer.
  wire::peers for_newcomer;
  const wire::peers about_newcomer{{entry_of(info)}};
  for (const auto& [name, id] : links_by_name_) {
    if (id == c) continue;
    for_newcomer.nodes.push_back(entry_of(*conns_.at(id).link));
    send_raw(id, about_newcomer);
  }
  if (!for_newcomer.nodes.empty()) send_raw(c, for_newcomer);
}

void link_manager::want(const std::string& name, const std::string& host, std::uint16_t port) {
  if (leaving_ || name == cfg_.self.name) return;
  wanted_peer& w = wanted_[name];
  w.address.name = name.substr(0, name.find('@'));
  w.address.host = host;
  w.address.port = port;
  w.seed = true;  // until forgotten
  w.forget_at.reset();
  if (!link_of(name) && !connecting_to(name)) {
    w.next_attempt = clock_.now() + cfg_.retry_interval;
    connect_to(name, host, port);
  }
}

void link_manager::forget(const std::string& name, std::uint32_t creation, const error& reason) {
  wanted_.erase(name);
  // Only that incarnation's link: a restarted node may already be linked anew.
  if (const auto c = link_of(name); c && conns_.at(*c).link->creation == creation) drop(*c, reason, true);
  // A dial of ours still in its handshake would fail against the node that
  // went (and warn of a wrong cookie if it closed mid-handshake). Any
  // incarnation's: membership reports a restarted node's new incarnation up
  // right after the old one down, and want() then dials it afresh.
  std::vector<conn_id> dials;
  for (const auto& [c, conn] : conns_)
    if (conn.hs && conn.outbound && conn.target == name) dials.push_back(c);
  for (const conn_id c : dials) drop(c, reason, true);
}

void link_manager::learn(const wire::node_entry& e) {
  if (!cfg_.mesh_gossip || leaving_ || e.name == cfg_.self.name || link_of(e.name) || connecting_to(e.name)) return;
  auto parsed = parse_node_name(e.name);
  if (!parsed) {
    log(log_level::warn, cfg_.self.name + ": ignoring a peer with a malformed name: " + e.name);
    return;
  }
  node_name address = *parsed;
  address.port = e.port;
  const time_point now = clock_.now();
  wanted_peer& w = wanted_[e.name];
  if (!w.seed) w.forget_at = now + cfg_.forget_after;
  w.address = address;
  // Dialed lately, or a seed that said goodbye: tick() dials it when due.
  if (w.next_attempt > now) return;
  w.next_attempt = now + cfg_.retry_interval;
  connect_to(e.name, address.host, address.port);
}

void link_manager::handle_link_message(conn_id c, wire::message&& m) {
  const link_info info = *conns_.at(c).link;
  switch (wire::type_of(m)) {
    case wire::msg_type::ping:
      send_raw(c, wire::pong{std::get<wire::ping>(m).seq});
      return;
    case wire::msg_type::peers:
      if (info.kind == wire::peer_kind::node)
        for (const auto& e : std::get<wire::peers>(m).nodes) learn(e);
      return;
    case wire::msg_type::goodbye: {
      const std::string reason = std::get<wire::goodbye>(m).reason;
      if (info.kind == wire::peer_kind::client) {
        drop(c, error{errc::shutting_down, "client left"}, true);
        return;
      }
      if (reason == duplicate_reason) {
        // The peer keeps the other of two crossed connections. Usually that
        // one is already our link and this one is a spare; if this one is our
        // link, it goes down and the other comes up when its handshake ends.
        drop(c, error{errc::already_connected, "replaced by a crossed connection"}, true);
        return;
      }
      // A seed is dialed again: at once if it only dropped us, not before
      // the retry interval if it is leaving (membership will say it left).
      if (auto w = wanted_.find(info.name); w != wanted_.end()) {
        if (!w->second.seed)
          wanted_.erase(w);
        else if (!reason.starts_with(dropped_prefix))
          w->second.next_attempt = clock_.now() + cfg_.retry_interval;
      }
      log(log_level::info, cfg_.self.name + ": node " + info.name + " said goodbye (" + reason + ")");
      drop(c, error{errc::shutting_down, "left: " + reason}, true);
      return;
    }
    default:
      if (wire::is_handshake(wire::type_of(m))) {
        ++stats_.malformed_frames;
        log(log_level::warn, cfg_.self.name + ": dropping " + info.name + ": handshake message after authentication");
        drop(c, error{errc::malformed, "handshake message after authentication"}, true);
        return;
      }
      listener_.on_message(info, std::move(m));
  }
}

void link_manager::on_frame(conn_id c, std::span<const std::uint8_t> frame) {
  auto it = conns_.find(c);
  if (it == conns_.end()) {
    if (leaving_) {
      net_.close(c);
      return;
    }
    const std::string source = net_.peer_address(c);
    if (const auto until = backoff_.refused_until(source, clock_.now())) {
      ++stats_.refused_backoff;
      const auto seconds = std::chrono::ceil<std::chrono::seconds>(*until - clock_.now()).count();
      send_raw(c, wire::reject{static_cast<std::int32_t>(errc::busy), "too many failed authentications from " + source +
                                                                          ": new connections refused for " +
                                                                          std::to_string(seconds) + " more s"});
      net_.close(c);
      return;
    }
    if (pending_handshakes() >= cfg_.max_pending_handshakes) {
      ++stats_.refused_pending_cap;
      log(log_level::warn, cfg_.self.name + ": refusing a new connection: " +
                               std::to_string(cfg_.max_pending_handshakes) + " handshakes already pending");
      net_.close(c);
      return;
    }
    connection conn;
    conn.hs = handshake::handshake::accept(handshake_config(std::nullopt), clock_.now());
    conn.source = source;
    it = conns_.emplace(c, std::move(conn)).first;
  }
  ++stats_.frames_in;
  stats_.bytes_in += frame.size();
  if (it->second.link) {
    ++it->second.link->frames_in;
    it->second.link->bytes_in += frame.size();
  }

  const bool authenticated = it->second.link.has_value();
  if (it->second.cipher) {
    const auto opened = it->second.cipher->open(frame);
    if (!opened) {
      ++stats_.unopened_frames;
      log(log_level::warn, cfg_.self.name + ": dropping " + it->second.link->name +
                               ": a frame that does not open (forged, altered or replayed)");
      drop(c, error{errc::malformed, "a sealed frame did not open"}, true);
      return;
    }
    frame = *opened;
  }
  auto decoded = wire::decode_frame(frame, authenticated ? cfg_.limits : cfg_.pre_auth_limits);
  if (!decoded) {
    ++stats_.malformed_frames;
    const std::string who = authenticated ? it->second.link->name : "an unauthenticated peer";
    log(log_level::warn, cfg_.self.name + ": dropping " + who + ": " + decoded.err().message);
    if (!authenticated) send_raw(c, wire::reject{static_cast<std::int32_t>(decoded.err().code), decoded.err().message});
    drop(c, decoded.err(), true);
    return;
  }
  for (wire::message& m : *decoded) {
    const auto cur = conns_.find(c);
    if (cur == conns_.end()) return;  // dropped by an earlier message of this frame
    connection& conn = cur->second;
    if (!conn.hs) {
      handle_link_message(c, std::move(m));
      continue;
    }
    handshake::step s =
        conn.hs->on_message(m, clock_.now(), [&](const handshake::identity& peer) { return admit(c, peer); });
    if (s.send) send_raw(c, *s.send);
    if (s.failure) {
      ++stats_.handshakes_failed;
      if (s.failure->code == errc::auth_failed) ++stats_.auth_failures;
      const auto level = s.failure->code == errc::already_connected ? log_level::debug : log_level::warn;
      const std::string peer = conn.hs->peer().name.empty()
                                   ? (conn.outbound ? conn.target : std::string("a new connection"))
                                   : conn.hs->peer().name;
      log(level, cfg_.self.name + ": handshake with " + peer + " failed: " + s.failure->message);
      if (s.failure->code == errc::auth_failed && !conn.outbound) note_auth_failure(conn.source);
      drop(c, *s.failure, true);
      return;
    }
    if (s.done) on_handshake_done(c, conn);
  }
}

void link_manager::on_closed(conn_id c) { drop(c, error{errc::no_connection, "connection lost"}, false); }

void link_manager::note_auth_failure(const std::string& source) {
  if (const auto wait = backoff_.on_failure(source, clock_.now()))
    log(log_level::warn,
        cfg_.self.name + ": " + source + " keeps failing to authenticate: refusing its new connections for " +
            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*wait).count()) + " ms");
}

admission_answer link_manager::admit(const std::string& address, std::string_view username, std::string_view password) {
  if (leaving_) return admission_answer::later;
  if (backoff_.refused_until(address, clock_.now())) {
    ++stats_.refused_backoff;
    return admission_answer::later;
  }
  const auto verdict = admission_.check(username, password, std::chrono::system_clock::now());
  if (verdict == admission_verdict::admitted) return admission_answer::admit;
  ++stats_.refused_admission;
  std::string why(describe(verdict));
  if (verdict == admission_verdict::clock_skew)
    why += ": its clock is " + std::to_string(admission_.last_skew().count() / 1000) + " s from ours";
  const std::string line =
      cfg_.self.name + ": refused a connection from " + address + " at admission: its token was " + why;
  // A replayed or stale token had a valid MAC: a replay (which anyone who saw
  // a token can send, so it must not back off the address, nor flood the log)
  // or a genuine dialer's, re-presented by ZeroMQ, which retries a refused
  // TCP connect with the same token until we are up. "Later" tells that
  // dialer to come back with a fresh token instead of warning of a wrong cookie.
  if (verdict == admission_verdict::replayed || verdict == admission_verdict::stale) {
    log(log_level::debug, line);
    return admission_answer::later;
  }
  log(log_level::warn, line);
  note_auth_failure(address);
  return admission_answer::refuse;
}

void link_manager::on_refused(conn_id c, std::optional<admission_answer> answer) {
  const auto it = conns_.find(c);
  const std::string peer = it != conns_.end() && !it->second.target.empty() ? it->second.target : "a peer";
  const error reason = refusal_error(peer, answer);
  // "Later" is routine after a peer's restart; the redial settles it.
  log(answer == admission_answer::later ? log_level::info : log_level::warn, cfg_.self.name + ": " + reason.message);
  ++stats_.handshakes_failed;
  drop(c, reason, false);
}

void link_manager::drop(conn_id c, const error& reason, bool close_transport) {
  const auto it = conns_.find(c);
  if (it == conns_.end()) return;
  connection conn = std::move(it->second);
  conns_.erase(it);
  if (conn.direct && !conn.link && (reason.code == errc::no_connection || reason.code == errc::timeout))
    direct_dial_failed(conn.target, reason);
  // A ROUTER cannot hang up on one peer: tell an authenticated peer we are
  // dropping it, or it would keep a link we no longer have.
  if (close_transport && conn.link && !conn.outbound && reason.code != errc::shutting_down &&
      reason.code != errc::rejected)
    transmit(c, &conn, wire::encode(wire::goodbye{std::string(dropped_prefix) + reason.message}));
  if (close_transport) net_.close(c);
  if (!conn.link) return;
  const link_info& info = *conn.link;
  if (info.kind == wire::peer_kind::client) {
    listener_.on_link_down(info, reason);
    return;
  }
  const auto l = links_by_name_.find(info.name);
  if (l == links_by_name_.end() || l->second != c) return;
  links_by_name_.erase(l);
  ++stats_.links_lost;
  if (reason.code != errc::shutting_down) {
    log(log_level::warn, cfg_.self.name + ": node " + info.name + " down: " + reason.message);
    if (auto w = wanted_.find(info.name); w != wanted_.end()) {
      w->second.next_attempt = clock_.now() + cfg_.retry_interval;  // still wanted: redial
    } else if (!leaving_ && cfg_.mesh_gossip) {
      // Keep trying for a while: a restarted node comes back with a new creation.
      auto parsed = parse_node_name(info.name.str());
      if (parsed) {
        wanted_peer& fresh = wanted_[info.name];
        fresh.address = *parsed;
        fresh.address.port = info.port;
        fresh.forget_at = clock_.now() + cfg_.forget_after;
        fresh.next_attempt = clock_.now() + cfg_.retry_interval;
      }
    }
  }
  listener_.on_link_down(info, reason);
}

void link_manager::direct_dial_failed(const std::string& peer, const error& reason) {
  // Not when we gave up on the peer meanwhile (forget): that is no sign of
  // a firewall.
  const auto w = wanted_.find(peer);
  if (w == wanted_.end()) return;
  ++stats_.direct_dials_failed;
  w->second.direct_failed = true;
  w->second.next_attempt = clock_.now();  // at the next tick, on the first contact
  log(log_level::warn, cfg_.self.name + ": cannot reach " + peer + " on its dist port (" + reason.message +
                           "): links to it go through ZeroMQ");
}

void link_manager::leave(const std::string& reason) {
  if (leaving_) return;
  leaving_ = true;
  std::vector<conn_id> all;
  for (const auto& [c, conn] : conns_)
    if (conn.link) send_raw(c, wire::goodbye{reason});  // nodes and clients alike
  for (const auto& [c, conn] : conns_) all.push_back(c);
  for (const conn_id c : all) net_.close(c);
  conns_.clear();
  links_by_name_.clear();
  wanted_.clear();
}

void link_manager::tick() {
  const time_point now = clock_.now();
  std::vector<conn_id> expired;
  for (const auto& [c, conn] : conns_)
    if (conn.hs && conn.hs->deadline() <= now) expired.push_back(c);
  for (const conn_id c : expired) {
    auto it = conns_.find(c);
    if (it == conns_.end() || !it->second.hs) continue;
    handshake::step s = it->second.hs->on_timeout();
    ++stats_.handshakes_failed;
    const std::string peer = it->second.outbound ? it->second.target : std::string("an inbound connection");
    log(log_level::debug, cfg_.self.name + ": handshake with " + peer + " timed out");
    if (s.send) send_raw(c, *s.send);
    if (it->second.outbound)
      if (auto w = wanted_.find(it->second.target); w != wanted_.end())
        w->second.next_attempt = now + cfg_.retry_interval;
    drop(c, *s.failure, true);
  }
  if (leaving_) return;
  if (cfg_.mesh_gossip && now >= next_peers_exchange_) {
    next_peers_exchange_ = now + cfg_.peers_interval;
    send_peer_lists();
  }
  for (auto it = wanted_.begin(); it != wanted_.end();) {
    wanted_peer& w = it->second;
    if (link_of(it->first) || connecting_to(it->first)) {
      ++it;
      continue;
    }
    if (w.forget_at && now >= *w.forget_at) {
      log(log_level::info, cfg_.self.name + ": giving up on " + it->first);
      it = wanted_.erase(it);
      continue;
    }
    if (now >= w.next_attempt) {
      w.next_attempt = now + cfg_.retry_interval;
      connect_to(it->first, w.address.host, w.address.port);
    }
    ++it;
  }
}

void link_manager::send_peer_lists() {
  if (links_by_name_.size() < 2) return;  // nobody to introduce
  std::vector<wire::node_entry> all;
  for (const auto& [name, c] : links_by_name_) all.push_back(entry_of(*conns_.at(c).link));
  for (const auto& [name, c] : links_by_name_) {
    wire::peers others;
    for (const auto& e : all)
      if (e.name != name) others.nodes.push_back(e);
    send_raw(c, others);
  }
}

std::optional<time_point> link_manager::next_deadline() const {
  std::optional<time_point> next;
  auto consider = [&](time_point t) {
    if (!next || t < *next) next = t;
  };
  if (cfg_.mesh_gossip && !leaving_ && links_by_name_.size() >= 2) consider(next_peers_exchange_);
  for (const auto& [c, conn] : conns_)
    if (conn.hs) consider(conn.hs->deadline());
  if (!leaving_)
    for (const auto& [name, w] : wanted_)
      if (!link_of(name) && !connecting_to(name))
        consider(w.forget_at ? std::min(w.next_attempt, *w.forget_at) : w.next_attempt);
  return next;
}

std::vector<link_info> link_manager::nodes() const {
  std::vector<link_info> out;
  for (const auto& [name, c] : links_by_name_) out.push_back(*conns_.at(c).link);
  return out;
}

}  // namespace cluster::internal
