#include "daemon/sequencer/sequencer.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <algorithm>
#include <cstdlib>

#include "common/log.hpp"
#include "proto/wire_json.hpp"

namespace hs::daemon::sequencer {
namespace asio = boost::asio;

struct Sequencer::Slot {
  bool ready = false;
  Lane lane = nullptr;
  Apply apply;  // a change ...
  Done done;
  ChangeNote note;
  Read read;    // ... or a read
  bool check = false;  // ... or check_disk()
  uint64_t arrived = 0;  // a change: its place in arrivals_, once ready
};

Sequencer::Sequencer(asio::io_context& io, store::StateStore& store)
    : io_(io), store_(store), gather_timer_(io), wait_timer_(io), retry_timer_(io) {}

Sequencer::~Sequencer() { writer_.join(); }

void Sequencer::enqueue(std::shared_ptr<Slot> slot, Lane lane) {
  slot->lane = lane;
  if (lane != nullptr) {
    if (auto it = held_.find(lane); it != held_.end()) {
      it->second.push_back(std::move(slot));
      return;
    }
    if (!slot->ready) {
      held_[lane].push_back(std::move(slot));
      return;
    }
  }
  queue_.push_back(std::move(slot));
}

void Sequencer::release_lane(Lane lane) {
  auto it = held_.find(lane);
  if (it == held_.end()) return;
  auto& held = it->second;
  // The connection's operations join the sequence in their order, up to
  // its next change still being prepared.
  while (!held.empty() && held.front()->ready) {
    queue_.push_back(std::move(held.front()));
    held.pop_front();
  }
  if (held.empty()) held_.erase(it);
}

void Sequencer::mutate(Apply apply, Done done, ChangeNote note, Lane lane) {
  auto s = std::make_shared<Slot>();
  s->ready = true;
  s->apply = std::move(apply);
  s->done = std::move(done);
  s->note = std::move(note);
  s->arrived = ++arrivals_;
  enqueue(std::move(s), lane);
  pump();
}

std::shared_ptr<Sequencer::Slot> Sequencer::reserve(Lane lane) {
  auto s = std::make_shared<Slot>();
  // Without a connection it is a lane of its own: it holds back nothing.
  enqueue(s, lane != nullptr ? lane : s.get());
  return s;
}

void Sequencer::fill(const std::shared_ptr<Slot>& slot, Apply apply, Done done, ChangeNote note) {
  slot->apply = std::move(apply);
  slot->done = std::move(done);
  slot->note = std::move(note);
  slot->arrived = ++arrivals_;
  slot->ready = true;
  release_lane(slot->lane);
  pump();
}

void Sequencer::read(Read run, Lane lane) {
  auto s = std::make_shared<Slot>();
  s->ready = true;
  s->read = std::move(run);
  enqueue(std::move(s), lane);
  pump();
}

void Sequencer::read_text(std::function<void(proto::JsonText)> run, Lane lane) {
  read(
      [this, run = std::move(run)](const store::StateStore& s) mutable {
        if (text_ && text_generation_ == s.generation()) return run(text_);
        text_waiters_.push_back(std::move(run));
        // Already in flight: for this same version, since no change runs meanwhile.
        if (serializing_) return;
        serializing_ = true;
        // Serializing 180 MB takes seconds: not on the loop. The document
        // stays as it is until finish_text(), because pump() applies no
        // change while serializing_ is set.
        asio::post(writer_, [this, doc = &s.document(), gen = s.generation(),
                             guard = asio::make_work_guard(io_)]() mutable {
          auto text = std::make_shared<const std::string>(proto::to_wire_json(*doc));
          asio::post(io_, [this, text = std::move(text), gen, guard = std::move(guard)]() mutable {
            finish_text(std::move(text), gen);
          });
        });
      },
      lane);
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
  queue_check(/*front=*/false);
}

void Sequencer::queue_check(bool front) {
  check_queued_ = true;
  auto s = std::make_shared<Slot>();
  s->ready = true;
  s->check = true;
  if (front) {
    queue_.push_front(std::move(s));
  } else {
    queue_.push_back(std::move(s));
  }
  pump();
}

void Sequencer::free_off_loop(std::shared_ptr<store::KeptFile> file, boost::json::object doc) {
  // The last close of a replaced state.json, and freeing a whole document,
  // each take tens to hundreds of ms at 100 MB: on the writer thread.
  asio::post(writer_, [file = std::move(file), doc = std::make_shared<boost::json::object>(std::move(doc))]() mutable {
    doc.reset();
    file.reset();
  });
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
      // A look at the disk may replace the document: like a change, never
      // while the writer thread reads it (above). Under a pending batch it
      // is not needed: that batch's write looks at the file itself, and
      // reloads if it changed. Dropped then, rather than waited for, so
      // that it never splits the batch (the daemon's own renames trigger a
      // check each, and it would split nearly every one).
      queue_.pop_front();
      check_queued_ = false;
      if (store_.pending()) continue;
      start_look(LookFor::check);
      return;
    }
    if (op.read) {
      // A read must not see the batch being built: let it go to disk first.
      if (store_.pending()) break;
      Read run = std::move(op.read);
      queue_.pop_front();
      run(store_);
      continue;
    }
    if (refusal_ && op.arrived > refusal_->covers) {
      // state.json did not parse when last looked at, before this change
      // arrived. Its writer may be done since, its close unseen (stat
      // polling sees none; inotify's event may still be queued): look
      // again first (a stat; a read only if the file changed), so that a
      // change is refused only while the file does not parse. Changes
      // arriving meanwhile wait for the look, and the next one covers them.
      start_look(LookFor::check);
      return;
    }
    Apply apply = std::move(op.apply);
    Done done = std::move(op.done);
    ChangeNote note = std::move(op.note);
    queue_.pop_front();
    if (refusal_) {
      // state.json does not parse: nothing is applied until it does.
      done(refusal_->error);
      continue;
    }
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
  // batch_ is non-empty only while the store has pending changes (a reload
  // in layout 2 may leave a pending move with an empty batch).
  if (store_.pending()) {
    schedule_write();
    return;
  }
  if (queue_.empty() && held_.empty() && !serializing_ && !drained_.empty()) {
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
    auto info = std::make_shared<store::WriteInfo>();
    Status s = store::StateStore::write(*w, info.get());
    asio::post(io_, [this, s = std::move(s), info, guard = std::move(guard)] { finish_write(s, *info); });
  });
}

