// The store's own files beside state.json, by names no other writer uses
// (docs/STATE.md, "Other writers"), and what start-up does with those an
// interrupted daemon left behind.
//
//   state.json.harnesssyncd-new.XXXXXX        a new state.json being written;
//                                             never yet in place
//   state.json.harnesssyncd-swap.<E>.<O>      the same file, about to be
//                                             swapped with state.json by
//                                             RENAME_EXCHANGE; after the swap,
//                                             the name holds what state.json
//                                             held
//   state.json.tmp.XXXXXX                     what earlier daemons named the first
//   state.json.displaced.<stamp>[.N]          an outside save that could not be
//                                             put back in state.json; kept, like
//                                             a backup, never deleted
//
// <E> is the file state.json was expected to be (inode-size-mtime_ns, as
// the store last wrote or loaded it) and <O> the inode of the new file. So
// after a crash, whatever a swap name holds tells which it is: the new file
// (inode O: never placed, or put back), the expected old one (E: the swap
// went through), or anything else: another writer's save, displaced by the
// swap in the microseconds before the daemon put it back.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/file_stat.hpp"
#include "common/result.hpp"

namespace hs::daemon::store {

/// Whether `name` (a file name in the state dir) is one of the store's
/// transient files: a new state.json being written, or its swap name.
bool is_transient_name(std::string_view name);

/// mkostemp(3) template for a new state.json in `dir`.
std::string new_temp_template(const std::string& dir);
/// The swap name for a new file of inode `own`, when state.json is expected
/// to be `expect`.
std::string swap_name(const std::string& dir, const FileStat& expect, uint64_t own);

/// Moves `from` to "<dir>/<base>.<stamp>" (".N" appended when taken); never
/// replaces a file. Returns the new path.
Result<std::string> keep_aside(const std::string& from, const std::string& dir, const std::string& base,
                               Clock::time_point now);

/// At start-up, under the instance lock (no other daemon is live): removes
/// the new and swap files an interrupted daemon left, and puts back an
/// outside save that a swap displaced: over state.json when state.json is
/// that swap's new file (its changes were never acknowledged), else kept as
/// state.json.displaced.<stamp>. Other writers' files (HarnessSync's
/// tmpXXXXXXXX.tmp, anything else) are never touched. One warning per file.
Status recover_temp_files(const std::string& dir, Clock::time_point now, std::vector<std::string>& warnings);

}  // namespace hs::daemon::store
