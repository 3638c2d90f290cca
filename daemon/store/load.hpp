// Reading state.json back (docs/STATE.md, "Reading it back"): missing, unreadable,
// legacy cc2all, newer schema, and what an interrupted write left. At run
// time an unreadable file is never moved aside ("Saves in place").
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "daemon/store/disk_file.hpp"

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
  /// The file read, with its identity from its own descriptor; null when
  /// there was none or it was moved aside.
  std::shared_ptr<KeptFile> file;
  /// In layout 2, a version 1 file's `accounts` as the move to version 2
  /// makes it (a copy of all its targets), made where the file was read,
  /// off the event loop (StateStore::prepare_layout); nullopt: not needed.
  std::optional<boost::json::object> v2_accounts;
};

/// At start, no other daemon is live and anything unreadable is backed up;
/// at run time, another writer may be halfway through its save.
enum class LoadMode { start, run_time };

/// The empty document: {"version": 1, "targets": {}}.
boost::json::object empty_document();

/// Why `doc` (a parsed state file with an integer version) cannot be used,
/// or nullopt when it can.
std::optional<std::string> why_unusable(const boost::json::object& doc);

/// Moves `path` aside to "<path>.bak.<stamp>", or "<path>.bak.<stamp>.N" when
/// that is taken; never replaces an existing file. Returns the new path.
Result<std::string> move_to_backup(const std::string& path, Clock::time_point now);

/// Loads <dir>/state.json by the rules of docs/STATE.md. Errc::unsupported when
/// its version is above kMaxSchemaVersion (the file is left untouched).
/// LoadMode::start first sorts out what an interrupted write left
/// (recover_temp_files, temp_files.hpp; REQUIRES the instance lock) and backs
/// up an unreadable file. LoadMode::run_time touches nothing: an unreadable
/// file (or one that changed while it was read and does not parse) is
/// Errc::corrupt, naming the file and why, and stays as it is.
Result<Loaded> load_state(const std::string& dir, Clock::time_point now, LoadMode mode = LoadMode::start);

}  // namespace hs::daemon::store
