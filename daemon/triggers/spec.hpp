// A trigger's definition (docs/PROTOCOL.md, "Triggers"): what trigger.set
// takes and trigger.list shows, checked field by field. The same check
// reads triggers.json back, so a hand-edited file is held to the rules of
// the protocol.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace hs::daemon::triggers {

inline constexpr size_t kMaxWatch = 256;
inline constexpr int64_t kDefaultSettleMs = 300;
inline constexpr int64_t kMaxSettleMs = 60000;
inline constexpr int64_t kDefaultMaxWaitMs = 3000;
inline constexpr int64_t kDefaultTimeoutMs = 600000;
/// Durations past this (about 34 years) are refused: they would overflow
/// the clock's arithmetic.
inline constexpr int64_t kMaxDurationMs = int64_t{1} << 40;
inline constexpr const char* kDefaultLock = "sync";

struct Spec {
  std::string name;
  std::vector<std::string> watch;    // absolute; a directory covers its whole tree
  std::vector<std::string> command;  // argv; command[0] absolute (resolved when set)
  std::string cwd;                   // absolute
  std::map<std::string, std::string> env;
  int64_t settle_ms = kDefaultSettleMs;
  int64_t max_wait_ms = kDefaultMaxWaitMs;
  std::optional<std::string> lock = std::string(kDefaultLock);  // nullopt: none
  int64_t timeout_ms = kDefaultTimeoutMs;
  bool enabled = true;

  bool operator==(const Spec&) const = default;
};

/// What checking a spec needs from the file system, so that the rules can
/// be tested without it, and run off the event loop.
struct SpecChecks {
  /// Where the command's name is found: an absolute path for an absolute
  /// `argv0` that is an executable file, or `argv0` looked up on the
  /// daemon's PATH; an error in words otherwise.
  std::function<Result<std::string>(const std::string& argv0)> find_command;
  /// Why `dir` is not a directory the daemon can enter, or nullopt.
  std::function<std::optional<std::string>(const std::string& dir)> dir_problem;
};

/// The spec trigger.set's `params` describe, with defaults filled in
/// (`cwd`: `default_cwd`). Every problem is Errc::invalid_argument naming
/// the field. Without `checks` (reading triggers.json back), the command
/// and cwd are taken as stored.
Result<Spec> parse_spec(const boost::json::object& params, const std::string& default_cwd,
                        const SpecChecks* checks);

/// The definition's members of a trigger.list entry.
boost::json::object to_json(const Spec& s);

/// The SpecChecks of the real file system: the daemon's PATH (`path_env`,
/// as $PATH) and access(2).
SpecChecks system_checks(std::string path_env);

}  // namespace hs::daemon::triggers
