// The cookie handshake, played by hand against each side, and the link
// manager's admission rules (simultaneous connects in both tie-break orders,
// duplicates, restarts), with a recording transport and a manual clock.
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <set>

#include "cluster/testing/manual_clock.hpp"
#include "handshake/handshake.hpp"
#include "links/link_manager.hpp"

using namespace cluster;
using namespace cluster::internal;
namespace hs = cluster::internal::handshake;

namespace {

hs::config make_config(const std::string& name, const std::string& cookie, std::uint32_t creation,
                       wire::peer_kind kind = wire::peer_kind::node, std::uint64_t flags = 0) {
  hs::config c;
  c.self = {kind, name, 4370, creation, flags};
  c.key = crypto::derive_key(cookie, crypto::key_purpose::handshake);
  c.step_timeout = milliseconds(1000);
  return c;
}

struct played {
  std::optional<error> initiator_failure, acceptor_failure;
  bool initiator_up = false, acceptor_up = false;
  std::vector<wire::message> transcript;
  std::optional<hs::session_keys> initiator_keys, acceptor_keys;
};

// Runs a full exchange between the two machines, recording every message.
played play(hs::config initiator_cfg, hs::config acceptor_cfg, const hs::admit_fn& admit = nullptr) {
  testing::manual_clock clock;
  played out;
  wire::message first;
  auto i = hs::handshake::initiate(std::move(initiator_cfg), clock.now(), first);
  auto a = hs::handshake::accept(std::move(acceptor_cfg), clock.now());
  std::optional<wire::message> to_acceptor = first, to_initiator;
  for (int round = 0; round < 4 && (to_acceptor || to_initiator); ++round) {
    if (to_acceptor) {
      out.transcript.push_back(*to_acceptor);
      auto s = a.on_message(*to_acceptor, clock.now(), admit);
      to_acceptor.reset();
      to_initiator = s.send;
      out.acceptor_up = s.done;
      if (s.done) out.acceptor_keys = a.keys();
      if (s.failure) out.acceptor_failure = s.failure;
    }
    if (to_initiator) {
      out.transcript.push_back(*to_initiator);
      auto s = i.on_message(*to_initiator, clock.now(), nullptr);
      to_initiator.reset();
      to_acceptor = s.send;
      out.initiator_up = out.initiator_up || s.done;
      if (s.done) out.initiator_keys = i.keys();
      if (s.failure) out.initiator_failure = s.failure;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("two sides with the same cookie authenticate each other") {
  auto r = play(make_config("a@h", "secret", 1), make_config("b@h", "secret", 2));
  CHECK(r.initiator_up);
  CHECK(r.acceptor_up);
  CHECK_FALSE(r.initiator_failure);
  CHECK_FALSE(r.acceptor_failure);
  CHECK(r.transcript.size() == 4);  // hello, challenge, reply, ack
}

TEST_CASE("the cookie never appears on the wire") {
  const std::string cookie = "a-very-distinctive-cookie-value";
  auto r = play(make_config("a@h", cookie, 1), make_config("b@h", cookie, 2));
  for (const auto& m : r.transcript) {
    const auto bytes = wire::encode(m);
    const std::string text(bytes.begin(), bytes.end());
    CHECK(text.find(cookie) == std::string::npos);
  }
}

TEST_CASE("both sides derive the same link keys, fresh for every connection") {
  auto r = play(make_config("a@h", "secret", 1), make_config("b@h", "secret", 2));
  REQUIRE(r.initiator_keys);
  REQUIRE(r.acceptor_keys);
  CHECK(r.initiator_keys->send == r.acceptor_keys->receive);
  CHECK(r.initiator_keys->receive == r.acceptor_keys->send);
  CHECK(r.initiator_keys->send != r.initiator_keys->receive);
  auto again = play(make_config("a@h", "secret", 1), make_config("b@h", "secret", 2));
  CHECK(again.initiator_keys->send != r.initiator_keys->send);
  // With rotation, the keys come from the cookie the initiator proved.
  auto rotating = make_config("b@h", "new", 2);
  rotating.also_accepted.push_back(crypto::derive_key("secret", crypto::key_purpose::handshake));
  auto rotated = play(make_config("a@h", "secret", 1), rotating);
  REQUIRE(rotated.acceptor_keys);
  CHECK(rotated.initiator_keys->send == rotated.acceptor_keys->receive);
}

TEST_CASE("sides that disagree about encryption refuse each other, saying why") {
  for (const bool initiator_plain : {false, true}) {
    CAPTURE(initiator_plain);
    const std::uint64_t plain = wire::flag_insecure_plaintext;
    auto r = play(make_config("a@h", "s", 1, wire::peer_kind::node, initiator_plain ? plain : 0),
                  make_config("b@h", "s", 2, wire::peer_kind::node, initiator_plain ? 0 : plain));
    CHECK_FALSE(r.acceptor_up);
    CHECK_FALSE(r.initiator_up);
    REQUIRE(r.acceptor_failure);
    CHECK(r.acceptor_failure->code == errc::rejected);
    CHECK(r.acceptor_failure->message.find("encryption mismatch") != std::string::npos);
    CHECK(r.acceptor_failure->message.find("--insecure-plaintext") != std::string::npos);
    REQUIRE(r.initiator_failure);
    CHECK(r.initiator_failure->message.find("encryption mismatch") != std::string::npos);
  }
  // Both in plaintext is allowed (benchmarks).
  const std::uint64_t plain = wire::flag_insecure_plaintext;
  auto r = play(make_config("a@h", "s", 1, wire::peer_kind::node, plain),
                make_config("b@h", "s", 2, wire::peer_kind::node, plain));
  CHECK(r.acceptor_up);
  CHECK(r.initiator_up);
}

TEST_CASE("a wrong cookie is refused by the acceptor, and the initiator is told why") {
  auto r = play(make_config("a@h", "right", 1), make_config("b@h", "wrong", 2));
  CHECK_FALSE(r.acceptor_up);
  CHECK_FALSE(r.initiator_up);
  REQUIRE(r.acceptor_failure);
  CHECK(r.acceptor_failure->code == errc::auth_failed);
  CHECK(r.acceptor_failure->message.find("cookie mismatch") != std::string::npos);
  REQUIRE(r.initiator_failure);
  CHECK(r.initiator_failure->code == errc::auth_failed);
  CHECK(std::holds_alternative<wire::reject>(r.transcript.back()));
}

TEST_CASE("cookie rotation: an acceptor takes any cookie it lists, and proves the one the initiator used") {
  // The three steps of a rolling change from "old" to "new" (docs/SECURITY.md).
  auto listing = [](const std::string& name, std::vector<std::string> cookies) {
    auto c = make_config(name, cookies.front(), 1);
    for (std::size_t i = 1; i < cookies.size(); ++i)
      c.also_accepted.push_back(crypto::derive_key(cookies[i], crypto::key_purpose::handshake));
    return c;
  };
  const std::vector<std::vector<std::string>> steps = {{"old"}, {"old", "new"}, {"new", "old"}, {"new"}};
  // Nodes one step apart (the state of a rolling restart) reach each other
  // both ways; two steps apart they need not.
  for (std::size_t x = 0; x < steps.size(); ++x)
    for (std::size_t y = 0; y < steps.size(); ++y) {
      const auto r = play(listing("a@h", steps[x]), listing("b@h", steps[y]));
      const bool adjacent = (x > y ? x - y : y - x) <= 1;
      CAPTURE(x);
      CAPTURE(y);
      if (adjacent) {
        CHECK(r.initiator_up);
        CHECK(r.acceptor_up);
      }
    }
  // The end states of a rotation no longer talk to each other.
  const auto r = play(listing("a@h", {"old"}), listing("b@h", {"new"}));
  CHECK_FALSE(r.acceptor_up);
  CHECK(r.acceptor_failure->code == errc::auth_failed);
  // An initiator listing the acceptor's cookie second still proves its first.
  const auto second = play(listing("a@h", {"new", "old"}), listing("b@h", {"old"}));
  CHECK_FALSE(second.acceptor_up);
}

TEST_CASE("version 3 binds each node's dist port; a version 2 peer's is not taken") {
  auto with_dist = [](const char* name, std::uint32_t creation, std::uint16_t dist_port) {
    auto c = make_config(name, "secret", creation);
    c.self.dist_port = dist_port;
    return c;
  };
  // One exchange, step by step; `in_transit` may alter the hello and the challenge.
  struct ended {
    hs::handshake initiator, acceptor;
    bool up = false;
    std::optional<error> failure;  ///< the acceptor's, on the initiator's proof
    std::uint32_t version = 0;
  };
  const auto exchange = [](hs::config ic, hs::config ac, const std::function<void(wire::message&)>& in_transit) {
    testing::manual_clock clock;
    wire::message hello;
    auto i = hs::handshake::initiate(std::move(ic), clock.now(), hello);
    auto a = hs::handshake::accept(std::move(ac), clock.now());
    in_transit(hello);
    wire::message challenge = *a.on_message(hello, clock.now(), nullptr).send;
    in_transit(challenge);
    const auto version = std::get<wire::challenge>(challenge).version;
    auto reply = i.on_message(challenge, clock.now(), nullptr);
    auto verdict = a.on_message(*reply.send, clock.now(), nullptr);
    const bool up = verdict.done && i.on_message(*verdict.send, clock.now(), nullptr).done;
    return ended{std::move(i), std::move(a), up, verdict.failure, version};
  };
  const auto untouched = [](wire::message&) {};
  SUBCASE("both sides learn the other's") {
    const auto e = exchange(with_dist("a@h", 1, 5001), with_dist("b@h", 2, 5002), untouched);
    REQUIRE(e.up);
    CHECK(e.acceptor.peer().dist_port == 5001);
    CHECK(e.initiator.peer().dist_port == 5002);
  }
  SUBCASE("one altered in transit fails the proof") {
    for (const auto type : {wire::msg_type::hello, wire::msg_type::challenge}) {
      const auto e = exchange(with_dist("a@h", 1, 5001), with_dist("b@h", 2, 5002), [type](wire::message& m) {
        if (wire::type_of(m) != type) return;
        std::visit(
            [](auto& fields) {
              if constexpr (requires { fields.dist_port; }) fields.dist_port = 6666;
            },
            m);
      });
      REQUIRE(e.failure);
      CHECK(e.failure->code == errc::auth_failed);
    }
  }
  SUBCASE("a version 2 initiator's is ignored, and it does not learn ours") {
    auto old = with_dist("a@h", 1, 5001);
    old.version_max = 2;
    const auto e = exchange(old, with_dist("b@h", 2, 5002), untouched);
    REQUIRE(e.up);
    CHECK(e.version == 2);
    CHECK(e.acceptor.peer().dist_port == 0);
    CHECK(e.initiator.peer().dist_port == 0);
  }
}

TEST_CASE("a recorded challenge_reply cannot be replayed against a fresh challenge") {
  auto recorded = play(make_config("a@h", "secret", 1), make_config("b@h", "secret", 2));
  REQUIRE(recorded.acceptor_up);
  // An eavesdropper replays the recorded hello and reply to a new acceptor.
  testing::manual_clock clock;
  auto a = hs::handshake::accept(make_config("b@h", "secret", 2), clock.now());
  auto s1 = a.on_message(recorded.transcript[0], clock.now(), nullptr);
  REQUIRE(s1.send);
  REQUIRE(std::holds_alternative<wire::challenge>(*s1.send));
  auto s2 = a.on_message(recorded.transcript[2], clock.now(), nullptr);
  REQUIRE(s2.failure);
  CHECK(s2.failure->code == errc::auth_failed);
  CHECK_FALSE(s2.done);
}

TEST_CASE("an acceptor that cannot prove the cookie is refused by the initiator") {
  testing::manual_clock clock;
  wire::message hello;
  auto i = hs::handshake::initiate(make_config("a@h", "secret", 1), clock.now(), hello);
  auto s1 =
      i.on_message(wire::challenge{wire::protocol_version_max, "b@h", 4370, 2, 0, std::vector<std::uint8_t>(32, 9)},
                   clock.now(), nullptr);
  REQUIRE(s1.send);
  // Reflect the initiator's own proof back: the labels differ, so it fails.
  const auto& reply = std::get<wire::challenge_reply>(*s1.send);
  auto s2 = i.on_message(wire::challenge_ack{reply.digest}, clock.now(), nullptr);
  REQUIRE(s2.failure);
  CHECK(s2.failure->code == errc::auth_failed);
  CHECK_FALSE(s2.done);
}

TEST_CASE("no common protocol version is refused with a clear reason") {
  testing::manual_clock clock;
  auto a = hs::handshake::accept(make_config("b@h", "s", 2), clock.now());
  wire::hello h{7, 9, 0, "a@h", 4370, 1, 0, std::vector<std::uint8_t>(32, 1)};
  auto s = a.on_message(h, clock.now(), nullptr);
  REQUIRE(s.failure);
  CHECK(s.failure->code == errc::unsupported_version);
  REQUIRE(s.send);
  CHECK(std::get<wire::reject>(*s.send).code == static_cast<int>(errc::unsupported_version));
}

TEST_CASE("a message out of order fails the handshake") {
  testing::manual_clock clock;
  auto a = hs::handshake::accept(make_config("b@h", "s", 2), clock.now());
  auto s = a.on_message(wire::ping{1}, clock.now(), nullptr);
  REQUIRE(s.failure);
  CHECK(s.failure->code == errc::malformed);
}

TEST_CASE("a handshake step that passes its deadline fails with timeout") {
  testing::manual_clock clock;
  wire::message hello;
  auto i = hs::handshake::initiate(make_config("a@h", "s", 1), clock.now(), hello);
  CHECK(i.deadline() == clock.now() + milliseconds(1000));
  auto s = i.on_timeout();
  REQUIRE(s.failure);
  CHECK(s.failure->code == errc::timeout);
}

TEST_CASE("reaching a node with another name than expected is refused") {
  auto cfg = make_config("a@h", "s", 1);
  cfg.expected_peer = "b@h";
  auto r = play(cfg, make_config("impostor@h", "s", 2));
  REQUIRE(r.initiator_failure);
  CHECK(r.initiator_failure->code == errc::rejected);
  CHECK(r.initiator_failure->message.find("impostor@h") != std::string::npos);
}

TEST_CASE("the acceptor's admission verdict is sent to the initiator") {
  auto r = play(make_config("a@h", "s", 1), make_config("b@h", "s", 2), [](const hs::identity&) {
    return hs::admission{errc::busy, "too many"};
  });
  REQUIRE(r.initiator_failure);
  CHECK(r.initiator_failure->code == errc::busy);
}

// ---------------------------------------------------------------------------
// The link manager's admission rules, against a hand-played peer.

namespace {

// Records what the link manager sends; the test plays the other side.
struct recording_transport final : transport {
  transport_handler* handler = nullptr;
  conn_id next = 100;
  std::map<conn_id, std::vector<wire::message>> sent;  ///< frames that decode as plaintext
  std::map<conn_id, std::vector<wire::bytes>> raw;     ///< every frame as sent
  std::vector<std::pair<std::string, std::uint16_t>> dialled, dialled_direct;
  std::set<conn_id> direct_conns;  ///< ours dialled direct, and inbound ones a test marks
  std::vector<conn_id> closed;

  void set_handler(transport_handler* h) override { handler = h; }
  result<conn_id> connect(const std::string& host, std::uint16_t port, const std::string&) override {
    dialled.emplace_back(host, port);
    return next++;
  }
  result<conn_id> connect_direct(const std::string& host, std::uint16_t port, const std::string&) override {
    dialled_direct.emplace_back(host, port);
    direct_conns.insert(next);
    return next++;
  }
  bool direct(conn_id c) const override { return direct_conns.contains(c); }
  bool send(conn_id c, std::span<const std::uint8_t> frame) override {
    raw[c].emplace_back(frame.begin(), frame.end());
    if (auto decoded = wire::decode_frame(frame, wire::decode_limits{}))
      for (auto& m : *decoded) sent[c].push_back(std::move(m));
    return true;
  }
  void close(conn_id c) override { closed.push_back(c); }
  std::map<conn_id, std::string> addresses;  ///< inbound connections' sources, as a test sets them
  std::string peer_address(conn_id c) const override {
    const auto it = addresses.find(c);
    return it == addresses.end() ? std::string() : it->second;
  }
  void deliver(conn_id c, const wire::message& m) { handler->on_frame(c, wire::encode(m)); }
};

struct recording_listener final : link_listener {
  std::vector<std::string> ups, downs;
  void on_link_up(const link_info& p) override { ups.push_back(p.name); }
  void on_link_down(const link_info& p, const error&) override { downs.push_back(p.name); }
  void on_message(const link_info&, wire::message&&) override {}
};

struct fixture {
  testing::manual_clock clock;
  recording_transport net;
  recording_listener events;
  // The admission tests read what the link manager sends, so their links run
  // in plaintext unless a test asks for encryption.
  std::uint64_t flags;
  link_manager links;

  explicit fixture(const std::string& self, std::uint64_t link_flags = wire::flag_insecure_plaintext)
      : flags(link_flags),
        links(
            [&] {
              link_config c;
              c.self = {wire::peer_kind::node, self, 4370, 1, flags};
              c.host = "h";
              c.handshake_key = crypto::derive_key("s", crypto::key_purpose::handshake);
              return c;
            }(),
            net, clock, events) {}

  // Plays a peer that dials us, through the whole handshake; returns its conn.
  hs::config peer_config(const std::string& name, std::uint32_t creation,
                         wire::peer_kind kind = wire::peer_kind::node) const {
    return make_config(name, "s", creation, kind, flags);
  }

  conn_id peer_dials_in(const std::string& name, std::uint32_t creation, conn_id c,
                        std::optional<hs::session_keys>* keys = nullptr, std::uint16_t dist_port = 0) {
    wire::message hello;
    auto cfg = peer_config(name, creation);
    cfg.self.dist_port = dist_port;
    auto peer = hs::handshake::initiate(cfg, clock.now(), hello);
    net.deliver(c, hello);
    for (std::size_t seen = 0; seen < net.sent[c].size(); ++seen) {
      auto s = peer.on_message(net.sent[c][seen], clock.now(), nullptr);
      if (s.send) net.deliver(c, *s.send);
      if (s.done && keys) *keys = peer.keys();
      if (s.done || s.failure) break;
    }
    return c;
  }

  // Plays a peer we dialled on `c` (its hello already sent), through the
  // whole handshake.
  void peer_accepts(conn_id c, const std::string& name, std::uint32_t creation, std::uint16_t dist_port) {
    auto cfg = peer_config(name, creation);
    cfg.self.dist_port = dist_port;
    auto peer = hs::handshake::accept(cfg, clock.now());
    for (std::size_t seen = 0; seen < net.sent[c].size(); ++seen) {
      auto s = peer.on_message(net.sent[c][seen], clock.now(), nullptr);
      if (s.send) net.deliver(c, *s.send);
      if (s.done || s.failure) break;
    }
  }
};

}  // namespace

TEST_CASE(
    "direct lane: a first contact between nodes with dist ports is a probe; the dialer moves to the direct lane") {
  fixture f("a@h");
  f.links.set_dist_port(7001);
  f.links.join(*parse_node_name("b@h"));
  REQUIRE(f.net.dialled.size() == 1);
  CHECK(std::get<wire::hello>(f.net.sent[100].front()).dist_port == 7001);  // "this is a probe"
  f.peer_accepts(100, "b@h", 7, 7002);
  CHECK(f.events.ups.empty());  // the probe never carried the link
  CHECK(std::find(f.net.closed.begin(), f.net.closed.end(), conn_id{100}) != f.net.closed.end());
  REQUIRE(f.net.dialled_direct == std::vector<std::pair<std::string, std::uint16_t>>{{"h", 7002}});
  f.peer_accepts(101, "b@h", 7, 7002);
  CHECK(f.events.ups == std::vector<std::string>{"b@h"});
  CHECK(f.links.stats().direct_upgrades == 1);
  REQUIRE(f.links.node_link("b@h"));
  CHECK(*f.links.node_link("b@h") == 101);
}

TEST_CASE("direct lane: after a direct dial that does not connect, the next first contact is the link") {
  {
    fixture g("a@h");
    g.links.set_dist_port(7001);
    g.links.join(*parse_node_name("b@h"));
    g.peer_accepts(100, "b@h", 7, 7002);
    REQUIRE(g.net.dialled_direct.size() == 1);
    g.net.handler->on_closed(101);  // nothing listens there (a firewall)
    CHECK(g.links.stats().direct_dials_failed == 1);
    g.links.tick();
    REQUIRE(g.net.dialled.size() == 2);
    CHECK(std::get<wire::hello>(g.net.sent[102].front()).dist_port == 0);  // not a probe
    g.peer_accepts(102, "b@h", 7, 7002);
    CHECK(g.events.ups == std::vector<std::string>{"b@h"});
    CHECK(*g.links.node_link("b@h") == 102);
    CHECK(g.net.dialled_direct.size() == 1);
  }
}

TEST_CASE("direct lane: an inbound probe brings no link up; the direct connection does") {
  fixture f("a@h");
  f.links.set_dist_port(7001);
  f.peer_dials_in("b@h", 7, 500, nullptr, 7002);
  CHECK(f.events.ups.empty());
  CHECK(std::find(f.net.closed.begin(), f.net.closed.end(), conn_id{500}) != f.net.closed.end());
  f.net.direct_conns.insert(501);
  f.peer_dials_in("b@h", 7, 501, nullptr, 7002);
  CHECK(f.events.ups == std::vector<std::string>{"b@h"});
}

TEST_CASE("direct lane: without a dist port of ours, the first contact is the link") {
  {
    fixture g("a@h");
    g.peer_dials_in("b@h", 7, 500, nullptr, 7002);
    CHECK(g.events.ups == std::vector<std::string>{"b@h"});
  }
}

TEST_CASE("simultaneous connect: a hello from a smaller name is admitted while our own dial goes on") {
  fixture f("b@h");
  f.links.join(*parse_node_name("a@h"));
  REQUIRE(f.net.dialled.size() == 1);
  // a@h dials us at the same time; "a@h" < "b@h", so its connection is the
  // one both sides will keep. Our dial is not cancelled by an unproven hello.
  f.peer_dials_in("a@h", 7, 500);
  CHECK(f.events.ups == std::vector<std::string>{"a@h"});
  const bool acked = std::any_of(f.net.sent[500].begin(), f.net.sent[500].end(),
                                 [](const auto& m) { return std::holds_alternative<wire::challenge_ack>(m); });
  CHECK(acked);
  CHECK(std::find(f.net.closed.begin(), f.net.closed.end(), conn_id{100}) == f.net.closed.end());
}

TEST_CASE("simultaneous connect: once the peer admitted our dial, a hello from a larger name is refused") {
  fixture f("a@h");
  f.links.join(*parse_node_name("b@h"));
  REQUIRE(f.net.dialled.size() == 1);
  // b@h admits our dial (its challenge arrives), then its own hello comes in.
  f.net.deliver(100, wire::challenge{wire::protocol_version_max, "b@h", 4370, 7, wire::flag_insecure_plaintext,
                                     std::vector<std::uint8_t>(32, 3)});
  f.peer_dials_in("b@h", 7, 500);
  REQUIRE_FALSE(f.net.sent[500].empty());
  const auto* refusal = std::get_if<wire::reject>(&f.net.sent[500].back());
  REQUIRE(refusal);
  CHECK(refusal->code == static_cast<int>(errc::already_connected));
  CHECK(f.events.ups.empty());
}

TEST_CASE("simultaneous connect: a hello from a larger name is refused while our dial is under way, then admitted") {
  // Settled before either completes: two completed links would make one side
  // switch after sending on the other, losing what was in flight.
  fixture f("a@h");
  f.links.join(*parse_node_name("b@h"));
  f.peer_dials_in("b@h", 7, 500);
  CHECK(f.events.ups.empty());
  const auto* refusal = std::get_if<wire::reject>(&f.net.sent[500].back());
  REQUIRE(refusal);
  CHECK(refusal->code == static_cast<int>(errc::already_connected));
  // Our route to b@h may be broken: once our dial has timed out, b@h's next
  // dial gets in before ours is retried.
  f.clock.advance(f.links.config().handshake_timeout);
  f.links.tick();
  f.peer_dials_in("b@h", 7, 501);
  CHECK(f.events.ups == std::vector<std::string>{"b@h"});
}

TEST_CASE("a second connection from an already linked incarnation is refused") {
  fixture f("a@h");
  f.peer_dials_in("b@h", 7, 500);
  REQUIRE(f.events.ups.size() == 1);
  f.peer_dials_in("b@h", 7, 501);
  const auto* refusal = std::get_if<wire::reject>(&f.net.sent[501].back());
  REQUIRE(refusal);
  CHECK(refusal->code == static_cast<int>(errc::already_connected));
  CHECK(f.events.ups.size() == 1);
  CHECK(f.events.downs.empty());
}

TEST_CASE("a restarted node with a new creation replaces its old link") {
  fixture f("a@h");
  f.peer_dials_in("b@h", 7, 500);
  f.peer_dials_in("b@h", 8, 501);
  CHECK(f.events.ups == std::vector<std::string>{"b@h", "b@h"});
  CHECK(f.events.downs == std::vector<std::string>{"b@h"});
  REQUIRE(f.links.nodes().size() == 1);
  CHECK(f.links.nodes()[0].creation == 8);
}

TEST_CASE("a node claiming our own name is refused") {
  fixture f("a@h");
  f.peer_dials_in("a@h", 9, 500);
  const auto* refusal = std::get_if<wire::reject>(&f.net.sent[500].back());
  REQUIRE(refusal);
  CHECK(refusal->reason.find("duplicate node name") != std::string::npos);
}

TEST_CASE("unauthenticated connections beyond the cap are refused and counted") {
  fixture f("a@h");
  const std::size_t cap = f.links.config().max_pending_handshakes;
  for (std::size_t i = 0; i < cap + 3; ++i) {
    wire::message hello;
    auto peer = hs::handshake::initiate(f.peer_config("x" + std::to_string(i) + "@h", 1), f.clock.now(), hello);
    f.net.deliver(1000 + i, hello);
  }
  CHECK(f.links.pending_handshakes() == cap);
  CHECK(f.links.stats().refused_pending_cap == 3);
  // The stalled handshakes expire at their deadline, freeing the slots.
  f.clock.advance(f.links.config().handshake_timeout);
  f.links.tick();
  CHECK(f.links.pending_handshakes() == 0);
}

TEST_CASE("an oversized frame before authentication drops the connection") {
  fixture f("a@h");
  f.net.handler->on_frame(700, wire::encode(wire::goodbye{std::string(5000, 'x')}));
  CHECK(f.links.stats().malformed_frames == 1);
  CHECK(f.links.pending_handshakes() == 0);
  CHECK(std::find(f.net.closed.begin(), f.net.closed.end(), conn_id{700}) != f.net.closed.end());
}

TEST_CASE("a tie-break refusal keeps its already_connected code on the initiator's side") {
  auto r = play(make_config("a@h", "s", 1), make_config("b@h", "s", 2), [](const hs::identity&) {
    return hs::admission{errc::already_connected, "keeping mine"};
  });
  REQUIRE(r.initiator_failure);
  CHECK(r.initiator_failure->code == errc::already_connected);
}

TEST_CASE("a node announcing no port or an invalid name is refused") {
  fixture f("a@h");
  auto cfg = f.peer_config("b@h", 3);
  cfg.self.port = 0;
  wire::message hello;
  auto peer = hs::handshake::initiate(cfg, f.clock.now(), hello);
  f.net.deliver(600, hello);
  REQUIRE_FALSE(f.net.sent[600].empty());
  CHECK(std::get<wire::reject>(f.net.sent[600].back()).code == static_cast<int>(errc::bad_argument));

  auto bad = hs::handshake::initiate(f.peer_config("no-at-sign", 3), f.clock.now(), hello);
  f.net.deliver(601, hello);
  CHECK(std::get<wire::reject>(f.net.sent[601].back()).code == static_cast<int>(errc::bad_argument));
}

TEST_CASE("regression: a duplicate-connection goodbye on the only link does not crash the node") {
  fixture f("a@h");
  f.peer_dials_in("b@h", 7, 500);
  REQUIRE(f.links.nodes().size() == 1);
  f.net.deliver(500, wire::goodbye{"duplicate connection"});
  CHECK(f.links.nodes().empty());
  CHECK(f.events.downs == std::vector<std::string>{"b@h"});
  f.links.tick();  // the mesh and retry paths must not trip over a stale name
  f.peer_dials_in("b@h", 7, 501);
  CHECK(f.links.nodes().size() == 1);
}

TEST_CASE("a client's goodbye closes only the client's connection") {
  fixture f("a@h");
  f.peer_dials_in("b@h", 7, 500);
  wire::message hello;
  auto client = hs::handshake::initiate(f.peer_config("b@h", 9, wire::peer_kind::client), f.clock.now(), hello);
  f.net.deliver(900, hello);
  for (std::size_t seen = 0; seen < f.net.sent[900].size(); ++seen) {
    auto s = client.on_message(f.net.sent[900][seen], f.clock.now(), nullptr);
    if (s.send) f.net.deliver(900, *s.send);
    if (s.done || s.failure) break;
  }
  f.net.deliver(900, wire::goodbye{"duplicate connection"});
  CHECK(f.links.nodes().size() == 1);
  CHECK(f.events.downs.size() == 1);  // the client's link only
}

TEST_CASE(
    "handshake digests, link keys and a sealed frame match the documented test vector (docs/PROTOCOL.md 5.2, 5.4)") {
  auto counting_from = [](std::uint8_t first) {
    return [first](std::size_t n) {
      std::vector<std::uint8_t> out(n);
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(first + i);
      return out;
    };
  };
  auto ic = make_config("py", "secret", 7, wire::peer_kind::client);
  ic.self.port = 0;
  ic.version_max = 2;  // as the Python client
  ic.random = counting_from(0);
  auto ac = make_config("n1@127.0.0.1", "secret", 0xdeadbeef);
  ac.random = counting_from(32);
  auto r = play(ic, ac);
  REQUIRE(r.acceptor_up);
  auto hex = [](const std::vector<std::uint8_t>& d) {
    std::string s;
    char buf[3];
    for (auto b : d) {
      std::snprintf(buf, sizeof buf, "%02x", b);
      s += buf;
    }
    return s;
  };
  CHECK(hex(std::get<wire::challenge_reply>(r.transcript[2]).digest) ==
        "85a79e9e5e3810dadbbc6d45c24aec69b82e9b79165e30a631794c8ab2b00c61");
  CHECK(hex(std::get<wire::challenge_ack>(r.transcript[3]).digest) ==
        "02eddb78e78594fc27821f98f9da483189ad55fe30f28bc30edd60677733bb3f");
  // Section 5.4: the link keys, and the first frame the client seals.
  REQUIRE(r.initiator_keys);
  const auto as_vector = [](const crypto::key& k) { return std::vector<std::uint8_t>(k.begin(), k.end()); };
  CHECK(hex(as_vector(r.initiator_keys->send)) == "3057bfb5b4c07655f2c1efa93c59f16f989f5509e32578cbcd4627c36e163ce0");
  CHECK(hex(as_vector(r.initiator_keys->receive)) ==
        "2dead578d68b22fc6d85c8b04c7fa40e1a89f4d2012c256fd381d8c9e006d063");
  crypto::link_cipher client{r.initiator_keys->send, r.initiator_keys->receive};
  const auto frame = wire::encode(wire::ping{1});
  const auto sealed = client.seal(frame);
  CHECK(hex({sealed.begin(), sealed.end()}) == "0000000000000000fc2fde1d76c03d904b5a25c8f2bb7e4ffda87e71");
}

TEST_CASE("an encrypted link seals every frame after the handshake; a frame that does not open drops the peer") {
  fixture f("a@h", 0);
  std::optional<hs::session_keys> keys;
  f.peer_dials_in("b@h", 7, 500, &keys);
  REQUIRE(keys);
  REQUIRE(f.events.ups == std::vector<std::string>{"b@h"});
  crypto::link_cipher peer{keys->send, keys->receive};
  const auto opened_messages = [&](const wire::bytes& frame) {
    const auto plain = peer.open(frame);
    REQUIRE(plain);
    auto decoded = wire::decode_frame(*plain, wire::decode_limits{});
    REQUIRE(decoded.ok());
    return std::move(*decoded);
  };

  // Ours to the peer: sealed, and not plaintext on the wire.
  REQUIRE(f.links.send(500, wire::ping{42}));
  const wire::bytes ours = f.net.raw[500].back();
  CHECK_FALSE(wire::decode_frame(ours, wire::decode_limits{}).ok());
  CHECK(std::get<wire::ping>(opened_messages(ours).at(0)).seq == 42);

  // The peer's sealed ping is answered with a sealed pong.
  const auto ping = wire::encode(wire::ping{5});
  const auto sealed = peer.seal(ping);
  f.net.handler->on_frame(500, wire::bytes(sealed.begin(), sealed.end()));
  CHECK(std::get<wire::pong>(opened_messages(f.net.raw[500].back()).at(0)).seq == 5);
  CHECK(f.links.stats().unopened_frames == 0);

  // A plaintext frame on the encrypted link does not open: the peer is dropped.
  f.net.deliver(500, wire::ping{6});
  CHECK(f.links.stats().unopened_frames == 1);
  CHECK(f.events.downs == std::vector<std::string>{"b@h"});
  CHECK(f.links.nodes().empty());
}

TEST_CASE("plaintext that shares a frame with the handshake's last message is refused") {
  // A frame before authentication holds one message, so the proof and what
  // was smuggled after it are refused together, before the link comes up.
  fixture f("a@h", 0);
  wire::message hello;
  auto peer = hs::handshake::initiate(f.peer_config("b@h", 7), f.clock.now(), hello);
  f.net.deliver(500, hello);
  auto s = peer.on_message(f.net.sent[500].at(0), f.clock.now(), nullptr);
  REQUIRE(s.send);
  wire::bytes frame;
  wire::encode(*s.send, frame);
  wire::encode(wire::ping{1}, frame);  // smuggled in after the proof, unsealed
  f.net.handler->on_frame(500, frame);
  CHECK(f.links.stats().malformed_frames == 1);
  CHECK(f.links.stats().handshakes_ok == 0);
  CHECK(f.links.nodes().empty());
  CHECK(f.events.ups.empty());
}

TEST_CASE("a source that keeps failing to authenticate is backed off; others are not") {
  fixture f("a@h");
  const auto wrong_cookie_attempt = [&](conn_id c, const std::string& source) {
    f.net.addresses[c] = source;
    wire::message hello;
    auto peer =
        hs::handshake::initiate(make_config("x@h", "wrong", 1, wire::peer_kind::node, f.flags), f.clock.now(), hello);
    f.net.deliver(c, hello);
    if (f.net.sent[c].empty() || !std::holds_alternative<wire::challenge>(f.net.sent[c].back())) return;
    auto s = peer.on_message(f.net.sent[c].back(), f.clock.now(), nullptr);
    REQUIRE(s.send);
    f.net.deliver(c, *s.send);
  };
  const std::size_t free = f.links.config().auth_backoff.free_failures;
  for (std::size_t i = 0; i <= free; ++i) wrong_cookie_attempt(2000 + i, "10.0.0.9");
  CHECK(f.links.stats().auth_failures == free + 1);
  CHECK(f.links.stats().refused_backoff == 0);

  // The next connection from there is refused before any handshake, and told why.
  wrong_cookie_attempt(3000, "10.0.0.9");
  CHECK(f.links.stats().refused_backoff == 1);
  CHECK(f.links.stats().auth_failures == free + 1);
  const auto* refusal = std::get_if<wire::reject>(&f.net.sent[3000].back());
  REQUIRE(refusal);
  CHECK(refusal->code == static_cast<int>(errc::busy));
  CHECK(refusal->reason.find("too many failed authentications from 10.0.0.9") != std::string::npos);

  // Another source still gets its handshake; so does this one once the back-off ends.
  f.net.addresses[3001] = "10.0.0.10";
  f.peer_dials_in("b@h", 7, 3001);
  CHECK(f.events.ups == std::vector<std::string>{"b@h"});
  f.clock.advance(f.links.config().auth_backoff.first);
  f.net.addresses[3002] = "10.0.0.9";
  f.peer_dials_in("c@h", 7, 3002);
  CHECK(f.events.ups == std::vector<std::string>{"b@h", "c@h"});
}

TEST_CASE(
    "regression: a token made before the node started is answered later, not refused (a dialer whose TCP connect "
    "libzmq retried until we came up was warned of a wrong cookie)") {
  testing::manual_clock clock;
  recording_transport net;
  recording_listener events;
  const crypto::key key = crypto::derive_key("s", crypto::key_purpose::admission);
  const wall_time started = std::chrono::system_clock::now();
  link_config c;
  c.self = {wire::peer_kind::node, "a@h", 4370, 1, wire::flag_insecure_plaintext};
  c.host = "h";
  c.handshake_key = crypto::derive_key("s", crypto::key_purpose::handshake);
  c.admission.self = "a@h";
  c.admission.keys = {key};
  c.admission.started = started;
  link_manager links(c, net, clock, events);

  const auto before_start = make_admission_token(key, "a@h", started - std::chrono::seconds(2));
  CHECK(links.admit("10.0.0.9", before_start.username, before_start.password) == admission_answer::later);
  const auto fresh = make_admission_token(key, "a@h", started);
  CHECK(links.admit("10.0.0.9", fresh.username, fresh.password) == admission_answer::admit);
  CHECK(links.admit("10.0.0.9", fresh.username, fresh.password) == admission_answer::later);  // replayed

  const auto wrong = make_admission_token(crypto::derive_key("x", crypto::key_purpose::admission), "a@h", started);
  CHECK(links.admit("10.0.0.9", wrong.username, wrong.password) == admission_answer::refuse);
  CHECK(links.stats().refused_admission == 3);

  // Replays are not held against the address: anyone who saw a token can send one.
  for (std::size_t i = 0; i <= c.auth_backoff.free_failures + 1; ++i)
    CHECK(links.admit("10.0.0.9", fresh.username, fresh.password) == admission_answer::later);
  const auto next = make_admission_token(key, "a@h", started);
  CHECK(links.admit("10.0.0.9", next.username, next.password) == admission_answer::admit);
  CHECK(links.stats().refused_backoff == 0);
}
