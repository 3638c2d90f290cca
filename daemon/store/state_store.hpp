// StateStore: the one owner of state.json (docs/STATE.md). Synchronous, single
// threaded, and unaware of sockets.
//
// Changes happen in two steps so that many can share one durable write
// (group commit):
//   apply_*()        validate, then change the in-memory document only;
//   begin_commit()   take everything applied since the last commit;
//   write()          encode it and make it durable (reads the document and
//                    touches no store state, so it may run on another thread
//                    while nothing changes the document);
//   end_commit(s)    on success the applied changes become the durable state;
//                    on failure memory returns to the last durable state, by
//                    undoing the changes (undo_log.hpp): no copy of the
//                    document is ever made.
// Each caller is answered with the outcome of the write that holds its
// change. The one-call forms (record(), clear(), ...) do all four steps.
//
// state_store.cpp holds the document edits; commit.cpp the commit and
// reload steps, file_commit.cpp the protocol on disk (temp_files.cpp its
// names, and start-up after a crash); sections.cpp and layout.cpp
// HarnessSync's sections and layout 2.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/file_stat.hpp"
#include "common/instance_lock.hpp"
#include "common/result.hpp"
#include "daemon/store/disk_file.hpp"
#include "daemon/store/drift.hpp"
#include "daemon/store/file_commit.hpp"
#include "daemon/store/load.hpp"
#include "daemon/store/undo_log.hpp"

namespace hs::daemon::store {

struct StoreOptions {
  std::string dir;                              // the state dir; created 0700 when missing
  NowFn now = [] { return Clock::now(); };      // tests substitute a fixed clock
  std::optional<std::string> cc2all_dir;        // default old dir for migrate_cc2all (~/.cc2all)
  int schema = 1;                               // layout for new documents: 1 or 2 (layout.cpp)
};

/// A target's place: the top-level `targets`, or `accounts.<account>.targets`.
struct TargetRef {
  std::string target;
  std::optional<std::string> account;
};

struct RecordArgs {
  TargetRef ref;
  std::string scope;
  boost::json::object file_hashes;   // {path: hash}
  boost::json::object sync_methods;  // {path: method}
  int64_t synced = 0;
  int64_t skipped = 0;
  int64_t failed = 0;
};

struct AcceptResult {
  std::vector<std::string> updated;  // paths whose current hash is now the baseline
  std::vector<std::string> removed;  // paths dropped from file_hashes (file gone)
  boost::json::object to_json() const;
};

/// A file as accept sees it: its SHA-256 now, or gone, or unreadable.
struct Observed {
  std::string path;
  std::optional<std::string> hash;        // set when the file exists and was read
  std::optional<std::string> unreadable;  // why, when it exists but cannot be read
};

/// Hashes `paths` for accept. Touches no store state: thread-safe, so a
/// caller can run it away from the store's thread and pass the result in.
std::vector<Observed> observe_files(const std::vector<std::string>& paths);

/// A health score entry to append (health.record). `score` is a JSON number.
struct HealthArgs {
  std::string target;
  boost::json::value score;
  std::string label;
};

struct MigrateResult {
  bool migrated = false;
  std::optional<std::string> last_sync;  // the cc2all last_sync copied, if any
  boost::json::object to_json() const;
};

/// A commit to make durable, from begin_commit(): the document itself, not
/// a copy. REQUIRES: nothing changes it until end_commit() (the daemon's
/// Sequencer holds every change back while a write is in flight), so that
/// write() may encode it on another thread.
struct PendingWrite {
  std::string path;
  const boost::json::object* doc = nullptr;
  /// state.json as the store last wrote or loaded it (null: none); owned by
  /// the store, unchanged until end_commit(). The write never replaces
  /// another file (docs/STATE.md, "Other writers"; file_commit.hpp).
  const KeptFile* expect = nullptr;
  bool exchange = true;  // swap by RENAME_EXCHANGE, else the check
};

/// What a write() did besides its outcome (file_commit.hpp): `placed`,
/// `changed` (stopped: another process's file is in state.json, to be
/// reloaded), `exchange_refused`, the file `written`.
using WriteInfo = FileCommitInfo;

/// What state.json is now, looked at away from the store's thread (the
/// Sequencer's writer thread) for a reload.
struct DiskLook {
  /// stat of state.json as found (nullopt: missing).
  std::optional<FileStat> seen;
  /// True when that is the file the store expects: nothing to reload.
  bool unchanged = false;
  /// True when that is LookRequest::unparsable: not read again, it still
  /// does not parse (`loaded` is then not to be used).
  bool still_unparsable = false;
  /// Otherwise the file read by the run-time load rules: an unreadable one
  /// is Errc::corrupt and left as it is.
  Result<Loaded> loaded = Loaded{};
};
struct LookRequest {
  std::string dir;
  std::optional<FileStat> expect;
  Clock::time_point now;
  int schema = 1;  // StoreOptions::schema
  /// A file found not to parse before: the same file again is not read.
  std::optional<FileStat> unparsable;
};

class StateStore {
 public:
  /// Creates the dir (0700), takes the single-writer lock (Errc::busy when a
  /// daemon runs), sweeps temp files and loads state.json. Errc::unsupported
  /// for a schema version above 2. `warnings` gets one line per recovery step.
  static Result<std::unique_ptr<StateStore>> open(StoreOptions opts,
                                                  std::vector<std::string>* warnings = nullptr);

