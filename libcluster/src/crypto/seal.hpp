// Authenticated encryption of membership datagrams (libsodium's
// XChaCha20-Poly1305, IETF construction).
//
// A sealed datagram is `[version=1][nonce: 24 bytes][ciphertext + 16-byte tag]`.
// The nonce is random per datagram: 192 bits make a collision negligible, so
// no counter has to survive restarts. The version byte is authenticated as
// associated data. The key is the cookie's `gossip` subkey, so a node with
// another cookie can neither read nor forge a datagram; `open` fails on it.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "crypto/keys.hpp"

namespace cluster::internal::crypto {

inline constexpr std::uint8_t seal_version = 1;
/// Bytes a sealed datagram adds to its plaintext.
inline constexpr std::size_t seal_overhead = 1 + 24 + 16;

std::vector<std::uint8_t> seal(const key& k, std::span<const std::uint8_t> plaintext);
/// The plaintext, or nothing if the datagram is malformed, of another
/// version, or was not sealed with `k` (or was altered on the way).
std::optional<std::vector<std::uint8_t>> open(const key& k, std::span<const std::uint8_t> sealed);

}  // namespace cluster::internal::crypto
