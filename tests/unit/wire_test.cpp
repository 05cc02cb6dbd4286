// The wire codec: every message round-trips, terms keep their types, and
// hostile bytes become typed errors instead of crashes or huge allocations.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "wire/codec.hpp"

using namespace cluster;
using namespace cluster::internal::wire;

namespace {

std::vector<message> one_of_each() {
  const std::vector<std::uint8_t> nonce(nonce_size, 7);
  const member_update alive{"n1@h", "127.0.0.1", 4370, 5, 12, 0, {{"role", "db"}}, "n1@h"};
  return {
      hello{1, 1, 0, "n1@127.0.0.1", 4370, 42, 0, nonce},
      challenge{1, "n2@127.0.0.1", 4371, 43, 0, nonce},
      challenge_reply{std::vector<std::uint8_t>(digest_size, 1)},
      challenge_ack{std::vector<std::uint8_t>(digest_size, 2)},
      reject{5, "cookie mismatch"},
      ping{9},
      pong{9},
      peers{{{"n3@h", "h", 1, 2}}},
      goodbye{"shutdown"},
      nodes_request{3},
      nodes_reply{3, {{"n1@h", "h", 4370, 1}, {"n2@h", "h", 4371, 2}}},
      info_request{4},
      info_reply{4, "n1@h", "h", 4370, 5, 1000, "0.1.0", 0, 2, 47990},
      error_reply{4, 11, "no such thing"},
      call_request{5, "n2@h", "sys:echo", term_list{1, "two"}},
      call_reply{5, 0, atom{"ok"}, ""},
      cast_request{"", "sys:echo", nil{}},
      spawn_request{6, "", "sys:sleep", 100},
      spawn_reply{6, 0, pid{"n1@h", 1, 9}, ""},
      spawn_tied_request{7, "", "sys:sleep", 100, pid{"n1@h", 1, 9}, true, ref{"n1@h", 1, 4}},
      process_send{pid{"n1@h", 1, 9}, term_map{{atom{"k"}, 1.5}}},
      process_send_named{"db", "hello"},
      process_signal{static_cast<std::uint8_t>(signal_kind::down), pid{"n1@h", 1, 9}, pid{"n2@h", 2, 3},
                     ref{"n2@h", 2, 4}, atom{"noconnection"}},
      process_send_named_at{"n2@h", "db", "hello"},
      fragment{2, 0, {0x92, 0x40}},
      swim_ping{1, "n2@h", 7, "n1@h", {alive}},
      swim_ping_req{2, "n3@h", 8, "127.0.0.3", 4370, "n1@h", {}},
      swim_ack{1, "n2@h", {alive, alive}},
      swim_nack{2, "n2@h"},
      swim_gossip{"n1@h", {alive}},
      swim_sync{true, "n1@h", {alive}},
      members_request{7},
      members_reply{7, {member_row{alive, 1500, "joined"}}},
      watch_request{8},
      member_event{8, 1, member_row{alive, 0, "probe failed"}, "n2@h"},
      stats_request{9},
      stats_reply{9,
                  {{"frames_in", 3}},
                  {link_row{"n2@h", 4, 1, 2, 3, 4, 0, 1000, 5, 6, 0}},
                  histogram_row{{0, 1}, 250, 1},
                  histogram_row{}},
      why_request{10, "n2@h"},
      why_reply{10, {history_row{1200, 2, 7, "suspected by n3@h", "n1@h"}}},
      admin_request{11, "leave"},
      admin_reply{11, 0, ""},
      processes_request{12, "mailbox", 10},
      processes_reply{12, 1, {process_row{pid{"n1@h", 1, 9}, "db", 3, 40, 512, "sys:sleep"}}},
      registered_request{13},
      registered_reply{13, {{"db", pid{"n1@h", 1, 9}}}},
      monitor_request{14, pid{"n2@h", 2, 3}},
      monitor_down{14, atom{"noproc"}},
  };
}

bytes concat(const std::vector<message>& ms) {
  bytes out;
  for (const auto& m : ms) encode(m, out);
  return out;
}

}  // namespace

TEST_CASE("every message type round-trips through encode and decode") {
  const auto all = one_of_each();
  REQUIRE(all.size() == std::variant_size_v<message>);
  for (const auto& m : all) {
    const bytes frame = encode(m);
    auto decoded = decode_frame(frame, decode_limits{});
    REQUIRE(decoded.ok());
    REQUIRE(decoded->size() == 1);
    CHECK(type_of((*decoded)[0]) == type_of(m));
    CHECK(encode((*decoded)[0]) == frame);
  }
}