  const std::string& dir() const { return opts_.dir; }
  const std::string& state_path() const { return state_path_; }

  // ---- Reads: of memory, which includes changes applied but not yet
  // committed; callers that must not show those (the daemon) read only when
  // none are pending.

  /// The whole document.
  const boost::json::object& document() const { return doc_; }
  /// Changes whenever the durable document may have changed (each commit,
  /// and each reload): a cache of anything derived from document() is
  /// valid while this stays the same.
  uint64_t generation() const { return generation_; }
  /// The target's entry, or null when it has none.
  const boost::json::object* find_entry(const TargetRef& ref) const;
  /// Drift against caller-supplied hashes (see drift.hpp).
  Result<DriftReport> drift(const TargetRef& ref, const boost::json::object& current) const;
  /// Drift against the files on disk (see drift.hpp).
  Result<DriftReport> drift_on_disk(const TargetRef& ref) const;

  // ---- Layout 2 (layout.cpp).
  /// The layout in force: 2 when StoreOptions::schema is 2 or the document
  /// is version 2 (a file already in layout 2 is followed), else 1.
  int layout() const;

  // ---- HarnessSync's other sections (sections.cpp).
  /// accounts.<account> as stored, or null when there is none.
  const boost::json::object* find_account(std::string_view account) const;
  /// The names in `accounts`, sorted.
  std::vector<std::string> account_names() const;
  /// The stored plugins (top level, or the account's); {} when none.
  boost::json::object plugins(const std::optional<std::string>& account) const;
  /// {name: reason} of `current` against the stored plugins (STATE.md).
  Result<boost::json::object> plugin_drift(const boost::json::object& current,
                                           const std::optional<std::string>& account) const;
  /// The top-level global_dry_run; false when absent or not a boolean.
  bool dry_run() const;
  /// The last `n` (1..90) health entries of `target`, oldest first.
  Result<boost::json::array> health_history(const std::string& target, int64_t n) const;

  // ---- Changes to memory. Each validates first and changes nothing on error.

  /// Replaces the entry; returns it with "target" added.
  Result<boost::json::object> apply_record(const RecordArgs& args);
  /// Removes the entry; false (and nothing to write) when there was none.
  Result<bool> apply_clear(const TargetRef& ref);
  /// Takes the observed files as the baseline for their paths. Errc::invalid_argument
  /// for an untracked target or a file that exists but cannot be read.
  Result<AcceptResult> apply_accept(const TargetRef& ref, const std::vector<Observed>& files);
  /// Copies <old>/sync-state.json's last_sync (old: the argument, else
  /// StoreOptions::cc2all_dir, else ~/.cc2all). The old dir is never touched.
  Result<MigrateResult> apply_migrate_cc2all(const std::optional<std::string>& old_dir);
  /// Replaces the whole plugins object (top level, or accounts.<account>);
  /// nothing else changes. Returns how many plugins it holds.
  Result<size_t> apply_plugins(const boost::json::object& plugins, const std::optional<std::string>& account);
  /// Sets the top-level global_dry_run.
  Result<bool> apply_dry_run(bool enabled);
  /// Appends {timestamp, score clamped to 0..100, label} to
  /// health_score_history.<target>, keeping the last 90; returns the entry.
  Result<boost::json::object> apply_health(const HealthArgs& args);

  // ---- Commit (see the top of this file).

  /// True when changes were applied since the last commit.
  bool pending() const { return pending_; }
  /// REQUIRES: pending(). The document as it is now, to be written.
  PendingWrite begin_commit() const;
  /// Encodes `w` and makes it durable by the commit protocol
  /// (file_commit.hpp). Touches no store state but reads the document: may
  /// run on another thread while the store's thread only reads too. If
  /// another process's file is in state.json, it stops with info->changed
  /// set and nothing of ours in place: the caller reloads and applies again.
  static Status write(const PendingWrite& w, WriteInfo* info = nullptr);
  /// REQUIRES: pending(). Ends the commit begun with the state as it is now.
  /// On a failed write memory returns to the last durable state; if the
  /// file had already been replaced (check mode: only its directory fsync
  /// failed), its last durable content is written back, so that disk and
  /// memory agree again. Returns an error only when that restore could not
  /// replace the file either: disk and memory then differ and the caller
  /// must not go on (the daemon exits and reloads). On success the file
  /// written becomes the one expected by the next write.
  Status end_commit(const Status& outcome, const WriteInfo& info = {});
  /// All of the above; a no-op when nothing is pending.
  Status commit();

