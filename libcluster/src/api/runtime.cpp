#include "cluster/runtime.hpp"

#include "runtime/runtime_core.hpp"

namespace cluster {

runtime::runtime(runtime_config config) : core_(std::make_unique<internal::runtime_core>(std::move(config))) {}
runtime::~runtime() { shutdown(); }

pid runtime::spawn(behavior b) { return core_->spawn(std::move(b)); }
std::vector<process_info> runtime::processes() const { return core_->snapshot(); }
void runtime::send(const pid& to, message m) { core_->send(to, std::move(m)); }

bool runtime::send(const std::string& name, message m) {
  const auto to = core_->whereis(name);
  if (!to) return false;
  core_->send(*to, std::move(m));
  return true;
}

std::optional<pid> runtime::whereis(const std::string& name) const { return core_->whereis(name); }

void runtime::exit(const pid& target, term reason) {
  // From outside any process: the signal comes from nobody in particular.
  core_->signal(target, detail::envelope_kind::exit_signal,
                internal::exit_signal{pid{core_->node(), core_->creation(), 0}, std::move(reason), false});
}

bool runtime::alive(const pid& p) const { return core_->alive(p); }
bool runtime::is_local(const pid& p) const { return core_->is_local(p); }
const std::string& runtime::node() const { return core_->node(); }
std::uint32_t runtime::creation() const { return core_->creation(); }
std::size_t runtime::process_count() const { return core_->stats().alive; }
runtime_stats runtime::stats() const { return core_->stats(); }
void runtime::shutdown() { core_->shutdown(); }
std::size_t runtime::run_until_idle() { return core_->run_until_idle(); }
void runtime::advance(std::chrono::nanoseconds d) { core_->advance(std::chrono::duration_cast<duration>(d)); }

}  // namespace cluster
