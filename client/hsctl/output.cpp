#include "client/hsctl/output.hpp"

#include <cstdio>
#include <ctime>

namespace hsctl {

std::string relative_time(std::string_view iso, std::chrono::system_clock::time_point now) {
  if (iso.empty()) return "never";
  std::tm tm{};
  int consumed = 0;
  std::string s(iso);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return s;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;  // local time, with whatever DST applied then
  std::time_t then = std::mktime(&tm);
  if (then == -1) return s;
  long secs = static_cast<long>(std::chrono::system_clock::to_time_t(now) - then);
  if (secs < -60) return "in the future (" + s + ")";
  if (secs < 10) return "just now";
  if (secs < 60) return std::to_string(secs) + " s ago";
  if (secs < 3600) return std::to_string(secs / 60) + " min ago";
  if (secs < 86400) return std::to_string(secs / 3600) + " h ago";
  long days = secs / 86400;
  return days == 1 ? "1 day ago" : std::to_string(days) + " days ago";
}

std::string count(long n, std::string_view singular, std::string_view plural) {
  return std::to_string(n) + " " + std::string(n == 1 ? singular : plural);
}

}  // namespace hsctl