TEST_CASE("message type numbers are the documented, append-only values") {
  CHECK(static_cast<int>(msg_type::hello) == 1);
  CHECK(static_cast<int>(msg_type::reject) == 5);
  CHECK(static_cast<int>(msg_type::ping) == 16);
  CHECK(static_cast<int>(msg_type::goodbye) == 19);
  CHECK(static_cast<int>(msg_type::nodes_request) == 32);
  CHECK(static_cast<int>(msg_type::error_reply) == 36);
  CHECK(static_cast<int>(msg_type::call_request) == 48);
  CHECK(static_cast<int>(msg_type::spawn_reply) == 52);
  CHECK(static_cast<int>(msg_type::process_send) == 64);
  CHECK(static_cast<int>(msg_type::process_signal) == 66);
  CHECK(static_cast<int>(msg_type::swim_ping) == 80);
  CHECK(static_cast<int>(msg_type::swim_sync) == 85);
  CHECK(static_cast<int>(msg_type::members_request) == 96);
  CHECK(static_cast<int>(msg_type::member_event) == 99);
  CHECK(static_cast<int>(msg_type::admin_reply) == 105);
  CHECK(static_cast<int>(msg_type::monitor_down) == 111);
}

TEST_CASE("a frame carries several messages back to back, in order") {
  const auto all = one_of_each();
  auto decoded = decode_frame(concat(all), decode_limits{});
  REQUIRE(decoded.ok());
  REQUIRE(decoded->size() == all.size());
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(type_of((*decoded)[i]) == type_of(all[i]));
}

TEST_CASE("a message with extra trailing fields from a newer peer still decodes") {
  // [16, [7, "future field"]]
  const bytes frame = {0x92, 0x10, 0x92, 0x07, 0xac, 'f', 'u', 't', 'u', 'r', 'e', ' ', 'f', 'i', 'e', 'l', 'd'};
  auto decoded = decode_frame(frame, decode_limits{});
  REQUIRE(decoded.ok());
  CHECK(std::get<ping>((*decoded)[0]).seq == 7);
}

TEST_CASE("an info_reply from a node that predates dist_port decodes, with no dist port") {
  // [35, [4, "a@h", "h", 4370, 5, 1000, "0.1.0", 0, 2]]: one field short
  const bytes frame = {0x92, 0x23, 0x99, 0x04, 0xa3, 'a', '@', 'h', 0xa1, 'h', 0xcd, 0x11, 0x12,
                       0x05, 0xcd, 0x03, 0xe8, 0xa5, '0', '.', '1', '.',  '0', 0x00, 0x02};
  auto decoded = decode_frame(frame, decode_limits{});
  REQUIRE(decoded.ok());
  const auto& reply = std::get<info_reply>((*decoded)[0]);
  CHECK(reply.node_count == 2);
  CHECK(reply.dist_port == 0);
}

TEST_CASE("terms round-trip with their types, including pid, ref and atom extensions") {
  const term t = term_list{nil{},
                           true,
                           std::int64_t{-5},
                           std::uint64_t{18446744073709551615ULL},
                           2.5,
                           "text",
                           binary{{0, 1, 2, 255}},
                           atom{"ok"},
                           pid{"n1@10.0.0.5", 7, 42},
                           ref{"n2@h", 8, 99},
                           term_map{{atom{"key"}, term_list{1, 2, 3}}, {"nested", term_map{{1, "one"}}}}};
  const bytes b = encode_term(t);
  auto back = decode_term(b);
  REQUIRE(back.ok());
  CHECK(*back == t);
}

TEST_CASE("a pid is encoded as ext type 1 holding [node, creation, id]") {
  const bytes b = encode_term(pid{"a@b", 1, 2});
  // ext 8 (0xc7, len, type) then fixarray(3) "a@b" 1 2
  REQUIRE(b.size() >= 3);
  CHECK(b[0] == 0xc7);
  CHECK(b[2] == 1);
  const bytes payload(b.begin() + 3, b.end());
  CHECK(payload == bytes{0x93, 0xa3, 'a', '@', 'b', 0x01, 0x02});
}

