// Fuzz target: the handshake state machine on either side, fed whatever a
// hostile peer sends before authenticating. The input is a role byte, then
// frames, each preceded by its length (2 bytes, little-endian); frames are
// decoded with the pre-authentication limits, as the link manager does.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cluster/testing/manual_clock.hpp"
#include "handshake/handshake.hpp"

using namespace cluster::internal;
namespace hs = cluster::internal::handshake;

namespace {

hs::config config() {
  hs::config c;
  c.self = {wire::peer_kind::node, "fuzz@127.0.0.1", 4370, 7, 0};
  c.key = crypto::derive_key("fuzz-cookie", crypto::key_purpose::handshake);
  c.also_accepted.push_back(crypto::derive_key("older-cookie", crypto::key_purpose::handshake));
  c.random = [](std::size_t n) { return std::vector<std::uint8_t>(n, 0x5a); };  // reproducible runs
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  cluster::testing::manual_clock clock;
  const bool initiator = data[0] & 1;
  wire::message hello;
  auto h =
      initiator ? hs::handshake::initiate(config(), clock.now(), hello) : hs::handshake::accept(config(), clock.now());
  const hs::admit_fn admit = [](const hs::identity&) { return hs::admission::accept(); };
  std::size_t at = 1;
  while (at + 2 <= size) {
    const std::size_t n = static_cast<std::size_t>(data[at]) | static_cast<std::size_t>(data[at + 1]) << 8;
    at += 2;
    if (n > size - at) break;
    auto messages = wire::decode_frame(std::span(data + at, n), wire::decode_limits::pre_auth());
    at += n;
    if (!messages) continue;  // the link manager drops the connection here
    for (const auto& m : *messages) {
      const auto s = h.on_message(m, clock.now(), admit);
      if (s.done) (void)h.keys();
      if (s.failure || s.done) return 0;
    }
    clock.advance(cluster::milliseconds(100));
    if (h.deadline() <= clock.now()) (void)h.on_timeout();
  }
  return 0;
}
