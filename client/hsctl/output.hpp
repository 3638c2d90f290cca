// Human output helpers.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace hsctl {

/// "just now", "42 s ago", "3 min ago", "5 h ago", "2 days ago" for a local
/// ISO timestamp as the state file holds it; the text itself when it does
/// not parse; "never" for an empty one.
std::string relative_time(std::string_view iso, std::chrono::system_clock::time_point now =
                                                     std::chrono::system_clock::now());

/// "1 file", "3 files".
std::string count(long n, std::string_view singular, std::string_view plural);

}  // namespace hsctl
