// StateStore: making the applied changes durable (begin_commit, write,
// end_commit), and taking in another writer's state.json (changed_on_disk,
// reload); docs/STATE.md, "Durability and order" and "Other writers". The
// one-call forms (record(), ...) apply, commit, and on a conflict reload and
// apply again, as the daemon's Sequencer does.
#include "common/durable_file.hpp"
#include "daemon/store/json_text.hpp"
#include "daemon/store/load.hpp"
#include "daemon/store/state_store.hpp"

namespace hs::daemon::store {
namespace json = boost::json;

PendingWrite StateStore::begin_commit() const { return {state_path_, &doc_, disk_id_}; }

Status StateStore::write(const PendingWrite& w, WriteInfo* info) {
  WriteInfo local;
  WriteInfo& out = info != nullptr ? *info : local;
  out = WriteInfo{};
  // The check is the last step before the rename, after the encoding and
  // the temp file's fsync (milliseconds): only a write that lands between
  // it and the rename (microseconds) can still be written over.
  auto check = [&]() -> Status {
    HS_TRY_ASSIGN(const std::optional<FileStat> now, stat_if_exists(w.path));
    if (now == w.expect) return {};
    out.changed = true;
    Error e;
    e.code = Errc::busy;
    e.op = "check";
    e.path = w.path;
    e.detail = "changed by another process (expected " + describe(w.expect) + ", found " + describe(now) + ")";
    return e;
  };
  // Taken right after our rename, before the directory fsync: a write by
  // someone else after this point differs from it and is noticed.
  auto note = [&] {
    auto now = stat_if_exists(w.path);
    out.written = now ? *now : std::nullopt;
  };
  return replace_file_durably(w.path, to_state_text(*w.doc), 0600, &out.renamed, check, note);
}

Status StateStore::end_commit(const Status& outcome, const WriteInfo& info) {
  Status restored;
  if (outcome) {
    log_.clear();
    disk_id_ = info.written;
  } else {
    log_.rollback(doc_);
    if (info.renamed) {
      // state.json holds the changes we are about to report as not applied:
      // put the last durable content back. If even that rename fails, disk
      // and memory disagree. (If only its directory fsync fails, the content
      // matches memory again, which is what matters here.)
      bool back = false;
      std::optional<FileStat> written;
      Status s = replace_file_durably(state_path_, to_state_text(doc_), 0600, &back, {}, [&] {
        auto now = stat_if_exists(state_path_);
        written = now ? *now : std::nullopt;
      });
      if (back) disk_id_ = written;
      if (!s && !back) restored = s;
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

std::optional<FileStat> StateStore::loaded_identity(const std::optional<FileStat>& before, bool moved_aside) {
  // A file moved to a backup leaves nothing behind: the next write expects
  // none (and finds one, and reloads, if someone wrote a new one meanwhile).
  return moved_aside ? std::nullopt : before;
}

Result<bool> StateStore::changed_on_disk() const {
  HS_TRY_ASSIGN(const std::optional<FileStat> now, stat_if_exists(state_path_));
  return !(now == disk_id_);
}

Status StateStore::reload(std::vector<std::string>* warnings) {
  HS_TRY_ASSIGN(const std::optional<FileStat> before, stat_if_exists(state_path_));
  HS_TRY_ASSIGN(auto loaded, load_state(opts_.dir, opts_.now(), /*sweep=*/false));
  if (warnings != nullptr) warnings->insert(warnings->end(), loaded.warnings.begin(), loaded.warnings.end());
  doc_ = std::move(loaded.doc);
  log_.clear();
  pending_ = false;
  disk_id_ = loaded_identity(before, loaded.moved_aside);
  ++generation_;
  return settle_layout(loaded.fresh, warnings);
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
