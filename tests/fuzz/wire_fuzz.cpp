// Fuzz target: the frame decoder, with the limits before and after
// authentication. Whatever decodes must encode again and decode the same way.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "wire/codec.hpp"

namespace wire = cluster::internal::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> frame(data, size);
  for (const auto& limits : {wire::decode_limits::pre_auth(), wire::decode_limits{}}) {
    auto decoded = wire::decode_frame(frame, limits);
    if (!decoded) continue;
    wire::bytes again;
    for (const auto& m : *decoded) wire::encode(m, again);
    auto redecoded = wire::decode_frame(again, wire::decode_limits{});
    if (!redecoded || redecoded->size() != decoded->size()) std::abort();  // our own encoding must decode
  }
  return 0;
}
