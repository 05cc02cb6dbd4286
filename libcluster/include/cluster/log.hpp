// Logging: one line per event, to stderr by default. A program embedding a
// node may install its own sink. The level and the sink are process-wide;
// both setters are thread-safe, and the sink may be called from any thread
// (calls are serialized).
#pragma once

#include <functional>
#include <optional>
#include <string_view>

namespace cluster {

enum class log_level : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

std::string_view to_string(log_level l) noexcept;
/// Parses "trace", "debug", "info", "warn", "error" or "off".
std::optional<log_level> parse_log_level(std::string_view text) noexcept;

void set_log_level(log_level l) noexcept;
log_level get_log_level() noexcept;

using log_sink = std::function<void(log_level, std::string_view line)>;
/// Replaces the sink; an empty function restores the stderr sink.
void set_log_sink(log_sink sink);

/// Writes one line at `l` if the level is enabled.
void log(log_level l, std::string_view line);

}  // namespace cluster
