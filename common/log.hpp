// Leveled logging to stderr: "2026-11-24T10:00:00.123456 warn: message".
// Single-threaded callers only need no locking; the one write() per line
// keeps lines whole when threads do log.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hs::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(Level level);
bool enabled(Level level);
/// "error", "warn", "info" or "debug".
std::optional<Level> parse_level(std::string_view name);
void write(Level level, std::string_view message);

inline void error(std::string_view m) { write(Level::error, m); }
inline void warn(std::string_view m) { write(Level::warn, m); }
inline void info(std::string_view m) { write(Level::info, m); }
inline void debug(std::string_view m) {
  if (enabled(Level::debug)) write(Level::debug, m);
}

}  // namespace hs::log
