#include "cluster/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace cluster {
namespace {

std::atomic<log_level> current_level{log_level::info};
std::mutex sink_mutex;  // guards `custom_sink` and serializes writes
log_sink custom_sink;

void write_stderr(log_level l, std::string_view line) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03d %-5s %.*s\n", stamp, static_cast<int>(ms), to_string(l).data(),
               static_cast<int>(line.size()), line.data());
}

}  // namespace

std::string_view to_string(log_level l) noexcept {
  switch (l) {
    case log_level::trace:
      return "trace";
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
    case log_level::off:
      return "off";
  }
  return "?";
}

std::optional<log_level> parse_log_level(std::string_view text) noexcept {
  for (int i = 0; i <= static_cast<int>(log_level::off); ++i)
    if (to_string(static_cast<log_level>(i)) == text) return static_cast<log_level>(i);
  return std::nullopt;
}

void set_log_level(log_level l) noexcept { current_level.store(l, std::memory_order_relaxed); }
log_level get_log_level() noexcept { return current_level.load(std::memory_order_relaxed); }

void set_log_sink(log_sink sink) {
  std::lock_guard lock(sink_mutex);
  custom_sink = std::move(sink);
}

void log(log_level l, std::string_view line) {
  if (l < get_log_level() || l == log_level::off) return;
  std::lock_guard lock(sink_mutex);
  if (custom_sink)
    custom_sink(l, line);
  else
    write_stderr(l, line);
}

}  // namespace cluster
