// The cookie and what is derived from it (libsodium).
//
// The cookie itself never leaves the process. From it we derive one 32-byte
// key per purpose with libsodium's KDF (BLAKE2b): the handshake key proves
// knowledge of the cookie in challenge/response; later purposes (membership
// datagrams, link encryption) get their own subkeys so one cannot be replayed
// as another. Thread-safety: immutable after construction.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace cluster::internal::crypto {

using key = std::array<std::uint8_t, 32>;
using digest = std::array<std::uint8_t, 32>;

/// Distinct KDF subkey ids: append only.
/// Membership datagrams of nodes with --insecure-plaintext use their own key
/// (`gossip_plaintext`), so that the two settings never form one cluster.
enum class key_purpose : std::uint64_t { handshake = 1, gossip = 2, data = 3, gossip_plaintext = 4, admission = 5 };

/// Calls sodium_init() once; safe to call from any thread, any number of times.
void ensure_initialized();

/// Derives the key for `purpose` from the cookie.
key derive_key(std::string_view cookie, key_purpose purpose);

/// HMAC-SHA256 of `message` under `k`.
digest hmac(const key& k, std::span<const std::uint8_t> message);

/// BLAKE2b-256 of `message` keyed with `k` (libsodium's crypto_generichash):
/// derives per-connection keys from a cookie key and a handshake transcript.
key keyed_hash(const key& k, std::span<const std::uint8_t> message);

/// Constant-time comparison of a received digest with the expected one.
bool digest_equal(std::span<const std::uint8_t> received, const digest& expected);

/// `n` bytes from the operating system's CSPRNG.
std::vector<std::uint8_t> random_bytes(std::size_t n);

/// A uniformly random 32-bit value from the CSPRNG.
std::uint32_t random_u32();

}  // namespace cluster::internal::crypto
