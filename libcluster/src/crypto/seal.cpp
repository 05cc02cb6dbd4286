#include "crypto/seal.hpp"

#include <sodium.h>

namespace cluster::internal::crypto {

static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == 16);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == sizeof(key));

std::vector<std::uint8_t> seal(const key& k, std::span<const std::uint8_t> plaintext) {
  ensure_initialized();
  std::vector<std::uint8_t> out(seal_overhead + plaintext.size());
  out[0] = seal_version;
  std::uint8_t* nonce = out.data() + 1;
  randombytes_buf(nonce, 24);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + 25, &written, plaintext.data(), plaintext.size(), out.data(),
                                             1, nullptr, nonce, k.data());
  out.resize(25 + written);
  return out;
}

std::optional<std::vector<std::uint8_t>> open(const key& k, std::span<const std::uint8_t> sealed) {
  if (sealed.size() < seal_overhead || sealed[0] != seal_version) return std::nullopt;
  ensure_initialized();
  std::vector<std::uint8_t> out(sealed.size() - seal_overhead);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &written, nullptr, sealed.data() + 25, sealed.size() - 25,
                                                 sealed.data(), 1, sealed.data() + 1, k.data()) != 0)
    return std::nullopt;
  out.resize(written);
  return out;
}

}  // namespace cluster::internal::crypto
