// Local-time timestamps in the formats the state file uses.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace hs {

using Clock = std::chrono::system_clock;
/// Source of "now"; tests substitute a fixed clock.
using NowFn = std::function<Clock::time_point()>;

/// "2026-11-24T10:00:00.123456": local time, no zone, microseconds always
/// present (Python's datetime.isoformat() drops them when they are 0; both
/// forms are read by datetime.fromisoformat).
std::string iso_local(Clock::time_point t);
/// "20261124_100000": local time, for backup file names.
std::string stamp_local(Clock::time_point t);

}  // namespace hs