TEST_CASE("garbage, truncated and empty frames give malformed, never a crash") {
  CHECK(decode_frame({}, decode_limits{}).err().code == errc::malformed);
  const bytes garbage = {0xc1, 0xff, 0x00};
  CHECK(decode_frame(garbage, decode_limits{}).err().code == errc::malformed);
  const bytes not_an_envelope = {0x05};
  CHECK(decode_frame(not_an_envelope, decode_limits{}).err().code == errc::malformed);
  const bytes unknown_type = {0x92, 0x7f, 0x90};
  CHECK(decode_frame(unknown_type, decode_limits{}).err().code == errc::malformed);
  const bytes wrong_field_type = {0x92, 0x10, 0x91, 0xa1, 'x'};  // ping with a string seq
  CHECK(decode_frame(wrong_field_type, decode_limits{}).err().code == errc::malformed);

  // Every strict prefix of every valid message is rejected cleanly.
  for (const auto& m : one_of_each()) {
    const bytes full = encode(m);
    for (std::size_t n = 1; n < full.size(); ++n) {
      auto r = decode_frame(std::span(full.data(), n), decode_limits{});
      CHECK_FALSE(r.ok());
    }
  }
}

TEST_CASE("random bytes never crash the decoder") {
  std::mt19937 rng(1234);
  for (int i = 0; i < 20000; ++i) {
    bytes b(1 + rng() % 64);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    (void)decode_frame(b, decode_limits{});
    (void)decode_frame(b, decode_limits::pre_auth());
  }
  // Mutations of valid frames reach deeper into the decoder.
  const auto all = one_of_each();
  for (int i = 0; i < 20000; ++i) {
    bytes b = encode(all[rng() % all.size()]);
    b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    (void)decode_frame(b, decode_limits{});
  }
}

