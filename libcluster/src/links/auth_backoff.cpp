#include "links/auth_backoff.hpp"

#include <algorithm>

namespace cluster::internal {

std::optional<duration> auth_backoff::on_failure(const std::string& source, time_point now) {
  if (cfg_.free_failures == 0 || source.empty()) return std::nullopt;
  if (!sources_.contains(source)) make_room(now);
  record& r = sources_[source];
  if (r.failures > 0 && now - r.last_failure > cfg_.forget_after) r = {};
  ++r.failures;
  r.last_failure = now;
  if (r.failures <= cfg_.free_failures) return std::nullopt;
  // 1x, 2x, 4x... `first`, capped (the shift is capped too, so it cannot overflow).
  const auto doublings = std::min<std::size_t>(r.failures - cfg_.free_failures - 1, 20);
  const duration wait = std::min<duration>(cfg_.first * (std::int64_t{1} << doublings), cfg_.max);
  r.until = now + wait;
  return wait;
}

std::optional<time_point> auth_backoff::refused_until(const std::string& source, time_point now) const {
  const auto it = sources_.find(source);
  if (it == sources_.end() || it->second.until <= now) return std::nullopt;
  return it->second.until;
}

void auth_backoff::make_room(time_point now) {
  if (sources_.size() < cfg_.max_sources) return;
  std::erase_if(sources_, [&](const auto& kv) {
    return kv.second.until <= now && now - kv.second.last_failure > cfg_.forget_after;
  });
  // Still full (many sources failing at once, perhaps spoofed): start over
  // rather than grow.
  if (sources_.size() >= cfg_.max_sources) sources_.clear();
}

}  // namespace cluster::internal
