#include "daemon/triggers/trigger.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/json/array.hpp>

#include "common/clock.hpp"
#include "common/log.hpp"

namespace hs::daemon::triggers {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

// Output kept for trigger.log per trigger, over all its runs: past it the
// oldest runs keep their record but lose their output.
constexpr size_t kLogOutputBytes = size_t{2} << 20;

std::string now_iso() { return iso_local(hs::Clock::now()); }

}  // namespace

Trigger::Trigger(Host& host, Saved saved)
    : host_(host),
      saved_(std::move(saved)),
      machine_(*this, timing_of(saved_.spec), saved_.spec.lock.has_value()),
      timer_(host.io),
      conn_(host.locks.internal_conn()) {
  if (saved_.paused) machine_.pause();
}

Trigger::~Trigger() {
  *alive_ = false;
  timer_.cancel();
  // Its waits leave their queues, its lock goes to the next waiter.
  host_.locks.connection_closed(conn_);
}

Machine::Timing Trigger::timing_of(const Spec& s) {
  return Machine::Timing{std::chrono::milliseconds(s.settle_ms), std::chrono::milliseconds(s.max_wait_ms)};
}

Saved Trigger::saved() const {
  Saved s = saved_;
  s.owed = machine_.owed() || machine_.covered() || cut_short_;
  return s;
}

void Trigger::redefine(Spec spec) {
  saved_.spec = std::move(spec);
  saved_.runs = 0;
  saved_.last.reset();
  log_.clear();
  machine_.configure(timing_of(saved_.spec), saved_.spec.lock.has_value());
}

void Trigger::pause() {
  saved_.paused = true;
  machine_.pause();
}

void Trigger::resume() {
  saved_.paused = false;
  machine_.resume();
}

uint64_t Trigger::run_now() {
  // Every attempt from now on covers this request, and the next one is
  // numbered runs + 1 (a run in progress already has its number).
  const uint64_t next = saved_.runs + 1;
  machine_.run_now();
  return next;
}

bool Trigger::on_owed(bool pay) {
  if (!machine_.covered() && !pay) return false;
  machine_.run_now();
  return true;
}

void Trigger::retire(bool terminate, std::function<void()> done) {
  retired_ = true;
  timer_.cancel();
  cancel_lock();
  if (!spawning_ && (!proc_ || proc_->ended())) {
    release_lock();
    if (done) done();
    return;
  }
  on_retired_ = std::move(done);
  if (terminate) {
    cut_short_ = true;
    if (proc_) {
      proc_->terminate();
    } else {
      terminate_on_start_ = true;  // spawned() sends it
    }
  }
}

void Trigger::end_retire() {
  release_lock();
  if (auto done = std::move(on_retired_)) done();
}

// ---- what the machine does ----

void Trigger::arm_timer(Clock::time_point at) {
  if (retired_) return;
  timer_.expires_at(at);  // a wait pending on it completes as cancelled
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive) return;
    machine_.timer_fired();
  });
}

void Trigger::cancel_timer() { timer_.cancel(); }

void Trigger::acquire_lock() {
  if (retired_ || !saved_.spec.lock) return;
  const std::string name = *saved_.spec.lock;
  lock_waiting_ = name;
  // A coalescing caller without a deadline: when a manual sync runs and
  // another already waits to follow it, that one covers this attempt.
  auto refused = host_.locks.acquire(
      conn_, static_cast<int64_t>(::getpid()), name, locks::LockTable::kUnboundedWaitMs, true,
      [this, alive = alive_, name](std::optional<locks::LockTable::Answer> a) {
        if (!*alive) return;
        lock_waiting_.reset();
        if (!a) return;  // the daemon stops: the attempt is saved as owed
        if (a->acquired) {
          lock_held_ = name;
          machine_.lock_granted();
        } else if (a->coalesced) {
          machine_.lock_coalesced();
        }
      });
  if (refused != locks::LockTable::Refusal::none) {
    // Cannot happen to a caller with one name at a time; should it, a run
    // without the lock is better than none.
    lock_waiting_.reset();
    log::error("trigger " + saved_.spec.name + ": lock " + name + " refused; running without it");
    machine_.lock_granted();
  }
}

