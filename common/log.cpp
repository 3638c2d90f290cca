#include "common/log.hpp"

#include <unistd.h>

#include <atomic>

#include "common/clock.hpp"

namespace hs::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
constexpr std::string_view kNames[] = {"error", "warn", "info", "debug"};
}  // namespace

void set_level(Level level) { g_level = static_cast<int>(level); }
bool enabled(Level level) { return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed); }

std::optional<Level> parse_level(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (kNames[i] == name) return static_cast<Level>(i);
  }
  return std::nullopt;
}

void write(Level level, std::string_view message) {
  if (!enabled(level)) return;
  std::string line = iso_local(Clock::now());
  line += ' ';
  line += kNames[static_cast<int>(level)];
  line += ": ";
  line += message;
  line += '\n';
  // One write(2) per line: lines from different threads do not interleave.
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace hs::log
