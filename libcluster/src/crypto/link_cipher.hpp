// Encryption of one authenticated link (libsodium's ChaCha20-Poly1305, IETF
// construction), once the cookie handshake is done.
//
// Each direction has its own key, derived by the handshake from the cookie and
// both sides' fresh nonces, so every connection has keys of its own and a
// counter can serve as the nonce. A sealed frame is
//
//   [counter: 8 bytes, big-endian][ciphertext][16-byte tag]
//
// with nonce = 4 zero bytes + the counter. Counters only go up: a frame whose
// counter is not above the last one opened (a replay, a reordering) fails, as
// does one altered on the way or sealed with another key. A sender may skip
// counters (a frame the transport refused), so gaps are allowed.
//
// Not thread-safe: one owner (the thread that drives the link).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "crypto/keys.hpp"

namespace cluster::internal::crypto {

class link_cipher {
 public:
  /// Bytes a sealed frame adds to its plaintext.
  static constexpr std::size_t overhead = 8 + 16;

  link_cipher(const key& send, const key& receive);
  ~link_cipher();
  link_cipher(link_cipher&&) noexcept = default;
  link_cipher& operator=(link_cipher&&) noexcept = default;

  /// Seals `plaintext` as the next frame. The view is valid until the next
  /// call to `seal`.
  std::span<const std::uint8_t> seal(std::span<const std::uint8_t> plaintext);
  /// Opens a received frame: its plaintext (valid until the next `open`), or
  /// nothing if it is malformed, forged, altered, replayed or out of order.
  std::optional<std::span<const std::uint8_t>> open(std::span<const std::uint8_t> frame);

 private:
  key send_key_{};
  key receive_key_{};
  std::uint64_t next_send_ = 0;
  std::uint64_t next_receive_ = 0;  ///< the lowest counter still acceptable
  std::vector<std::uint8_t> sealed_;
  std::vector<std::uint8_t> opened_;
};

}  // namespace cluster::internal::crypto