void Trigger::cancel_lock() {
  if (!lock_waiting_) return;
  host_.locks.cancel_wait(conn_, *lock_waiting_);
  lock_waiting_.reset();
}

void Trigger::release_lock() {
  if (!lock_held_) return;
  const std::string name = std::move(*lock_held_);
  lock_held_.reset();
  host_.locks.release(conn_, name);
}

void Trigger::start_run(std::optional<std::vector<std::string>> changed) {
  if (retired_) return;
  RunRecord rec;
  rec.run = ++saved_.runs;
  rec.started = now_iso();
  std::string input;
  if (changed) {
    rec.changed = static_cast<int64_t>(changed->size());
    for (const auto& p : *changed) input += p + "\n";
  } else {
    input = "*\n";  // the daemon cannot know what changed
  }
  const Spec& s = saved_.spec;
  ProcessSpec ps;
  ps.argv = s.command;
  ps.cwd = s.cwd;
  ps.env = host_.environment(s);
  ps.stdin_data = std::move(input);
  ps.timeout = std::chrono::milliseconds(s.timeout_ms);
  ps.kill_after = host_.kill_after;
  started_ = std::chrono::steady_clock::now();
  current_ = rec;
  saved_.in_run = true;
  spawning_ = true;
  auto alive = alive_;
  auto spec = std::make_shared<ProcessSpec>(std::move(ps));
  auto child = std::make_shared<std::optional<Result<Child>>>();
  host_.off_loop([spec, child] { child->emplace(Process::spawn(*spec)); },
                 [this, alive, spec, child] {
                   if (*alive) {
                     spawned(spec, std::move(**child));
                   } else if (**child) {
                     // The trigger went (the daemon stops): nobody will reap
                     // or record it, so it does not outlive the moment.
                     ::kill(-(**child)->pid, SIGKILL);
                     ::waitpid((**child)->pid, nullptr, 0);
                   }
                 });
  host_.notify("trigger.started", started_notice(s.name, rec));
  // "As its last run started": edits made after this and before the next
  // start-up are seen by comparing the signature then.
  host_.signature(s.name, [this, alive](std::string sig) {
    if (!*alive) return;
    saved_.signature = std::move(sig);
    host_.save();
  });
  host_.save();
}

void Trigger::spawned(std::shared_ptr<ProcessSpec> ps, Result<Child> child) {
  spawning_ = false;
  const std::string& name = saved_.spec.name;
  if (!child) {
    // Never started (the command or its cwd went away since it was set):
    // a failed run, as a shell reports a command it cannot run.
    log::warn("trigger " + name + ": cannot start its command: " + child.error().message());
    ProcessResult r;
    r.exit_code = 127;
    r.stderr_tail = "harnesssyncd: " + child.error().message() + "\n";
    finished(std::move(r));
    return;
  }
  proc_ = Process::adopt(host_.io, host_.reaper, std::move(*ps), std::move(*child),
                         [this, alive = alive_](ProcessResult r) {
                           if (*alive) finished(std::move(r));
                         });
  if (lock_held_) host_.locks.set_holder_pid(conn_, *lock_held_, proc_->pid());
  log::debug("trigger " + name + ": run " + std::to_string(current_ ? current_->run : 0) + " started, pid " +
             std::to_string(proc_->pid()));
  if (terminate_on_start_) proc_->terminate();
}

