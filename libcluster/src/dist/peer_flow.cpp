#include "dist/peer_flow.hpp"

#include "runtime/runtime_core.hpp"

namespace cluster::internal {

bool peer_flow::add(std::size_t n) {
  std::lock_guard lock(mutex_);
  bytes_ += n;
  if (!released_ && bytes_ > bound_) busy_ = true;
  return busy_;
}

void peer_flow::remove(std::size_t n) {
  std::vector<process_ref> ready;
  {
    std::lock_guard lock(mutex_);
    bytes_ -= std::min(n, bytes_);
    if (!busy_ || bytes_ > bound_ / 2) return;
    busy_ = false;
    ready.swap(held_);
  }
  for (auto& p : ready) rt_.resume(std::move(p));
}

std::size_t peer_flow::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

bool peer_flow::busy() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

std::size_t peer_flow::held() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

void peer_flow::release() {
  std::vector<process_ref> ready;
  {
    std::lock_guard lock(mutex_);
    released_ = true;
    busy_ = false;
    ready.swap(held_);
  }
  for (auto& p : ready) rt_.resume(std::move(p));
}

bool peer_flow::hold(process_ref p) {
  std::lock_guard lock(mutex_);
  if (!busy_ || released_) return false;
  held_.push_back(std::move(p));
  return true;
}

}  // namespace cluster::internal
