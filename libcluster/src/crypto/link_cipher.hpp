// Encryption of one authenticated link (libsodium's ChaCha20-Poly1305, IETF
// construction), once the cookie handshake is done.
//
// Each direction has its own key, derived by the handshake from the cookie and
// both sides' fresh nonces, so every connection has keys of its own and a
// counter can serve as the nonce. A sealed frame is
//
//   [counter: 8 bytes, big-endian][ciphertext][16-byte tag]
//
// with nonce = 4 zero bytes + the counter. Each direction counts its frames
// 0, 1, 2... and the receiver takes only the next one: a frame deleted,
// replayed or reordered on the way makes the next one fail, as does one
// altered or sealed with another key. A frame the transport refused was never
// sent, so its counter is used again (`unsend`) and leaves no gap.
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
  /// The frame of the last `seal` was not sent (the transport refused it):
  /// the next frame takes its counter. Reusing the nonce is safe because
  /// that ciphertext never left the process.
  void unsend() { --next_send_; }
  /// Opens a received frame: its plaintext (valid until the next `open`), or
  /// nothing if it is malformed, forged, altered, replayed or out of order.
  std::optional<std::span<const std::uint8_t>> open(std::span<const std::uint8_t> frame);

 private:
  key send_key_{};
  key receive_key_{};
  std::uint64_t next_send_ = 0;
  std::uint64_t next_receive_ = 0;  ///< the only counter acceptable next
  std::vector<std::uint8_t> sealed_;
  std::vector<std::uint8_t> opened_;
};

}  // namespace cluster::internal::crypto
