// Admission tokens: made with the cookie, single-use, and only near our clock.
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

admission_gate gate(std::size_t remembered = 100) {
  admission_config c;
  c.keys = {good, old_cookie};
  c.window = minutes(15);
  c.max_remembered = remembered;
  return admission_gate(c);
}

}  // namespace

TEST_CASE("a token made with an accepted cookie is admitted once") {
  auto g = gate();
  const auto t = make_admission_token(good, t0);
  CHECK(t.username.size() <= 255);
  CHECK(t.password.size() == 64);
  CHECK(g.check(t.username, t.password, t0) == admission_verdict::admitted);
  CHECK(g.check(t.username, t.password, t0 + seconds(1)) == admission_verdict::replayed);
  const auto rotated = make_admission_token(old_cookie, t0);  // any cookie of the accepted list
  CHECK(g.check(rotated.username, rotated.password, t0) == admission_verdict::admitted);
  const auto fresh = make_admission_token(good, t0);
  CHECK(fresh.username != t.username);
  CHECK(g.check(fresh.username, fresh.password, t0) == admission_verdict::admitted);
}

TEST_CASE("other cookies, altered tokens and garbage are refused") {
  auto g = gate();
  const auto stranger = make_admission_token(other, t0);
  CHECK(g.check(stranger.username, stranger.password, t0) == admission_verdict::wrong_cookie);
  auto t = make_admission_token(good, t0);
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
  const auto early = make_admission_token(good, t0 - minutes(16));
  CHECK(g.check(early.username, early.password, t0) == admission_verdict::clock_skew);
  CHECK(g.last_skew() == -minutes(16));
  const auto late = make_admission_token(good, t0 + minutes(20));
  CHECK(g.check(late.username, late.password, t0) == admission_verdict::clock_skew);
  CHECK(g.last_skew() == minutes(20));
  const auto near = make_admission_token(good, t0 + minutes(14));  // within the window
  CHECK(g.check(near.username, near.password, t0) == admission_verdict::admitted);
  // A replay after the window has passed fails the clock instead.
  CHECK(g.check(near.username, near.password, t0 + minutes(30)) == admission_verdict::clock_skew);
}

TEST_CASE("memory for replay checks is bounded: what is forgotten is refused") {
  auto g = gate(3);
  std::vector<admission_token> ts;
  for (int i = 0; i < 4; ++i) ts.push_back(make_admission_token(good, t0 + seconds(i)));
  for (const auto& t : ts) CHECK(g.check(t.username, t.password, t0 + seconds(5)) == admission_verdict::admitted);
  // The oldest was forgotten to make room: refused as if replayed, never admitted twice.
  for (const auto& t : ts) CHECK(g.check(t.username, t.password, t0 + seconds(6)) == admission_verdict::replayed);
  // Tokens issued after the forgotten one still get in.
  const auto later = make_admission_token(good, t0 + seconds(7));
  CHECK(g.check(later.username, later.password, t0 + seconds(7)) == admission_verdict::admitted);
}
