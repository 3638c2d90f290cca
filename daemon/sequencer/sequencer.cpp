#include "daemon/sequencer/sequencer.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <algorithm>
#include <cstdlib>

#include "common/log.hpp"
#include "proto/wire_json.hpp"

namespace hs::daemon::sequencer {
namespace asio = boost::asio;
namespace {

// The write's own error (Errc::os from the failing step), as the kind the
// rpc layer tells apart from the change's own errors.
Error write_failed_error(const Error& e) {
  Error w = e;
  w.code = Errc::write_failed;
  return w;
}

}  // namespace

struct Sequencer::Slot {
  bool ready = false;
  Apply apply;  // a change ...
  Done done;
  ChangeNote note;
  Read read;    // ... or a read
  bool check = false;  // ... or check_disk()
};

Sequencer::Sequencer(asio::io_context& io, store::StateStore& store)
    : io_(io), store_(store), gather_timer_(io) {}

Sequencer::~Sequencer() { writer_.join(); }

void Sequencer::mutate(Apply apply, Done done, ChangeNote note) {
  fill(reserve(), std::move(apply), std::move(done), std::move(note));
}

std::shared_ptr<Sequencer::Slot> Sequencer::reserve() {
  auto s = std::make_shared<Slot>();
  queue_.push_back(s);
  return s;
}

void Sequencer::fill(const std::shared_ptr<Slot>& slot, Apply apply, Done done, ChangeNote note) {
  slot->apply = std::move(apply);
  slot->done = std::move(done);
  slot->note = std::move(note);
  slot->ready = true;
  pump();
}

void Sequencer::read(Read run) {
  auto s = std::make_shared<Slot>();
  s->ready = true;
  s->read = std::move(run);
  queue_.push_back(std::move(s));
  pump();
}

void Sequencer::read_text(std::function<void(proto::JsonText)> run) {
  read([this, run = std::move(run)](const store::StateStore& s) mutable {
    if (text_ && text_generation_ == s.generation()) return run(text_);
    text_waiters_.push_back(std::move(run));
    // Already in flight: for this same version, since no change runs meanwhile.
    if (serializing_) return;
    serializing_ = true;
    // Serializing 180 MB takes seconds: not on the loop. The document stays
    // as it is until finish_text(), because pump() applies no change while
    // serializing_ is set.
    asio::post(writer_, [this, doc = &s.document(), gen = s.generation(), guard = asio::make_work_guard(io_)]() mutable {
      auto text = std::make_shared<const std::string>(proto::to_wire_json(*doc));
      asio::post(io_, [this, text = std::move(text), gen, guard = std::move(guard)]() mutable {
        finish_text(std::move(text), gen);
      });
    });
  });
}

void Sequencer::finish_text(proto::JsonText text, uint64_t generation) {
  serializing_ = false;
  text_ = std::move(text);
  text_generation_ = generation;
  for (auto& run : std::exchange(text_waiters_, {})) run(text_);
  pump();
}

void Sequencer::check_disk() {
  if (check_queued_) return;
  check_queued_ = true;
  auto s = std::make_shared<Slot>();
  s->ready = true;
  s->check = true;
  queue_.push_back(std::move(s));
  pump();
}

Status Sequencer::reload_store() {
  std::vector<std::string> warnings;
  Status r = store_.reload(&warnings);
  for (const auto& w : warnings) log::warn(w);
  if (!r) {
    log::error("cannot reload " + store_.state_path() + ": " + r.error().message() +
               "; keeping the last state, and no change is written until the file can be read");
    return r;
  }
  // docs/STATE.md, "Other writers": subscribers hear of it (kind "reloaded").
  // The reloaded file is durable: another process put it there.
  if (on_durable_) on_durable_(ChangeNote{"reloaded", std::nullopt, std::nullopt, {}}, store_);
  return r;
}

void Sequencer::when_drained(std::function<void()> cb) {
  drained_.push_back(std::move(cb));
  pump();
}

void Sequencer::pump() {
  if (writing_) return;
  while (!queue_.empty() && queue_.front()->ready) {
    // The writer thread reads the document: changes wait, reads go on.
    if (serializing_ && !queue_.front()->read) break;
    Slot& op = *queue_.front();
    if (op.check) {
      // A reload replaces the document: like a change, never while the
      // writer thread reads it (above). Under a pending batch it is not
      // needed: that batch's write checks the file just before its rename,
      // and reloads if it changed. Dropped then, rather than waited for, so
      // that it never splits the batch (the daemon's own renames trigger a
      // check each, and it would split nearly every one).
      queue_.pop_front();
      check_queued_ = false;
      if (store_.pending()) continue;
      reload_if_changed();
      continue;
    }
    if (op.read) {
      // A read must not see the batch being built: let it go to disk first.
      if (store_.pending()) break;
      Read run = std::move(op.read);
      queue_.pop_front();
      run(store_);
      continue;
    }
    Apply apply = std::move(op.apply);
    Done done = std::move(op.done);
    ChangeNote note = std::move(op.note);
    queue_.pop_front();
    Result<boost::json::value> out = apply(store_);
    if (store_.pending()) {
      // Every answer given while a batch is pending, errors and no-ops
      // included, was computed against that batch: it waits for the write
      // so that it never describes a state that is not on disk.
      batch_.push_back(Batched{std::move(apply), std::move(done), std::move(out), std::move(note)});
    } else {
      done(std::move(out));  // nothing pending: the state it saw is durable
    }
  }
  // batch_ is non-empty only while the store has pending changes.
  if (store_.pending()) {
    schedule_write();
    return;
  }
  if (queue_.empty() && !serializing_ && !drained_.empty()) {
    for (auto& cb : std::exchange(drained_, {})) cb();
  }
}

void Sequencer::schedule_write() {
  if (batch_.size() >= gather_target_) {
    if (gathering_) gather_timer_.cancel();
    gathering_ = false;
    if (write_posted_) return;
    // Start after the handlers that are ready now (other connections'
    // requests from the same wakeup), so that they join this batch.
    write_posted_ = true;
    asio::post(io_, [this] {
      write_posted_ = false;
      if (!writing_ && store_.pending()) start_write();
    });
    return;
  }
  if (gathering_ || write_posted_) return;
  // Fewer changes than the last write carried: its writers are likely
  // sending their next ones right now. Without this wait the first of them
  // starts a write alone and the rest wait a whole write for the next, so
  // batches alternate between tiny and large (measured: 3, 29, 3, 29 with
  // 32 writers). The wait is bounded by half a write, so it never costs
  // more than it can save; a lone writer (target 1) never waits.
  gathering_ = true;
  gather_timer_.expires_after(gather_wait_);
  gather_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !gathering_) return;
    gathering_ = false;
    if (!writing_ && store_.pending()) start_write();
  });
}

