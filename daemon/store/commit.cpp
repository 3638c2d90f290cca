// StateStore: making the applied changes durable (begin_commit, write,
// end_commit), and taking in another writer's state.json (look_at_disk,
// adopt, reload); docs/STATE.md, "Durability and order" and "Other
// writers". The protocol on disk is file_commit.cpp. The one-call forms
// (record(), ...) apply, commit, and on a conflict reload and apply again,
// as the daemon's Sequencer does.
#include "common/fs.hpp"
#include "daemon/store/json_text.hpp"
#include "daemon/store/state_store.hpp"

namespace hs::daemon::store {
namespace json = boost::json;

PendingWrite StateStore::begin_commit() const { return {state_path_, &doc_, disk_.get(), exchange_}; }

Status StateStore::write(const PendingWrite& w, WriteInfo* info) {
  const std::string text = to_state_text(*w.doc);
  return commit_file(FileCommit{w.path, text, w.expect, w.exchange}, info);
}

Status StateStore::end_commit(const Status& outcome, const WriteInfo& info) {
  // A file system that refused the exchange refuses it from now on.
  if (info.exchange_refused) exchange_ = false;
  Status restored;
  if (outcome) {
    log_.clear();
    disk_ = info.written;
  } else {
    log_.rollback(doc_);
    if (info.expect_now && disk_) disk_->id = *info.expect_now;
    if (info.placed && info.written) {
      // Check mode, and the directory fsync failed after the rename:
      // state.json holds the changes we are about to report as not
      // applied. Put the last durable content back. If even that fails to
      // replace the file, disk and memory disagree. (If only its directory
      // fsync fails, the content matches memory again, which is what
      // matters here.) If another process's save replaced our file
      // meanwhile, nothing of ours is in state.json to take back: that
      // save stands, as any other writer's, and is reloaded (the caller
      // looks at the disk after a failed write); never written over.
      disk_ = info.written;
      const std::string text = to_state_text(doc_);
      WriteInfo back;
      Status s = commit_file(FileCommit{state_path_, text, disk_.get(), /*exchange=*/false}, &back);
      if (back.placed) disk_ = back.written;
      if (!s && !back.placed && !back.changed) restored = s;
    }
  }
  pending_ = false;
  ++generation_;
  return restored;
}

Status StateStore::commit_once(bool* changed) {
  *changed = false;
  if (!pending()) return {};
  WriteInfo info;
  Status s = write(begin_commit(), &info);
  *changed = info.changed;
  if (Status r = end_commit(s, info); !r) return r;
  return s;
}

Status StateStore::commit() {
  bool changed = false;
  return commit_once(&changed);
}

std::optional<FileStat> StateStore::disk_identity() const {
  return disk_ ? std::optional<FileStat>(disk_->id) : std::nullopt;
}

Result<bool> StateStore::changed_on_disk() const {
  HS_TRY_ASSIGN(const std::optional<FileStat> now, stat_if_exists(state_path_));
  return !(now == disk_identity());
}

LookRequest StateStore::begin_look() const {
  return {opts_.dir, disk_identity(), opts_.now(), opts_.schema, std::nullopt};
}

DiskLook StateStore::look_at_disk(const LookRequest& r) {
  DiskLook out;
  auto seen = stat_if_exists(fs::join(r.dir, kStateFileName));
  if (!seen) {
    out.loaded = std::move(seen).error();
    return out;
  }
  out.seen = *seen;
  out.unchanged = *seen == r.expect;
  // The same unparsable file (an in-place writer not done, or gone): a
  // stat, not a read of what may be 100 MB, for each look at it.
  out.still_unparsable = !out.unchanged && r.unparsable && *seen == r.unparsable;
  if (!out.unchanged && !out.still_unparsable) {
    out.loaded = load_state(r.dir, r.now, LoadMode::run_time);
    if (out.loaded) prepare_layout(*out.loaded, r.schema);
  }
  return out;
}

json::object StateStore::adopt(Loaded loaded, std::vector<std::string>* warnings) {
  if (warnings != nullptr) warnings->insert(warnings->end(), loaded.warnings.begin(), loaded.warnings.end());
  // Moved out first, then in: a move assignment would free the old
  // document here.
  json::object previous = std::move(doc_);
  doc_ = std::move(loaded.doc);
  log_.clear();
  pending_ = false;
  disk_ = std::move(loaded.file);
  ++generation_;
  settle_layout(loaded, warnings);
  return previous;
}

Status StateStore::reload(std::vector<std::string>* warnings) {
  DiskLook look = look_at_disk(begin_look());
  if (look.unchanged) return {};
  if (!look.loaded) return std::move(look.loaded).error();
  (void)adopt(std::move(*look.loaded), warnings);
  return commit();
}

template <class T, class F>
Result<T> StateStore::apply_and_commit(F&& apply) {
  // Another process may keep changing the file; give up after a few rounds
  // rather than loop (each round's changes were rolled back: nothing applied).
  for (int round = 0;; ++round) {
    Result<T> r = apply();
    if (!r) return r;
    bool changed = false;
    Status s = commit_once(&changed);
    if (s) return r;
    if (!changed || round >= 8) return std::move(s).error();
    HS_TRY(reload(nullptr));
  }
}

Result<json::object> StateStore::record(const RecordArgs& a) {
  return apply_and_commit<json::object>([&] { return apply_record(a); });
}
Result<bool> StateStore::clear(const TargetRef& ref) {
  return apply_and_commit<bool>([&] { return apply_clear(ref); });
}
Result<AcceptResult> StateStore::accept(const TargetRef& ref, const std::vector<std::string>& paths) {
  return apply_and_commit<AcceptResult>([&] { return apply_accept(ref, observe_files(paths)); });
}
Result<MigrateResult> StateStore::migrate_cc2all(const std::optional<std::string>& old_dir) {
  return apply_and_commit<MigrateResult>([&] { return apply_migrate_cc2all(old_dir); });
}

}  // namespace hs::daemon::store
