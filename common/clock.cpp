#include "common/clock.hpp"

#include <cstdio>
#include <ctime>

namespace hs {
namespace {

std::tm local_tm(Clock::time_point t) {
  std::time_t secs = Clock::to_time_t(t);
  std::tm tm {};
  ::localtime_r(&secs, &tm);
  return tm;
}

}  // namespace

std::string iso_local(Clock::time_point t) {
  using namespace std::chrono;
  auto since = t.time_since_epoch();
  // Floor (not truncate) so that times before 1970 still get 0..999999.
  auto secs = floor<seconds>(since);
  auto micros = duration_cast<microseconds>(since - secs).count();
  std::tm tm = local_tm(Clock::time_point(duration_cast<Clock::duration>(secs)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return buf;
}

std::string stamp_local(Clock::time_point t) {
  std::tm tm = local_tm(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
  return buf;
}

}  // namespace hs
