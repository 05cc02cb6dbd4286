#include "cluster/inbox.hpp"

#include "runtime/runtime_core.hpp"

namespace cluster {

inbox::inbox(runtime& rt) : rt_(rt) {
  internal::process_ref p = rt.core().create_external();
  process_ = p.get();
  process_->add_ref();  // ours, released in the destructor
}

inbox::~inbox() {
  rt_.core().end_external(*process_);
  process_->release();
}

pid inbox::self() const { return rt_.core().pid_of(*process_); }

std::optional<message> inbox::receive(std::chrono::nanoseconds timeout, const matcher& m) {
  internal::runtime_core& core = rt_.core();
  const matcher* match = m ? &m : nullptr;
  std::optional<message> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    core.absorb(*process_);
    const bool matched = core.take_match(*process_, match, out);
    core.publish_held(*process_);  // what a selective receive leaves pending counts against the bound
    if (matched) return out;
    if (rt_.core().run_until_idle() > 0) continue;  // manual mode: let processes answer
    std::unique_lock lock(process_->external->mutex);
    if (!process_->inbox.empty()) continue;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    process_->external->ready.wait_until(lock, deadline, [&] { return !process_->inbox.empty(); });
  }
}

ref inbox::monitor(const pid& p) { return rt_.core().monitor(*process_, p); }
void inbox::link(const pid& p) { rt_.core().link(*process_, p); }

}  // namespace cluster