void Sequencer::finish_write(Status outcome, const store::WriteInfo& info) {
  for (const auto& w : info.warnings) log::warn(w);
  std::shared_ptr<store::KeptFile> before = store_.kept_file();
  Status restored = store_.end_commit(outcome, info);
  if (before != store_.kept_file()) free_off_loop(std::move(before), {});
  if (!restored) {
    // A double fault: the failed write had replaced state.json and putting
    // the old content back failed too. Answering or serving on from memory
    // would contradict the file; exit, and a restart reloads it from disk.
    log::error("state write failed after replacing " + outcome.error().path +
               ", and restoring it failed: " + restored.error().message() + "; exiting to reload from disk");
    std::_Exit(1);
  }
  writing_ = false;
  if (info.exchange_refused) {
    log::warn("the file system of " + store_.state_path() +
              " cannot swap files (RENAME_EXCHANGE); checking it before each rename instead");
  }
  if (!outcome && info.changed) {
    // Another process's file is in state.json: read it (off the loop),
    // apply the batch again to it, and write again (reload.cpp).
    log::warn(store_.state_path() + " was changed by another process; reloading it before writing " +
              std::to_string(batch_.size()) + " change(s)");
    retry_after_conflict();
    return;
  }
  // A write that failed before it looked at state.json (no temp file, a
  // full disk), a check dropped while its batch was pending (see pump), and
  // a failed directory fsync whose undo found another writer's save in
  // place (check mode: StateStore::end_commit) must not leave another
  // writer's file unseen: look first, so that reads after this show what
  // is on disk. (After an undo that put our last durable file back, the
  // look finds it and does nothing.)
  if (!outcome) queue_check(/*front=*/true);
  answer_batch(outcome);
}

void Sequencer::answer_batch(const Status& outcome) {
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
      // True for the changes' own errors too: nothing of theirs applied.
      Error w = outcome.error();
      w.code = Errc::write_failed;
      b.done(std::move(w));
    }
  }
  pump();
}

}  // namespace hs::daemon::sequencer
