// Fuzz target: membership datagrams. The bytes go through the unsealing code
// (which must refuse them: nobody here has the key) and, as if they had opened,
// into a live SWIM engine that already knows a few members.
#include <cstddef>
#include <cstdint>
#include <span>

#include "cluster/testing/manual_clock.hpp"
#include "crypto/seal.hpp"
#include "membership/swim.hpp"

using namespace cluster;
using namespace cluster::internal;
using namespace cluster::internal::membership;

namespace {

struct discard final : datagram_sink, swim_listener {
  void send_datagram(const endpoint&, std::span<const std::uint8_t>) override {}
  void on_member_change(const member&, change, const std::string&) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  (void)crypto::open(crypto::derive_key("fuzz-cookie", crypto::key_purpose::gossip), bytes);

  testing::manual_clock clock;
  discard out;
  swim engine(membership_config::lan(), {"fuzz@10.0.0.1", {"10.0.0.1", 4370}, 1, 1, {}}, out, clock, out, 1);
  engine.set_seeds({{"10.0.0.2", 4370}});
  // Split the input in up to four datagrams from two senders, with time
  // passing between them, so sequences of claims get exercised too.
  const std::size_t quarter = size / 4 + 1;
  for (std::size_t at = 0, k = 0; at < size; at += quarter, ++k) {
    const endpoint from{k % 2 ? "10.0.0.2" : "10.0.0.3", 4370};
    engine.on_datagram(from, bytes.subspan(at, std::min(quarter, size - at)));
    clock.advance(milliseconds(150));
    engine.tick();
  }
  return 0;
}
