// Admission tokens: made with the cookie for one node, single-use, issued
// after the node started and near its clock.
#include <doctest/doctest.h>

#include "crypto/keys.hpp"
#include "links/admission.hpp"

using namespace cluster::internal;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const crypto::key good = crypto::derive_key("the-cookie", crypto::key_purpose::admission);
const crypto::key old_cookie = crypto::derive_key("last-year", crypto::key_purpose::admission);
const crypto::key other = crypto::derive_key("not-ours", crypto::key_purpose::admission);
const wall_time t0 = wall_time{} + std::chrono::hours(24 * 365 * 57);  // 2027
const std::string self = "n1@10.0.0.1";

admission_token token(const crypto::key& k, wall_time issued) { return make_admission_token(k, self, issued); }

admission_gate gate(std::size_t remembered = 100) {
  admission_config c;
  c.self = self;
  c.started = t0 - minutes(30);
  c.keys = {good, old_cookie};
  c.window = minutes(15);
  c.max_remembered = remembered;
  return admission_gate(c);
}

}  // namespace

TEST_CASE("a token made with an accepted cookie is admitted once") {
  auto g = gate();
  const auto t = token(good, t0);
  CHECK(t.username.size() <= 255);
  CHECK(t.password.size() == 64);
  CHECK(g.check(t.username, t.password, t0) == admission_verdict::admitted);
  CHECK(g.check(t.username, t.password, t0 + seconds(1)) == admission_verdict::replayed);
  const auto rotated = token(old_cookie, t0);  // any cookie of the accepted list
  CHECK(g.check(rotated.username, rotated.password, t0) == admission_verdict::admitted);
  const auto fresh = token(good, t0);
  CHECK(fresh.username != t.username);
  CHECK(g.check(fresh.username, fresh.password, t0) == admission_verdict::admitted);
}

TEST_CASE("the documented vector (PROTOCOL.md 5.6)") {
  const crypto::key a = crypto::derive_key("secret", crypto::key_purpose::admission);
  CHECK(admission_password(a, "lc1.0000019c3b5a4c00.000102030405060708090a0b0c0d0e0f", "n1@127.0.0.1") ==
        "ea9dc41216cbc4c10d1cb52f62bc2c1f1d5828b51ce493589faf25bf644edbbf");
}

TEST_CASE("a token made for another node is refused: it cannot be replayed to the rest of the cluster") {
  auto g = gate();
  const auto elsewhere = make_admission_token(good, "n2@10.0.0.2", t0);
  CHECK(g.check(elsewhere.username, elsewhere.password, t0) == admission_verdict::wrong_cookie);
}

TEST_CASE("a token issued before the node started is stale: no replay across a restart") {
  auto g = gate();
  const auto before = token(good, t0 - minutes(31));  // within the clock window of a later check
  CHECK(g.check(before.username, before.password, t0 - minutes(20)) == admission_verdict::stale);
}

TEST_CASE("a forgotten token stays refused when the clock steps back") {
  auto g = gate();
  const auto t = token(good, t0);
  CHECK(g.check(t.username, t.password, t0) == admission_verdict::admitted);
  const auto later = token(good, t0 + minutes(20));
  CHECK(g.check(later.username, later.password, t0 + minutes(20)) == admission_verdict::admitted);  // t forgotten
  CHECK(g.check(t.username, t.password, t0 + minutes(1)) == admission_verdict::stale);  // clock stepped back
}

TEST_CASE("other cookies, altered tokens and garbage are refused") {
  auto g = gate();
  const auto stranger = token(other, t0);
  CHECK(g.check(stranger.username, stranger.password, t0) == admission_verdict::wrong_cookie);
  auto t = token(good, t0);
  std::string altered = t.username;
  altered.back() = altered.back() == '0' ? '1' : '0';  // another nonce, same password
  CHECK(g.check(altered, t.password, t0) == admission_verdict::wrong_cookie);
  CHECK(g.check(t.username, std::string(64, '0'), t0) == admission_verdict::wrong_cookie);
  CHECK(g.check(t.username, "zz" + t.password.substr(2), t0) == admission_verdict::malformed);
  CHECK(g.check("", "", t0) == admission_verdict::malformed);
  CHECK(g.check("lc1.-000000000000001.00000000000000000000000000000000", t.password, t0) ==
        admission_verdict::malformed);
  CHECK(g.check(std::string(255, 'x'), std::string(255, 'y'), t0) == admission_verdict::malformed);
  // The genuine token still works: refusals remember nothing.
  CHECK(g.check(t.username, t.password, t0) == admission_verdict::admitted);
}

TEST_CASE("a token issued too far from our clock is refused, and the skew reported") {
  auto g = gate();
  const auto early = token(good, t0 - minutes(16));
  CHECK(g.check(early.username, early.password, t0) == admission_verdict::clock_skew);
  CHECK(g.last_skew() == -minutes(16));
  const auto late = token(good, t0 + minutes(20));
  CHECK(g.check(late.username, late.password, t0) == admission_verdict::clock_skew);
  CHECK(g.last_skew() == minutes(20));
  const auto near = token(good, t0 + minutes(14));  // within the window
  CHECK(g.check(near.username, near.password, t0) == admission_verdict::admitted);
  // A replay after the window has passed fails the clock instead.
  CHECK(g.check(near.username, near.password, t0 + minutes(30)) == admission_verdict::clock_skew);
}

TEST_CASE("memory for replay checks is bounded: what is forgotten is refused") {
  auto g = gate(3);
  std::vector<admission_token> ts;
  for (int i = 0; i < 4; ++i) ts.push_back(token(good, t0 + seconds(i)));
  for (const auto& t : ts) CHECK(g.check(t.username, t.password, t0 + seconds(5)) == admission_verdict::admitted);
  // The oldest was forgotten to make room: stale, never admitted twice.
  CHECK(g.check(ts[0].username, ts[0].password, t0 + seconds(6)) == admission_verdict::stale);
  for (std::size_t i = 1; i < ts.size(); ++i)
    CHECK(g.check(ts[i].username, ts[i].password, t0 + seconds(6)) == admission_verdict::replayed);
  // Tokens issued after the forgotten one still get in.
  const auto later = token(good, t0 + seconds(7));
  CHECK(g.check(later.username, later.password, t0 + seconds(7)) == admission_verdict::admitted);
}