void Sequencer::start_write() {
  if (gathering_) gather_timer_.cancel();
  gathering_ = false;
  writing_ = true;
  // The writer thread encodes the document itself: pump() applies no
  // change while writing_ is set, so it cannot change meanwhile.
  auto w = std::make_shared<store::PendingWrite>(store_.begin_commit());
  write_started_ = std::chrono::steady_clock::now();
  // The guard keeps io.run() from returning while the write is in flight.
  asio::post(writer_, [this, w, guard = asio::make_work_guard(io_)]() mutable {
    store::WriteInfo info;
    Status s = store::StateStore::write(*w, &info);
    asio::post(io_, [this, s = std::move(s), info, guard = std::move(guard)] { finish_write(s, info); });
  });
}

bool Sequencer::reapply_after_reload(Status* outcome) {
  // Each round's changes were rolled back and nothing of them is on disk;
  // a file that changes again and again between our check and rename
  // (which takes a writer looping flat out) fails the batch after a while
  // rather than retrying forever.
  constexpr int kMaxRounds = 16;
  log::warn(store_.state_path() + " was changed by another process; reloading it before writing " +
            std::to_string(batch_.size()) + " change(s)");
  if (++conflict_rounds_ > kMaxRounds) {
    log::error(store_.state_path() + " keeps changing under the daemon; failing the changes");
    return false;
  }
  if (Status r = reload_store(); !r) {
    *outcome = r;
    return false;
  }
  // The answers become those of the changes applied to the other writer's
  // document: a clear of a target it removed finds nothing, and so on.
  for (auto& b : batch_) b.out = b.apply(store_);
  if (store_.pending()) {
    start_write();
    return true;
  }
  // Nothing left to write (every change became a no-op or an error): the
  // reloaded state is durable, so the answers can go now.
  conflict_rounds_ = 0;
  for (auto& b : std::exchange(batch_, {})) b.done(std::move(b.out));
  pump();
  return true;
}

void Sequencer::reload_if_changed() {
  auto changed = store_.changed_on_disk();
  if (!changed) {
    log::warn("cannot check " + store_.state_path() + ": " + changed.error().message());
  } else if (*changed) {
    log::warn(store_.state_path() + " was changed by another process; reloading it");
    (void)reload_store();
  }
}

void Sequencer::finish_write(Status outcome, const store::WriteInfo& info) {
  if (Status restored = store_.end_commit(outcome, info); !restored) {
    // A double fault: the failed write had replaced state.json and putting
    // the old content back failed too. Answering or serving on from memory
    // would contradict the file; exit, and a restart reloads it from disk.
    log::error("state write failed after replacing " + outcome.error().path +
               ", and restoring it failed: " + restored.error().message() + "; exiting to reload from disk");
    std::_Exit(1);
  }
  writing_ = false;
  if (!outcome && info.changed && reapply_after_reload(&outcome)) return;
  // A write that failed before its check (no temp file, a full disk) never
  // looked at state.json, and a check dropped while its batch was pending
  // (see pump) must not be lost: look now, so that reads after this show
  // what is on disk.
  if (!outcome && !info.changed && !info.renamed) reload_if_changed();
  conflict_rounds_ = 0;
  auto batch = std::exchange(batch_, {});
  if (outcome) {
    ++writes_;
    changes_written_ += static_cast<uint64_t>(
        std::count_if(batch.begin(), batch.end(), [](const Batched& e) { return static_cast<bool>(e.out); }));
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - write_started_);
  gather_target_ = std::max<size_t>(1, batch.size());
  gather_wait_ = std::min<std::chrono::microseconds>(us / 2, std::chrono::milliseconds(1));
  if (log::enabled(log::Level::debug)) {
    log::debug("write of " + std::to_string(batch.size()) + " changes " + (outcome ? "done" : "failed") + " in " +
               std::to_string(us.count()) + " us");
  }
  if (!outcome) log::error("state write failed: " + outcome.error().message());
  for (auto& b : batch) {
    if (outcome) {
      // Decided before the answer takes the value: a noted change that
      // succeeded (and changed something) is announced once it is durable.
      const bool announce = on_durable_ && !b.note.kind.empty() && b.out &&
                            (!b.note.only_if || b.note.only_if(*b.out));
      b.done(std::move(b.out));
      if (announce) on_durable_(b.note, store_);
    } else {
      b.done(write_failed_error(outcome.error()));  // true for errors too: nothing of theirs applied
    }
  }
  pump();
}

}  // namespace hs::daemon::sequencer
