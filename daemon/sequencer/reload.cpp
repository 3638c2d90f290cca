// The Sequencer and other writers of state.json (docs/STATE.md, "Other
// writers"): looking at the file and reading it again happen on the writer
// thread, never on the event loop, so that a slow or hung file system
// delays only the requests that need the state; the document read is
// swapped in on the loop. While a look is in flight it stands in the
// sequence like a write: operations queued after it wait, pings and
// everything else that needs no state go on.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <algorithm>

#include "common/log.hpp"
#include "daemon/sequencer/sequencer.hpp"

namespace hs::daemon::sequencer {
namespace asio = boost::asio;
namespace {

// How long an unparsable state.json must stay unchanged before it is read
// again without a close event (STATE.md, "Saves in place").
constexpr auto kQuiet = std::chrono::seconds(1);

Error as_write_failed(Error e) {
  e.code = Errc::write_failed;
  return e;
}

}  // namespace

void Sequencer::retry_after_conflict() {
  if (conflict_rounds_ == 0) return start_look(LookFor::conflict);
  // A writer saving flat out tends to fall into step with the daemon (both
  // wake from fsyncs on the same journal), so that its saves land in every
  // one of our windows: a random pause of up to 2 ms per round so far
  // breaks the step. writing_ stays set: nothing is applied meanwhile.
  writing_ = true;
  retry_seed_ = retry_seed_ * 1664525u + 1013904223u;
  const auto cap = std::chrono::microseconds(2000 * std::min(conflict_rounds_, 8));
  retry_timer_.expires_after(std::chrono::microseconds((retry_seed_ >> 8) % static_cast<uint32_t>(cap.count())));
  retry_timer_.async_wait([this](boost::system::error_code) { start_look(LookFor::conflict); });
}

void Sequencer::start_look(LookFor why) {
  writing_ = true;
  look_covers_ = arrivals_;
  store::LookRequest req = store_.begin_look();
  if (refusal_) req.unparsable = refusal_->tried;
  asio::post(writer_, [this, why, req = std::move(req), guard = asio::make_work_guard(io_)]() mutable {
    auto look = std::make_shared<store::DiskLook>(store::StateStore::look_at_disk(req));
    asio::post(io_, [this, why, look, guard = std::move(guard)] { finish_look(why, std::move(*look)); });
  });
}

bool Sequencer::take_in(store::DiskLook& look) {
  if (look.unchanged) {
    // The file expected is back (an unparsable one was replaced by it).
    refusal_.reset();
    return true;
  }
  if (!look.loaded) {
    if (look.loaded.error().code == Errc::corrupt) {
      refuse_changes(look);
    } else {
      log::error("cannot reload " + store_.state_path() + ": " + look.loaded.error().message() +
                 "; keeping the last state, and no change is written until the file can be read");
    }
    return false;
  }
  log::warn(store_.state_path() + " was changed by another process; reloaded it" +
            (refusal_ ? ": it parses again, and changes are accepted again" : ""));
  refusal_.reset();
  std::vector<std::string> warnings;
  std::shared_ptr<store::KeptFile> before = store_.kept_file();
  boost::json::object previous = store_.adopt(std::move(*look.loaded), &warnings);
  free_off_loop(std::move(before), std::move(previous));
  for (const auto& w : warnings) log::warn(w);
  // docs/STATE.md, "Other writers": subscribers hear of it (kind
  // "reloaded"). The file read is durable: another process put it there.
  if (on_durable_) on_durable_(ChangeNote{"reloaded", std::nullopt, std::nullopt, {}}, store_);
  return true;
}

void Sequencer::finish_look(LookFor why, store::DiskLook look) {
  writing_ = false;
  // The file last found unparsable, unchanged: the refusal stands.
  const bool taken = !look.still_unparsable && take_in(look);
  // Still refusing (or keeping the refusal through an I/O error): the
  // changes that arrived before this look began are refused on its word.
  if (refusal_) refusal_->covers = look_covers_;
  if (why == LookFor::check) {
    pump();  // a layout 2 move left pending is written by pump's schedule_write
    return;
  }
  // A write found another process's file in state.json: apply the batch
  // again to what was read, and write again. Each round's changes were
  // rolled back and nothing of them is on disk; a file that changes again
  // and again under our writes (a writer looping flat out) fails the batch
  // after a while rather than retrying forever.
  constexpr int kMaxRounds = 16;
  if (!taken) {
    // Unreadable (nothing applied, the file left as it is), newer, or an
    // I/O error: the batch fails with it.
    // (still_unparsable is asked only while refusing: refusal_ is set.)
    fail_batch(refusal_ ? refusal_->error : as_write_failed(look.loaded.error()));
    return;
  }
  if (++conflict_rounds_ > kMaxRounds) {
    log::error(store_.state_path() + " keeps changing under the daemon; failing the changes");
    fail_batch(busy("write", store_.state_path(), "changed by another process at every try"));
    return;
  }
  // The answers become those of the changes applied to the other writer's
  // document: a clear of a target it removed finds nothing, and so on.
  for (auto& b : batch_) b.out = b.apply(store_);
  if (store_.pending()) {
    start_write();
    return;
  }
  // Nothing left to write (every change became a no-op or an error): the
  // state read is durable, so the answers can go now.
  conflict_rounds_ = 0;
  for (auto& b : std::exchange(batch_, {})) b.done(std::move(b.out));
  pump();
}

void Sequencer::fail_batch(const Error& e) {
  conflict_rounds_ = 0;
  log::error("state write failed: " + e.message());
  for (auto& b : std::exchange(batch_, {})) b.done(as_write_failed(e));
  pump();
}

void Sequencer::refuse_changes(const store::DiskLook& look) {
  Error e = as_write_failed(look.loaded.error());
  e.detail += "; nothing was applied, and " + store_.state_path() +
              " is left as it is until it parses (its writer may not be done: it is read again when it is "
              "closed, or unchanged for 1 s)";
  if (!refusal_ || !(refusal_->tried == look.seen)) {
    log::warn(store_.state_path() + " does not parse (" + look.loaded.error().reason() +
              "); refusing changes, answering reads from the last good state, until it does");
  }
  refusal_ = Refusal{std::move(e), look.seen, look.seen};
  arm_wait_poll();
}

void Sequencer::arm_wait_poll() {
  if (polling_ || stopped_) return;
  polling_ = true;
  wait_timer_.expires_after(kQuiet);
  wait_timer_.async_wait([this](boost::system::error_code ec) {
    polling_ = false;
    if (ec || !refusal_ || stopped_) return;
    // A stat, on the writer thread like every file system call here.
    asio::post(writer_, [this, path = store_.state_path(), guard = asio::make_work_guard(io_)]() mutable {
      auto seen = stat_if_exists(path);
      asio::post(io_, [this, seen = std::move(seen), guard = std::move(guard)]() mutable {
        if (!refusal_ || stopped_) return;
        std::optional<FileStat> now = seen ? *seen : std::nullopt;
        // Unchanged for a whole period, and not the file last tried: its
        // writer is done (or gone) without a close event we saw.
        if (now == refusal_->seen && !(now == refusal_->tried)) check_disk();
        refusal_->seen = now;
        arm_wait_poll();
      });
    });
  });
}

std::optional<std::string> Sequencer::refusing() const {
  if (!refusal_) return std::nullopt;
  return refusal_->error.message();
}

void Sequencer::stop() {
  stopped_ = true;
  wait_timer_.cancel();
  // A pending retry still runs (at once): its batch is owed its answers.
  retry_timer_.cancel();
}

}  // namespace hs::daemon::sequencer
