#include "crypto/link_cipher.hpp"

#include <sodium.h>

#include <array>

namespace cluster::internal::crypto {
namespace {

constexpr std::size_t counter_bytes = 8;
static_assert(link_cipher::overhead == counter_bytes + crypto_aead_chacha20poly1305_ietf_ABYTES);

// A buffer that once held a large frame (up to 64 MiB) is given back rather
// than kept for the life of the link.
constexpr std::size_t keep_capacity = 1u << 20;

void reserve_for(std::vector<std::uint8_t>& buffer, std::size_t n) {
  if (buffer.capacity() > keep_capacity && n <= keep_capacity) buffer = {};
  buffer.resize(n);
}

std::array<unsigned char, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> nonce_of(const std::uint8_t* counter) {
  std::array<unsigned char, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> nonce{};
  std::copy(counter, counter + counter_bytes, nonce.end() - counter_bytes);
  return nonce;
}

}  // namespace

link_cipher::link_cipher(const key& send, const key& receive) : send_key_(send), receive_key_(receive) {
  ensure_initialized();
}

link_cipher::~link_cipher() {
  sodium_memzero(send_key_.data(), send_key_.size());
  sodium_memzero(receive_key_.data(), receive_key_.size());
}

std::span<const std::uint8_t> link_cipher::seal(std::span<const std::uint8_t> plaintext) {
  reserve_for(sealed_, overhead + plaintext.size());
  const std::uint64_t counter = next_send_++;
  for (std::size_t i = 0; i < counter_bytes; ++i)
    sealed_[i] = static_cast<std::uint8_t>(counter >> (8 * (counter_bytes - 1 - i)));
  const auto nonce = nonce_of(sealed_.data());
  unsigned long long written = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(sealed_.data() + counter_bytes, &written, plaintext.data(),
                                            plaintext.size(), nullptr, 0, nullptr, nonce.data(), send_key_.data());
  return {sealed_.data(), counter_bytes + static_cast<std::size_t>(written)};
}

std::optional<std::span<const std::uint8_t>> link_cipher::open(std::span<const std::uint8_t> frame) {
  if (frame.size() < overhead) return std::nullopt;
  std::uint64_t counter = 0;
  for (std::size_t i = 0; i < counter_bytes; ++i) counter = (counter << 8) | frame[i];
  // (2^64 frames cannot be sent, so the counter never wraps.)
  if (counter != next_receive_) return std::nullopt;
  reserve_for(opened_, frame.size() - overhead);
  const auto nonce = nonce_of(frame.data());
  unsigned long long written = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(opened_.data(), &written, nullptr, frame.data() + counter_bytes,
                                                frame.size() - counter_bytes, nullptr, 0, nonce.data(),
                                                receive_key_.data()) != 0)
    return std::nullopt;
  next_receive_ = counter + 1;
  return std::span<const std::uint8_t>(opened_.data(), static_cast<std::size_t>(written));
}

}  // namespace cluster::internal::crypto
