// One run of a trigger as trigger.log shows it, and the notifications that
// announce it (docs/PROTOCOL.md, "Triggers").
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace hs::daemon::triggers {

/// What trigger.finished carries of each stream: its last 2 KiB.
inline constexpr size_t kOutputTailBytes = 2048;

struct RunRecord {
  uint64_t run = 0;       // 1, 2, ... since the trigger was set
  std::string started;    // ISO local time
  std::optional<std::string> ended;
  std::optional<int> exit_code;  // nullopt: killed by a signal, never started, or still running
  std::optional<int> signal;     // the signal that ended it
  bool timed_out = false;
  bool coalesced = false;        // covered by a waiting caller: did not start
  std::optional<int64_t> changed;  // paths on its stdin; nullopt: "*" (unknown)
  int64_t duration_ms = 0;
  std::string stdout_tail;       // its last 64 KiB (valid UTF-8)
  std::string stderr_tail;

  bool operator==(const RunRecord&) const = default;
};

/// {"run", "started", "ended", "exit_code", "signal", "timed_out",
/// "coalesced", "changed", "duration_ms"} plus "output": {"stdout",
/// "stderr"} when `with_output`.
boost::json::object to_json(const RunRecord& r, bool with_output);
/// The inverse of to_json (output included when present); an error in
/// words when a member is missing or of the wrong type.
Result<RunRecord> run_from_json(const boost::json::value& v);

/// trigger.started's params: {"name", "run", "changed"}.
boost::json::object started_notice(const std::string& name, const RunRecord& r);
/// trigger.finished's params: {"name", "run", "exit_code", "signal",
/// "timed_out", "coalesced", "duration_ms", "output_tail": {"stdout",
/// "stderr"}} (the last 2 KiB of each).
boost::json::object finished_notice(const std::string& name, const RunRecord& r);

/// The last `max` bytes of `s`, cut so as not to start inside a UTF-8
/// sequence.
std::string utf8_tail(const std::string& s, size_t max);
/// `s` with every byte that is not part of valid UTF-8 replaced by U+FFFD:
/// a command's output may be anything, a JSON string may not.
std::string sanitize_utf8(const std::string& s);

}  // namespace hs::daemon::triggers
