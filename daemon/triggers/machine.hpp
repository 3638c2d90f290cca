// When a trigger runs (docs/PROTOCOL.md, "Triggers": settle, one at a
// time, under the lock, loops, pause). The machine decides; the world acts
// through Effects, and tells the machine what happened. It owns no timer,
// lock or process itself, so its rules are tested with a fake clock.
//
//   idle --change--> settling --settled or max-wait--> waiting_lock
//   waiting_lock --granted--> running --ended--> idle, settling or backing_off
//   waiting_lock --coalesced--> idle (recorded; the covering caller runs)
//   any --pause--> paused (a run in progress finishes first) --resume--> ...
//
// Nothing is lost: a change is kept until a run starts after it (its path
// goes on that run's stdin); a change during a run makes exactly one more
// run after it, settled again.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hs::daemon::triggers {

enum class State { idle, settling, waiting_lock, running, backing_off, paused };
const char* state_name(State s);

class Effects {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~Effects() = default;
  virtual Clock::time_point now() = 0;
  /// Arms the machine's one timer (replacing the last); when it fires, the
  /// owner calls Machine::timer_fired().
  virtual void arm_timer(Clock::time_point at) = 0;
  virtual void cancel_timer() = 0;
  /// Asks for the trigger's lock as a coalescing caller; the owner answers
  /// with lock_granted() or lock_coalesced(), maybe before this returns.
  virtual void acquire_lock() = 0;
  /// Stops waiting for the lock (unanswered).
  virtual void cancel_lock() = 0;
  virtual void release_lock() = 0;
  /// Starts the command; stdin gets `changed` (nullopt: a single "*").
  /// The owner calls run_finished() once it ended and every change made
  /// before its end has been told to the machine.
  virtual void start_run(std::optional<std::vector<std::string>> changed) = 0;
  /// Records a run that the lock answered "coalesced": it does not start.
  virtual void record_coalesced(std::optional<size_t> changed) = 0;
  /// The trigger starts backing off (once per episode, for the log).
  virtual void backing_off(std::chrono::milliseconds first_delay) = 0;
};

class Machine {
 public:
  using Clock = Effects::Clock;
  using ms = std::chrono::milliseconds;

  struct Timing {
    ms settle{300};
    ms max_wait{3000};
  };
  /// Runs in a row that saw a change while they ran, before backing off.
  static constexpr int kLoopRuns = 5;
  static constexpr ms kFirstBackoff{1000};
  static constexpr ms kMaxBackoff{60000};
  /// Changed paths kept for one run; past it the run gets "*".
  static constexpr size_t kMaxPaths = 100000;

  Machine(Effects& fx, Timing timing, bool has_lock)
      : fx_(fx), timing_(timing), has_lock_(has_lock), next_has_lock_(has_lock) {}
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  /// A new definition: applies from the next decision on.
  void configure(Timing timing, bool has_lock);

  /// Watched paths changed (events, or a poll).
  void changed(const std::vector<std::string>& paths);
  /// Something may have changed, nobody knows what (overflow, start-up).
  void changed_unknown();
  /// trigger.run: run now, without settling (after the run in progress).
  void run_now();
  void pause();
  /// A trigger with changes noted while paused runs once, settled.
  void resume();

  void timer_fired();
  void lock_granted();
  void lock_coalesced();
  void run_finished();

  State state() const { return state_; }
  bool paused() const { return paused_; }
  /// A run is due: changes not yet run, or a run asked for.
  bool owed() const { return has_work() || state_ == State::waiting_lock; }
  /// The last attempt was answered "coalesced" and no run started since:
  /// if the covering caller leaves without running, this one must run.
  bool covered() const { return covered_; }
  bool running() const { return state_ == State::running; }

 private:
  bool has_work() const { return !pending_.empty() || unknown_ || due_; }
  void note(Clock::time_point now);
  void decide();
  void attempt();
  void begin_run();

  Effects& fx_;
  Timing timing_;
  bool has_lock_;       // this attempt's
  bool next_has_lock_;  // the definition's, from the next attempt on
  State state_ = State::idle;
  bool paused_ = false;

  // Changes since the last run started.
  std::set<std::string> pending_;
  bool unknown_ = false;
  bool due_ = false;        // a run is wanted even without paths
  bool immediate_ = false;  // ... and without settling (trigger.run)
  std::optional<Clock::time_point> first_change_, last_change_;
  // Paths a coalesced attempt handed to the covering caller: they go on the
  // next run's stdin too ("every path changed since the previous run
  // started"), but make no run by themselves.
  std::set<std::string> carried_;
  bool carried_unknown_ = false;
  bool covered_ = false;

  // Loops.
  bool changed_during_run_ = false;
  int busy_streak_ = 0;
  ms backoff_{0};
  Clock::time_point run_ended_{};
};

}  // namespace hs::daemon::triggers
