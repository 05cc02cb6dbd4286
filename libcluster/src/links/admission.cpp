#include "links/admission.hpp"

#include <charconv>
#include <cstdio>

namespace cluster::internal {
namespace {

constexpr std::string_view prefix = "lc1.";

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

// Over the user name, a zero byte, and the name of the node the token is for.
crypto::digest mac_of(const crypto::key& key, std::string_view username, std::string_view target) {
  std::vector<std::uint8_t> message(username.begin(), username.end());
  message.push_back(0);
  message.insert(message.end(), target.begin(), target.end());
  return crypto::keyed_hash(key, message);
}

/// The password's bytes; empty unless it is 64 hex digits.
std::vector<std::uint8_t> unhex(std::string_view text) {
  std::vector<std::uint8_t> out;
  if (text.size() != 64) return out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    std::uint8_t b = 0;
    if (std::from_chars(text.data() + i, text.data() + i + 2, b, 16).ptr != text.data() + i + 2) return {};
    out.push_back(b);
  }
  return out;
}

std::int64_t ms_since_epoch(wall_time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

admission_token make_admission_token(const crypto::key& key, std::string_view target, wall_time now) {
  char issued[17];
  std::snprintf(issued, sizeof issued, "%016llx", static_cast<unsigned long long>(ms_since_epoch(now)));
  admission_token t;
  t.username = std::string(prefix) + issued + "." + hex(crypto::random_bytes(16));
  t.password = admission_password(key, t.username, target);
  return t;
}

std::function<dial_credentials(const std::string& peer)> admission_credentials(std::string_view cookie) {
  return [key = crypto::derive_key(cookie, crypto::key_purpose::admission)](const std::string& peer) {
    auto t = make_admission_token(key, peer, std::chrono::system_clock::now());
    return dial_credentials{std::move(t.username), std::move(t.password)};
  };
}

error refusal_error(const std::string& peer, std::optional<admission_answer> answer) {
  if (answer == admission_answer::later)
    return {errc::busy, peer +
                            " refuses new connections for now: it is stopping, our address is backed off "
                            "after too many failed authentications, or it started after our token was made "
                            "(we dial again with a fresh one)"};
  const std::string causes =
      "it does not take our cookie (cookie mismatch), our clocks are more than 15 minutes apart, or the node "
      "there has another name";
  if (answer) return {errc::auth_failed, peer + " refused us at admission: " + causes};
  return {errc::auth_failed, peer + " closed the connection in ZeroMQ's handshake: " + causes +
                                 " (or it is not a libcluster node of this version)"};
}

std::string admission_password(const crypto::key& key, std::string_view username, std::string_view target) {
  return hex(mac_of(key, username, target));
}

// A token from the very millisecond we started is let in: a dialer that
// connects at once should not have to wait for the clock to tick.
admission_gate::admission_gate(admission_config cfg)
    : cfg_(std::move(cfg)), floor_ms_(ms_since_epoch(cfg_.started) - 1) {}

std::string_view describe(admission_verdict v) {
  switch (v) {
    case admission_verdict::admitted:
      return "";
    case admission_verdict::malformed:
      return "not a libcluster admission token";
    case admission_verdict::wrong_cookie:
      return "made with a cookie we do not accept (cookie mismatch), or for another node";
    case admission_verdict::clock_skew:
      return "issued too far from our clock (are the hosts' clocks synchronized?)";
    case admission_verdict::replayed:
      return "already used (a replayed token)";
    case admission_verdict::stale:
      return "issued before this node started, or too long ago to check (a replay, or a clock behind ours)";
  }
  return "refused";
}

admission_verdict admission_gate::check(std::string_view username, std::string_view password, wall_time now) {
  // lc1.<16 hex>.<32 hex>
  if (username.size() != prefix.size() + 16 + 1 + 32 || !username.starts_with(prefix) ||
      username[prefix.size() + 16] != '.')
    return admission_verdict::malformed;
  std::uint64_t issued = 0;
  const char* first = username.data() + prefix.size();
  if (std::from_chars(first, first + 16, issued, 16).ptr != first + 16) return admission_verdict::malformed;

  const auto mac = unhex(password);
  if (mac.empty()) return admission_verdict::malformed;
  bool known = false;
  for (const auto& k : cfg_.keys) known |= crypto::digest_equal(mac, mac_of(k, username, cfg_.self));
  if (!known) return admission_verdict::wrong_cookie;

  const std::int64_t issued_ms = static_cast<std::int64_t>(issued & INT64_MAX);
  const std::int64_t now_ms = ms_since_epoch(now);
  const std::int64_t window = cfg_.window.count();
  forget_before(now_ms - window);
  if (issued_ms < now_ms - window || issued_ms > now_ms + window) {
    last_skew_ = std::chrono::milliseconds(issued_ms - now_ms);
    return admission_verdict::clock_skew;
  }
  if (issued_ms <= floor_ms_) return admission_verdict::stale;
  if (seen_.contains(std::string(username))) return admission_verdict::replayed;
  if (remembered_.size() >= cfg_.max_remembered && !remembered_.empty()) {
    // Full: forget the oldest and refuse anything issued no later than it.
    const auto oldest = remembered_.begin();
    floor_ms_ = std::max(floor_ms_, oldest->first);
    seen_.erase(oldest->second);
    remembered_.erase(oldest);
  }
  remembered_.emplace(issued_ms, username);
  seen_.emplace(username);
  return admission_verdict::admitted;
}

void admission_gate::forget_before(std::int64_t issued_ms) {
  // Older tokens fail the clock check anyway: no need to remember them. The
  // floor keeps them out should the clock step back.
  floor_ms_ = std::max(floor_ms_, issued_ms - 1);
  while (!remembered_.empty() && remembered_.begin()->first < issued_ms) {
    seen_.erase(remembered_.begin()->second);
    remembered_.erase(remembered_.begin());
  }
}

}  // namespace cluster::internal
