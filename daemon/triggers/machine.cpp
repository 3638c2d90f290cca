#include "daemon/triggers/machine.hpp"

#include <algorithm>

namespace hs::daemon::triggers {

const char* state_name(State s) {
  switch (s) {
    case State::idle: return "idle";
    case State::settling: return "settling";
    case State::waiting_lock: return "waiting_lock";
    case State::running: return "running";
    case State::backing_off: return "backing_off";
    case State::paused: return "paused";
  }
  return "idle";
}

void Machine::configure(Timing timing, bool has_lock) {
  timing_ = timing;
  // A lock asked for (or held) under the old definition is answered or
  // released as such: has_lock_ changes only between attempts.
  next_has_lock_ = has_lock;
  if (state_ == State::settling || state_ == State::backing_off) decide();
}

void Machine::note(Clock::time_point now) {
  if (!first_change_) first_change_ = now;
  last_change_ = now;
  if (state_ == State::running) changed_during_run_ = true;
}

void Machine::changed(const std::vector<std::string>& paths) {
  if (paths.empty()) return;
  note(fx_.now());
  if (!unknown_) {
    for (const auto& p : paths) {
      if (pending_.size() >= kMaxPaths) {
        // Too many to list: the run is told "*" instead.
        unknown_ = true;
        pending_.clear();
        break;
      }
      pending_.insert(p);
    }
  }
  if (state_ == State::idle || state_ == State::settling || state_ == State::backing_off) decide();
}

void Machine::changed_unknown() {
  note(fx_.now());
  unknown_ = true;
  pending_.clear();
  if (state_ == State::idle || state_ == State::settling || state_ == State::backing_off) decide();
}

void Machine::run_now() {
  due_ = true;
  immediate_ = true;
  if (state_ == State::idle || state_ == State::settling || state_ == State::backing_off) decide();
}

void Machine::pause() {
  paused_ = true;
  if (state_ == State::settling || state_ == State::backing_off || state_ == State::idle) {
    fx_.cancel_timer();
    state_ = State::paused;
  } else if (state_ == State::waiting_lock) {
    state_ = State::paused;
    if (has_lock_) fx_.cancel_lock();
  }
  // running: it finishes; decide() then finds the machine paused.
}

void Machine::resume() {
  if (!paused_) return;
  paused_ = false;
  if (state_ != State::paused) return;
  state_ = State::idle;
  if (has_work() && !immediate_) {
    // Settled from now: the changes noted while paused may be old, but the
    // user who resumes may be in the middle of more.
    first_change_ = last_change_ = fx_.now();
  }
  decide();
}

void Machine::decide() {
  if (paused_) {
    fx_.cancel_timer();
    state_ = State::paused;
    return;
  }
  if (!has_work()) {
    fx_.cancel_timer();
    state_ = State::idle;
    return;
  }
  const auto now = fx_.now();
  Clock::time_point settled = now;
  if (!immediate_ && last_change_) {
    settled = std::min(*last_change_ + timing_.settle, *first_change_ + timing_.max_wait);
  }
  Clock::time_point at = settled;
  bool backing = false;
  if (backoff_.count() > 0 && !immediate_ && run_ended_ + backoff_ > settled) {
    at = run_ended_ + backoff_;
    backing = true;
  }
  if (at <= now) {
    fx_.cancel_timer();
    attempt();
    return;
  }
  state_ = backing ? State::backing_off : State::settling;
  fx_.arm_timer(at);
}

void Machine::timer_fired() {
  if (state_ == State::settling || state_ == State::backing_off) decide();
}

void Machine::attempt() {
  has_lock_ = next_has_lock_;
  state_ = State::waiting_lock;
  if (has_lock_) {
    fx_.acquire_lock();  // may answer at once, reentering lock_granted()
  } else {
    begin_run();
  }
}

void Machine::lock_granted() {
  if (state_ != State::waiting_lock) {
    // Paused meanwhile, and the wait could not be taken back: give it on.
    fx_.release_lock();
    return;
  }
  begin_run();
}

void Machine::lock_coalesced() {
  if (state_ != State::waiting_lock) return;
  // The waiting caller's run comes after the current holder's and covers
  // these changes; their paths go on our next run's stdin all the same.
  std::optional<size_t> count;
  if (unknown_) {
    carried_unknown_ = true;
  } else {
    count = pending_.size();
    for (auto& p : pending_) {
      if (carried_.size() >= kMaxPaths) {
        carried_unknown_ = true;
        break;
      }
      carried_.insert(p);
    }
  }
  if (carried_unknown_) carried_.clear();
  pending_.clear();
  unknown_ = due_ = immediate_ = false;
  first_change_.reset();
  last_change_.reset();
  covered_ = true;
  state_ = State::idle;
  fx_.record_coalesced(count);
  decide();
}

void Machine::begin_run() {
  std::optional<std::vector<std::string>> stdin_paths;
  if (!unknown_ && !carried_unknown_) {
    std::set<std::string> all = std::move(pending_);
    all.insert(carried_.begin(), carried_.end());
    stdin_paths.emplace(all.begin(), all.end());
  }
  pending_.clear();
  carried_.clear();
  unknown_ = carried_unknown_ = due_ = immediate_ = covered_ = false;
  first_change_.reset();
  last_change_.reset();
  changed_during_run_ = false;
  state_ = State::running;
  fx_.start_run(std::move(stdin_paths));
}

void Machine::run_finished() {
  if (state_ != State::running) return;
  state_ = State::idle;
  if (has_lock_) fx_.release_lock();
  if (changed_during_run_) {
    ++busy_streak_;
  } else {
    busy_streak_ = 0;
    backoff_ = ms{0};
  }
  if (busy_streak_ >= kLoopRuns) {
    const bool first = backoff_.count() == 0;
    backoff_ = first ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
    if (first) fx_.backing_off(backoff_);
  }
  run_ended_ = fx_.now();
  decide();
}

}  // namespace hs::daemon::triggers
