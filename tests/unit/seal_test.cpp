// Sealed membership datagrams: only the same cookie opens them, and any
// change on the way is caught. Plus the membership presets.
#include <doctest/doctest.h>

#include "cluster/membership_config.hpp"
#include "crypto/seal.hpp"

using namespace cluster;
using namespace cluster::internal::crypto;

TEST_CASE("a sealed datagram opens with the same cookie's gossip key, and only with it") {
  const auto k = derive_key("secret", key_purpose::gossip);
  const std::vector<std::uint8_t> plain{1, 2, 3, 4, 5};
  const auto sealed = seal(k, plain);
  CHECK(sealed.size() == plain.size() + seal_overhead);
  CHECK(sealed[0] == seal_version);
  CHECK(open(k, sealed) == plain);
  CHECK(seal(k, plain) != sealed);  // a fresh nonce every time

  CHECK_FALSE(open(derive_key("other", key_purpose::gossip), sealed));
  // The handshake key of the same cookie is another key: purposes never mix.
  CHECK_FALSE(open(derive_key("secret", key_purpose::handshake), sealed));
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto tampered = sealed;
    tampered[i] ^= 0x01;
    CHECK_FALSE(open(k, tampered));
  }
  CHECK_FALSE(open(k, std::span(sealed).first(seal_overhead - 1)));
  CHECK_FALSE(open(k, {}));
  CHECK(open(k, seal(k, {})) == std::vector<std::uint8_t>{});
}

TEST_CASE("membership presets are named, ordered, and consistent") {
  membership_config lan, wan, local;
  REQUIRE(membership_config::preset("lan", lan));
  REQUIRE(membership_config::preset("wan", wan));
  REQUIRE(membership_config::preset("local", local));
  membership_config unchanged;
  CHECK_FALSE(membership_config::preset("moon", unchanged));
  CHECK(local.probe_interval < lan.probe_interval);
  CHECK(lan.probe_interval < wan.probe_interval);
  for (const auto& c : {lan, wan, local}) {
    CHECK(c.probe_timeout < c.probe_interval);
    CHECK(c.suspicion_max_mult >= 1);
    CHECK(c.indirect_checks >= 1);
  }
}
