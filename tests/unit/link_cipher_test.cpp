// Sealing of link frames: what opens, and everything that must not.
#include <doctest/doctest.h>

#include <string>

#include "crypto/link_cipher.hpp"

using namespace cluster::internal;

namespace {

crypto::key key_of(std::uint8_t fill) {
  crypto::key k;
  k.fill(fill);
  return k;
}

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }
std::vector<std::uint8_t> copy(std::span<const std::uint8_t> s) { return {s.begin(), s.end()}; }

// Two ends of one link: a's sending key is b's receiving key and vice versa.
struct link_pair {
  crypto::link_cipher a{key_of(1), key_of(2)};
  crypto::link_cipher b{key_of(2), key_of(1)};
};

}  // namespace

TEST_CASE("a sealed frame opens at the other end, and hides its plaintext") {
  link_pair l;
  const auto plain = bytes_of("a distinctive payload, twice: a distinctive payload");
  const auto sealed = copy(l.a.seal(plain));
  CHECK(sealed.size() == plain.size() + crypto::link_cipher::overhead);
  CHECK(std::string(sealed.begin(), sealed.end()).find("distinctive") == std::string::npos);
  const auto opened = l.b.open(sealed);
  REQUIRE(opened);
  CHECK(copy(*opened) == plain);
  // The other direction has its own key.
  const auto back = copy(l.b.seal(plain));
  CHECK(l.a.open(back));
  CHECK(back != sealed);
}

TEST_CASE("the same plaintext sealed twice gives different frames") {
  link_pair l;
  const auto plain = bytes_of("same");
  CHECK(copy(l.a.seal(plain)) != copy(l.a.seal(plain)));
}

TEST_CASE("an altered, truncated or foreign frame does not open") {
  link_pair l;
  const auto sealed = copy(l.a.seal(bytes_of("payload")));
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto altered = sealed;
    altered[i] ^= 0x01;
    CAPTURE(i);
    CHECK_FALSE(l.b.open(altered));
  }
  CHECK_FALSE(l.b.open(std::span(sealed).first(sealed.size() - 1)));
  CHECK_FALSE(l.b.open(std::span(sealed).first(crypto::link_cipher::overhead - 1)));
  CHECK_FALSE(l.b.open({}));
  crypto::link_cipher stranger{key_of(3), key_of(4)};
  CHECK_FALSE(stranger.open(sealed));
  // A frame sealed for the other direction does not open either (no reflection).
  crypto::link_cipher a_again{key_of(1), key_of(2)};
  CHECK_FALSE(a_again.open(sealed));
  // Failures leave the receiver usable.
  CHECK(l.b.open(sealed));
}

TEST_CASE("replayed, reordered and deleted frames are refused") {
  link_pair l;
  const auto first = copy(l.a.seal(bytes_of("1")));
  const auto second = copy(l.a.seal(bytes_of("2")));
  const auto third = copy(l.a.seal(bytes_of("3")));
  REQUIRE(l.b.open(first));
  CHECK_FALSE(l.b.open(first));  // replayed
  CHECK_FALSE(l.b.open(third));  // the second was deleted on the way
  REQUIRE(l.b.open(second));     // (in order, it opens)
  CHECK(l.b.open(third));
}

TEST_CASE("a frame the transport refused leaves no gap") {
  link_pair l;
  REQUIRE(l.b.open(copy(l.a.seal(bytes_of("sent")))));
  (void)l.a.seal(bytes_of("refused by the transport"));
  l.a.unsend();
  const auto next = copy(l.a.seal(bytes_of("next")));
  const auto opened = l.b.open(next);
  REQUIRE(opened);
  CHECK(copy(*opened) == bytes_of("next"));
}

TEST_CASE("empty and large frames round-trip") {
  link_pair l;
  const auto empty = copy(l.a.seal({}));
  REQUIRE(l.b.open(empty));
  CHECK(l.b.open(copy(l.a.seal({})))->empty());
  std::vector<std::uint8_t> big(3u << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
  const auto sealed = copy(l.a.seal(big));
  const auto opened = l.b.open(sealed);
  REQUIRE(opened);
  CHECK(copy(*opened) == big);
  // After a large frame the buffers shrink back, and small frames still work.
  CHECK(copy(*l.b.open(copy(l.a.seal(bytes_of("small"))))) == bytes_of("small"));
}