  // ---- Other writers (docs/STATE.md, "Other writers").

  /// How a write keeps from replacing another writer's save: "exchange"
  /// (RENAME_EXCHANGE, then a look at what was displaced) or "check" (the
  /// identity check right before a rename), where the file system refuses
  /// the exchange or the build lacks it (HS_PORTABLE).
  const char* other_writers() const { return exchange_ ? "exchange" : "check"; }
  /// state.json as the store last wrote or loaded it (nullopt: none).
  std::optional<FileStat> disk_identity() const;
  /// The open file behind disk_identity(). Once state.json is another file,
  /// this descriptor is often the old file's last reference, and closing it
  /// frees all of its blocks (tens of ms for 100 MB): a caller with an event
  /// loop takes a reference before a commit or adopt and lets go of it
  /// elsewhere.
  const std::shared_ptr<KeptFile>& kept_file() const { return disk_; }
  /// True when state.json is no longer that file: another process wrote it.
  Result<bool> changed_on_disk() const;
  /// What a look at the disk needs; taken on the store's thread.
  LookRequest begin_look() const;
  /// Stats state.json and, when it is not the file expected, reads it by
  /// the run-time load rules. Touches no store state: runs anywhere.
  static DiskLook look_at_disk(const LookRequest& r);
  /// REQUIRES: !pending(). Takes in a document read by look_at_disk (or
  /// load_state) as the state, and the file it came from as the one
  /// expected. In layout 2 a version 1 file is moved to version 2: that
  /// leaves changes pending, for the caller to commit. Returns the previous
  /// document, for the caller to free where that costs nothing (freeing a
  /// 100 MB document takes a good part of a second: the Sequencer does it
  /// on its writer thread, not on the event loop).
  [[nodiscard]] boost::json::object adopt(Loaded loaded, std::vector<std::string>* warnings);
  /// In layout 2, does the costly part of moving a version 1 file to
  /// version 2 (copying its targets into `accounts`) where it was read
  /// (layout.cpp). Touches no store state: runs anywhere.
  static void prepare_layout(Loaded& loaded, int schema);
  /// REQUIRES: !pending(). look_at_disk, adopt and commit, here and now
  /// (the one-call forms; the daemon's Sequencer does them off its loop).
  /// On error (a newer version, an unreadable file, an I/O error) memory
  /// and the expected file stay as they were, so every later write stops at
  /// the check again: a file the daemon cannot read is never written over.
  Status reload(std::vector<std::string>* warnings);

  // ---- One-call forms: apply, then commit. If another process changed
  // state.json, they reload and apply again (as the daemon's Sequencer does). On error, memory and disk are
  // exactly as before the call.
  Result<boost::json::object> record(const RecordArgs& args);
  Result<bool> clear(const TargetRef& ref);
  Result<AcceptResult> accept(const TargetRef& ref, const std::vector<std::string>& paths);
  Result<MigrateResult> migrate_cc2all(const std::optional<std::string>& old_dir);

 private:
  StateStore(StoreOptions opts, InstanceLock lock, boost::json::object doc);
  /// Sets a top-level member through the undo log, placing a new one where
  /// docs/STATE.md shows it.
  void set_top_level(std::string_view key, boost::json::value v);
  // Every change made by the sections and layout code goes through this,
  // and so through the undo log: `key` of the object at `at`.
  void set_member(const KeyPath& at, std::string_view key, boost::json::value v);
  /// In layout 2, makes the document version 2 with `accounts` before a change.
  void keep_layout();
  /// Settles a loaded document into the layout (layout.cpp); a version 1
  /// file in layout 2 is left with its move pending.
  void settle_layout(Loaded& loaded, std::vector<std::string>* warnings);
  template <class T, class F>
  Result<T> apply_and_commit(F&& apply);
  Status commit_once(bool* changed);

  StoreOptions opts_;
  InstanceLock lock_;
  std::string state_path_;
  boost::json::object doc_;                          // memory: durable + pending
  UndoLog log_;                                      // how to get back to the last durable state
  bool pending_ = false;                             // changes applied since the last commit
  uint64_t generation_ = 0;
  std::shared_ptr<KeptFile> disk_;                   // state.json as we last wrote or loaded it
  bool exchange_ = true;                             // other_writers(): exchange, else check
};

}  // namespace hs::daemon::store
