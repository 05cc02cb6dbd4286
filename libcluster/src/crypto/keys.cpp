#include "crypto/keys.hpp"

#include <sodium.h>

#include <cstdlib>
#include <mutex>

namespace cluster::internal::crypto {

void ensure_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no usable randomness: nothing is safe
  });
}

key derive_key(std::string_view cookie, key_purpose purpose) {
  ensure_initialized();
  // The cookie may be any length; hash it to a master key first, then derive
  // one subkey per purpose under a fixed context.
  key master{};
  crypto_generichash(master.data(), master.size(), reinterpret_cast<const unsigned char*>(cookie.data()), cookie.size(),
                     nullptr, 0);
  key sub{};
  static constexpr char context[crypto_kdf_CONTEXTBYTES + 1] = "lcluster";
  crypto_kdf_derive_from_key(sub.data(), sub.size(), static_cast<std::uint64_t>(purpose), context, master.data());
  sodium_memzero(master.data(), master.size());
  return sub;
}

digest hmac(const key& k, std::span<const std::uint8_t> message) {
  digest out{};
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, k.data(), k.size());
  crypto_auth_hmacsha256_update(&st, message.data(), message.size());
  crypto_auth_hmacsha256_final(&st, out.data());
  return out;
}

key keyed_hash(const key& k, std::span<const std::uint8_t> message) {
  ensure_initialized();
  key out{};
  crypto_generichash(out.data(), out.size(), message.data(), message.size(), k.data(), k.size());
  return out;
}

bool digest_equal(std::span<const std::uint8_t> received, const digest& expected) {
  if (received.size() != expected.size()) return false;
  return sodium_memcmp(received.data(), expected.data(), expected.size()) == 0;
}

std::vector<std::uint8_t> random_bytes(std::size_t n) {
  ensure_initialized();
  std::vector<std::uint8_t> out(n);
  randombytes_buf(out.data(), out.size());
  return out;
}

std::uint32_t random_u32() {
  ensure_initialized();
  return randombytes_random();
}

}  // namespace cluster::internal::crypto
