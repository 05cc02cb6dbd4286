// Encoding and decoding of wire messages and frames: the trust boundary.
//
// Decoding never throws and never crashes on hostile bytes: truncated,
// malformed, oversized or over-nested input yields `errc::malformed` or
// `errc::too_large` with a sentence saying what was wrong, and the caller drops
// the peer. Declared lengths are checked against the bytes present and the
// limits before anything is allocated.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/term.hpp"
#include "wire/messages.hpp"

namespace cluster::internal::wire {

using bytes = std::vector<std::uint8_t>;

/// Bounds on what one frame may contain.
struct decode_limits {
  std::size_t max_frame_bytes = 64u << 20;   ///< whole frame, bytes
  std::size_t max_messages = 1u << 16;       ///< messages per frame
  std::size_t max_elements = 1u << 20;       ///< entries of any one array or map
  std::size_t max_string_bytes = 64u << 20;  ///< any one str, bin or ext
  std::size_t max_depth = max_term_depth;    ///< nesting of arrays and maps

  /// Tight limits for unauthenticated peers: only small handshake messages.
  static decode_limits pre_auth();
};

/// Appends the encoding of `m` (`[type, [fields...]]`) to `out`.
void encode(const message& m, bytes& out);
/// The encoding of `m` alone.
bytes encode(const message& m);

/// Decodes every message in a frame (one or more back-to-back encodings).
result<std::vector<message>> decode_frame(std::span<const std::uint8_t> frame, const decode_limits& limits);

/// The wire type number of a decoded message.
msg_type type_of(const message& m);

/// Encodes a term alone (used by tests and tools).
bytes encode_term(const term& t);
/// Decodes exactly one term occupying all of `data`.
result<term> decode_term(std::span<const std::uint8_t> data, const decode_limits& limits = {});

}  // namespace cluster::internal::wire
