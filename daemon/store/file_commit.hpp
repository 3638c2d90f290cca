// The commit protocol: putting a new state.json in place without ever
// writing over another writer's save (docs/STATE.md, "Other writers" and
// "Durability and order"). Touches files only, no store state: it runs on
// the Sequencer's writer thread.
//
// Exchange (Linux, renameat2(RENAME_EXCHANGE)):
//  1. write the new file under a name of ours, fsync it, keep its descriptor,
//     and give it its swap name (temp_files.hpp);
//  2. look at state.json (stat): still the file expected? If not, stop:
//     another writer's save is there to be reloaded first;
//  3. swap the new file with state.json in one step (RENAME_NOREPLACE when
//     no state.json is expected): a save that lands between 2 and 3 is not
//     replaced but displaced, to our name;
//  4. look at what was displaced: the file expected (same device, inode,
//     size, mtime; ctime moves with every rename), or another writer's;
//  5. if another's, swap it straight back (state.json is without it for
//     microseconds, not for a whole write) and stop: the caller reloads it,
//     applies its batch again and commits again;
//  6. fsync the directory, then remove the displaced old file.
// A crash anywhere leaves names that start-up sorts out (temp_files.hpp).
//
// Check (where the file system refuses the exchange: EINVAL; or built
// without it): steps 1 and 2, then rename(2) over state.json. Only a save
// that lands between the check and the rename (microseconds) can be lost.
//
// Either way the identity of the file put in place is taken with fstat on
// its own descriptor, never by a second stat of the path.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_stat.hpp"
#include "common/result.hpp"
#include "daemon/store/disk_file.hpp"

namespace hs::daemon::store {

struct FileCommit {
  std::string path;                // state.json
  std::string_view text;           // its new content
  const KeptFile* expect = nullptr;  // what state.json must still be; null: no state.json
  bool exchange = true;            // try RENAME_EXCHANGE (false: the check)
};

struct FileCommitInfo {
  /// state.json holds the new file (a failure after that can only be the
  /// directory fsync, in check mode; exchange mode swaps the old one back).
  bool placed = false;
  /// Stopped because state.json is another writer's file; nothing of ours
  /// is in place. The error is Errc::busy.
  bool changed = false;
  /// The file system refused the exchange; this commit used the check, and
  /// later ones should too.
  bool exchange_refused = false;
  /// The new file, when placed.
  std::shared_ptr<KeptFile> written;
  /// The expected file's identity now, when it is back in place after swaps
  /// that moved its ctime.
  std::optional<FileStat> expect_now;
  /// What was done that a person should hear of (an outside save kept aside).
  std::vector<std::string> warnings;
};

/// Puts `c.text` in place as state.json, durably (see above).
Status commit_file(const FileCommit& c, FileCommitInfo* info);

/// Whether the file system of `dir` swaps names (RENAME_EXCHANGE): tried
/// on two new files of ours, removed after.
bool exchange_works(const std::string& dir);

}  // namespace hs::daemon::store
