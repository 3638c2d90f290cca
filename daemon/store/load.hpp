// Reading state.json back (docs/STATE.md, "Reading it back"): missing, unreadable,
// legacy cc2all, newer schema, and stray temp files.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace hs::daemon::store {

inline constexpr const char* kStateFileName = "state.json";
/// The newest schema this build reads and writes.
inline constexpr int64_t kMaxSchemaVersion = 2;

struct Loaded {
  boost::json::object doc;
  std::vector<std::string> warnings;  // one line each: backups made, migrations, sweeps
  /// True when `doc` was made here rather than read: the file was missing,
  /// unreadable (backed up), or cc2all's (wrapped).
  bool fresh = false;
  /// True when state.json was unreadable and moved to a backup: the path
  /// then holds nothing.
  bool moved_aside = false;
};

/// The empty document: {"version": 1, "targets": {}}.
boost::json::object empty_document();

/// Why `doc` (a parsed state file with an integer version) cannot be used,
/// or nullopt when it can.
std::optional<std::string> why_unusable(const boost::json::object& doc);

/// Removes temp files an interrupted write left in `dir`: ours
/// ("state.json.tmp.*") and HarnessSync's (tempfile's "tmpXXXXXXXX.tmp").
/// REQUIRES: the caller holds the instance lock, so no writer is live.
Status sweep_temp_files(const std::string& dir, std::vector<std::string>& warnings);

/// Moves `path` aside to "<path>.bak.<stamp>", or "<path>.bak.<stamp>.N" when
/// that is taken; never replaces an existing file. Returns the new path.
Result<std::string> move_to_backup(const std::string& path, Clock::time_point now);

/// Loads <dir>/state.json by the rules of docs/STATE.md. Errc::unsupported when
/// its version is above kMaxSchemaVersion (the file is left untouched).
/// `sweep` removes stray temp files first; only at start, when no other
/// writer can be live (a reload while another process may be in the middle
/// of its own temp-then-rename write passes false).
Result<Loaded> load_state(const std::string& dir, Clock::time_point now, bool sweep = true);

}  // namespace hs::daemon::store
