#include "services/quorum_watch.hpp"

namespace cluster::internal {

quorum_watch::verdict quorum_watch::update(bool quorum, time_point now) {
  if (quorum) {
    lost_since_.reset();
    if (has_quorum_) return verdict::unchanged;
    has_quorum_ = true;
    return verdict::regained;
  }
  if (!has_quorum_) return verdict::unchanged;
  if (!lost_since_) lost_since_ = now;
  if (now - *lost_since_ < settle_) return verdict::unchanged;
  lost_since_.reset();
  has_quorum_ = false;
  return verdict::lost;
}

std::optional<time_point> quorum_watch::deadline() const {
  if (!lost_since_) return std::nullopt;
  return *lost_since_ + settle_;
}

}  // namespace cluster::internal