TEST_CASE("a declared length of 4 GiB does not allocate it") {
  // str32 claiming 0xffffffff bytes, array32 and map32 claiming 4G entries
  const bytes huge_str = {0x92, 0x13, 0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
  const bytes huge_array = {0x92, 0x12, 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff};
  const bytes huge_map = {0xdf, 0xff, 0xff, 0xff, 0xff};
  CHECK_FALSE(decode_frame(huge_str, decode_limits{}).ok());
  CHECK_FALSE(decode_frame(huge_array, decode_limits{}).ok());
  CHECK_FALSE(decode_frame(huge_map, decode_limits{}).ok());
  CHECK_FALSE(decode_term(huge_array).ok());
}

TEST_CASE("limits: oversized frames, deep nesting and long strings are refused") {
  decode_limits small;
  small.max_frame_bytes = 16;
  CHECK(decode_frame(encode(goodbye{std::string(64, 'x')}), small).err().code == errc::too_large);

  CHECK(decode_frame(encode(goodbye{std::string(2000, 'x')}), decode_limits::pre_auth()).err().code == errc::too_large);

  bytes deep;
  for (int i = 0; i < 200; ++i) deep.push_back(0x91);
  deep.push_back(0x00);
  CHECK(decode_term(deep).err().code == errc::too_large);

  // Before authentication, one message per frame.
  CHECK(decode_frame(concat({ping{1}, ping{2}}), decode_limits::pre_auth()).err().code == errc::too_large);
}

TEST_CASE("a pid extension with a bad payload is malformed") {
  const bytes bad_pid = {0xd4, 0x01, 0x05};  // fixext1 type 1, payload: the integer 5
  CHECK(decode_term(bad_pid).err().code == errc::malformed);
  const bytes unknown_ext = {0xd4, 0x09, 0x05};
  CHECK(decode_term(unknown_ext).err().code == errc::malformed);
}

TEST_CASE("whole-number doubles stay doubles on the wire") {
  for (const double d : {1.0, -0.0, 0.0, 1e18, -3.0, 2.5}) {
    const bytes b = encode_term(term(d));
    CHECK(b.size() == 9);
    CHECK(b[0] == 0xcb);
    auto back = decode_term(b);
    REQUIRE(back.ok());
    REQUIRE(back->is<double>());
    CHECK(back->as<double>() == d);
  }
}

TEST_CASE("a message with fewer fields than its type declares is malformed") {
  const bytes ping_without_seq = {0x92, 0x10, 0x90};
  CHECK(decode_frame(ping_without_seq, decode_limits{}).err().code == errc::malformed);
  const bytes hello_short = {0x92, 0x01, 0x92, 0x01, 0x01};
  CHECK(decode_frame(hello_short, decode_limits{}).err().code == errc::malformed);
}

TEST_CASE("a pid extension with trailing bytes in its payload is malformed") {
  // ext8, length 8, type 1: [ "a@b", 1, 2 ] plus one extra byte
  const bytes b = {0xc7, 0x08, 0x01, 0x93, 0xa3, 'a', '@', 'b', 0x01, 0x02, 0x00};
  CHECK(decode_term(b).err().code == errc::malformed);
}

namespace {
// A pid extension (ext8, type 1) around a hand-made payload.
bytes pid_ext(const bytes& payload) {
  bytes b(3 + payload.size());
  b[0] = 0xc7;
  b[1] = static_cast<std::uint8_t>(payload.size());
  b[2] = 0x01;
  std::copy(payload.begin(), payload.end(), b.begin() + 3);
  return b;
}
}  // namespace

TEST_CASE("a pid payload accepts every msgpack encoding of its fields") {
  // str8 node, uint16 creation, uint64 id
  const bytes wide = pid_ext({0x93, 0xd9, 0x03, 'a', '@', 'b', 0xcd, 0x01, 0x00, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0});
  auto back = decode_term(wide);
  REQUIRE(back.ok());
  CHECK(back->as<pid>() == pid{"a@b", 256, std::uint64_t{1} << 32});
  // Signed formats holding non-negative values (as some encoders write them).
  const bytes signed_ok = pid_ext({0x93, 0xa3, 'a', '@', 'b', 0xd0, 0x07, 0xd2, 0x00, 0x00, 0x00, 0x2a});
  back = decode_term(signed_ok);
  REQUIRE(back.ok());
  CHECK(back->as<pid>() == pid{"a@b", 7, 42});
  // A long node name (str16) round-trips.
  const pid long_name{std::string(300, 'n') + "@host", 3, 4};
  back = decode_term(encode_term(long_name));
  REQUIRE(back.ok());
  CHECK(back->as<pid>() == long_name);
}

TEST_CASE("a pid payload with a field out of range or of the wrong type is malformed") {
  const auto malformed = [](const bytes& payload) {
    return decode_term(pid_ext(payload)).err().code == errc::malformed;
  };
  CHECK(malformed({0x93, 0xa3, 'a', '@', 'b', 0xff, 0x02}));                          // negative creation
  CHECK(malformed({0x93, 0xa3, 'a', '@', 'b', 0xd0, 0x80, 0x02}));                    // negative int8
  CHECK(malformed({0x93, 0xa3, 'a', '@', 'b', 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0x02}));  // creation > 2^32-1
  CHECK(malformed({0x92, 0xa3, 'a', '@', 'b', 0x01}));                                // two elements
  CHECK(malformed({0x93, 0x01, 0x01, 0x02}));                                         // node not a str
  CHECK(malformed({0x93, 0xc4, 0x03, 'a', '@', 'b', 0x01, 0x02}));                    // node a bin
  CHECK(malformed({0x93, 0xa5, 'a', '@', 'b', 0x01}));                                // node longer than the payload
  CHECK(malformed({0x93, 0xa3, 'a', '@', 'b', 0x01}));                                // id missing
  CHECK(malformed({0x93, 0xa3, 'a', '@', 'b', 0x01, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0}));  // id a float
  CHECK(malformed({}));                                                               // empty
  // A node name over 1024 bytes (str16, 1025).
  bytes too_long = {0x93, 0xda, 0x04, 0x01};
  too_long.insert(too_long.end(), 1025, 'n');
  too_long.insert(too_long.end(), {0x01, 0x02});
  bytes ext = {0xc8, static_cast<std::uint8_t>(too_long.size() >> 8), static_cast<std::uint8_t>(too_long.size()), 0x01};
  ext.insert(ext.end(), too_long.begin(), too_long.end());
  CHECK(decode_term(ext).err().code == errc::malformed);
}

TEST_CASE("a pid payload in the wider msgpack formats decodes, and a truncated one does not") {
  // array16 of 3, str32 node, int16 creation, int64 id
  const bytes wide =
      pid_ext({0xdc, 0x00, 0x03, 0xdb, 0, 0, 0, 3, 'a', '@', 'b', 0xd1, 0x01, 0x00, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0x2a});
  auto back = decode_term(wide);
  REQUIRE(back.ok());
  CHECK(back->as<pid>() == pid{"a@b", 256, 42});
  // array32 of 3
  back = decode_term(pid_ext({0xdd, 0, 0, 0, 3, 0xa3, 'a', '@', 'b', 0x01, 0x02}));
  REQUIRE(back.ok());
  CHECK(back->as<pid>() == pid{"a@b", 1, 2});
  CHECK(decode_term(pid_ext({0xdc, 0x00, 0x04, 0xa3, 'a', '@', 'b', 0x01, 0x02, 0x03})).err().code == errc::malformed);
  CHECK(decode_term(pid_ext({0x93, 0xa3, 'a', '@', 'b', 0x01, 0xcf, 0, 0, 0})).err().code == errc::malformed);
}