void Trigger::finished(ProcessResult r) {
  // What the command changed in its own watched paths must be known before
  // the machine decides what follows (loops): the watch catches up first.
  host_.sync_watch([this, alive = alive_, r = std::move(r)]() mutable {
    if (!*alive || !current_) return;
    RunRecord rec = std::move(*current_);
    current_.reset();
    proc_.reset();
    rec.ended = now_iso();
    rec.exit_code = r.exit_code;
    rec.signal = r.signal;
    rec.timed_out = r.timed_out;
    rec.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_).count();
    rec.stdout_tail = sanitize_utf8(r.stdout_tail);
    rec.stderr_tail = sanitize_utf8(r.stderr_tail);
    saved_.in_run = false;
    const std::string& name = saved_.spec.name;
    std::string how = rec.exit_code ? "exited " + std::to_string(*rec.exit_code)
                                    : "killed by signal " + std::to_string(rec.signal.value_or(0));
    if (rec.timed_out) how += " (timed out)";
    const bool failed = rec.exit_code != 0;
    const std::string head = "trigger " + name + ": run " + std::to_string(rec.run) + " ";
    (failed ? log::warn : log::info)(head + how + " after " + std::to_string(rec.duration_ms) + " ms");
    if (!rec.stdout_tail.empty()) log::info(head + "stdout:\n" + rec.stdout_tail);
    if (!rec.stderr_tail.empty()) (failed ? log::warn : log::info)(head + "stderr:\n" + rec.stderr_tail);
    host_.notify("trigger.finished", finished_notice(name, rec));
    push_log(std::move(rec));
    host_.save();
    if (retired_) {
      end_retire();
      return;
    }
    machine_.run_finished();
  });
}

void Trigger::record_coalesced(std::optional<size_t> changed) {
  RunRecord rec;
  rec.run = ++saved_.runs;
  rec.started = now_iso();
  rec.ended = rec.started;
  rec.coalesced = true;
  if (changed) rec.changed = static_cast<int64_t>(*changed);
  log::info("trigger " + saved_.spec.name + ": run " + std::to_string(rec.run) + " coalesced: the caller waiting for lock " +
            saved_.spec.lock.value_or("") + " covers it");
  host_.notify("trigger.finished", finished_notice(saved_.spec.name, rec));
  push_log(std::move(rec));
  host_.save();
}

void Trigger::backing_off(std::chrono::milliseconds first_delay) {
  log::warn("trigger " + saved_.spec.name + ": " + std::to_string(Machine::kLoopRuns) +
            " runs in a row each saw its watched paths change while it ran (does the command write into them?); "
            "backing off: the next run waits " + std::to_string(first_delay.count() / 1000) +
            " s, doubling up to 60 s, until a run changes nothing");
}

void Trigger::push_log(RunRecord r) {
  RunRecord last = r;
  last.stdout_tail.clear();
  last.stderr_tail.clear();
  saved_.last = std::move(last);
  log_.push_back(std::move(r));
  while (log_.size() > kLogRuns) log_.pop_front();
  size_t bytes = 0;
  for (const auto& e : log_) bytes += e.stdout_tail.size() + e.stderr_tail.size();
  for (auto& e : log_) {
    if (bytes <= kLogOutputBytes) break;
    bytes -= e.stdout_tail.size() + e.stderr_tail.size();
    e.stdout_tail.clear();
    e.stderr_tail.clear();
  }
}

// ---- what clients see ----

json::object Trigger::to_json() const {
  json::object o = triggers::to_json(saved_.spec);
  o["paused"] = saved_.paused;
  o["state"] = state_name(machine_.state());
  o["owed"] = machine_.owed();
  o["runs"] = saved_.runs;
  o["last"] = saved_.last ? json::value(triggers::to_json(*saved_.last, false)) : json::value(nullptr);
  return o;
}

json::array Trigger::log(size_t n) const {
  json::array out;
  const size_t from = log_.size() > n ? log_.size() - n : 0;
  for (size_t i = from; i < log_.size(); ++i) out.push_back(triggers::to_json(log_[i], true));
  return out;
}

}  // namespace hs::daemon::triggers
