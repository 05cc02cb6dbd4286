// The per-source back-off after failed authentications, on a manual clock.
#include <doctest/doctest.h>

#include "cluster/testing/manual_clock.hpp"
#include "links/auth_backoff.hpp"

using namespace cluster;
using namespace cluster::internal;

namespace {

auth_backoff_config small() {
  auth_backoff_config c;
  c.free_failures = 3;
  c.first = milliseconds(1000);
  c.max = milliseconds(5000);
  c.forget_after = milliseconds(60000);
  c.max_sources = 4;
  return c;
}

}  // namespace

TEST_CASE("free failures, then a refusal that doubles up to the maximum") {
  testing::manual_clock clock;
  auth_backoff b(small());
  for (int i = 0; i < 3; ++i) CHECK_FALSE(b.on_failure("10.0.0.1", clock.now()));
  CHECK_FALSE(b.refused_until("10.0.0.1", clock.now()));
  CHECK(b.on_failure("10.0.0.1", clock.now()) == milliseconds(1000));
  CHECK(b.refused_until("10.0.0.1", clock.now()) == clock.now() + milliseconds(1000));
  CHECK_FALSE(b.refused_until("10.0.0.2", clock.now()));  // only that source
  clock.advance(milliseconds(1000));
  CHECK_FALSE(b.refused_until("10.0.0.1", clock.now()));
  CHECK(b.on_failure("10.0.0.1", clock.now()) == milliseconds(2000));
  CHECK(b.on_failure("10.0.0.1", clock.now()) == milliseconds(4000));
  CHECK(b.on_failure("10.0.0.1", clock.now()) == milliseconds(5000));
  for (int i = 0; i < 100; ++i) CHECK(b.on_failure("10.0.0.1", clock.now()) == milliseconds(5000));
}

TEST_CASE("a success or a long quiet starts a source afresh") {
  testing::manual_clock clock;
  auth_backoff b(small());
  for (int i = 0; i < 4; ++i) (void)b.on_failure("10.0.0.1", clock.now());
  REQUIRE(b.refused_until("10.0.0.1", clock.now()));
  b.on_success("10.0.0.1");
  CHECK_FALSE(b.refused_until("10.0.0.1", clock.now()));
  for (int i = 0; i < 3; ++i) CHECK_FALSE(b.on_failure("10.0.0.1", clock.now()));

  clock.advance(milliseconds(61000));
  CHECK_FALSE(b.on_failure("10.0.0.1", clock.now()));  // the old failures are forgotten
}

TEST_CASE("unknown sources and a zero threshold never back off") {
  testing::manual_clock clock;
  auth_backoff b(small());
  for (int i = 0; i < 10; ++i) CHECK_FALSE(b.on_failure("", clock.now()));
  auto off = small();
  off.free_failures = 0;
  auth_backoff none(off);
  for (int i = 0; i < 10; ++i) CHECK_FALSE(none.on_failure("10.0.0.1", clock.now()));
}

TEST_CASE("the number of sources kept is bounded") {
  testing::manual_clock clock;
  auth_backoff b(small());
  for (int s = 0; s < 1000; ++s)
    for (int i = 0; i < 4; ++i)
      (void)b.on_failure("10.1." + std::to_string(s / 256) + "." + std::to_string(s % 256), clock.now());
  // Whatever it forgot, it still works for a new source.
  for (int i = 0; i < 3; ++i) CHECK_FALSE(b.on_failure("10.9.9.9", clock.now()));
  CHECK(b.on_failure("10.9.9.9", clock.now()));
}
