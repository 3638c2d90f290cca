// One trigger at run time: its definition and saved state, its run
// machine (machine.hpp), and the world the machine acts on: its timer, its
// place in the lock table (an internal caller, coalescing), its process,
// its log of runs, and the notifications and saves each run makes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/locks/lock_table.hpp"
#include "daemon/triggers/machine.hpp"
#include "daemon/triggers/process.hpp"
#include "daemon/triggers/trigger_file.hpp"

namespace hs::daemon::triggers {

/// What a trigger needs of the service that holds it.
struct Host {
  boost::asio::io_context& io;
  locks::LockTable& locks;
  Reaper& reaper;
  /// The command's environment, without the trigger's own `env`.
  std::function<std::vector<std::string>(const Spec&)> environment;
  /// A notification to subscribers that asked for triggers.
  std::function<void(const char* method, boost::json::object params)> notify;
  /// Calls `done` once every change made before now was told to the trigger.
  std::function<void(std::function<void()> done)> sync_watch;
  /// The stat signature of the trigger's watched files now.
  std::function<void(const std::string& name, std::function<void(std::string)> done)> signature;
  /// triggers.json must be saved again.
  std::function<void()> save;
  /// Runs `blocking` off the loop (posix_spawn), then `then` on it.
  std::function<void(std::function<void()> blocking, std::function<void()> then)> off_loop;
  std::chrono::milliseconds kill_after{5000};
};

class Trigger final : public Effects {
 public:
  /// Runs kept for trigger.log (each with up to 64 KiB of each stream).
  static constexpr size_t kLogRuns = 100;

  Trigger(Host& host, Saved saved);
  ~Trigger() override;
  Trigger(const Trigger&) = delete;
  Trigger& operator=(const Trigger&) = delete;

  const Spec& spec() const { return saved_.spec; }
  bool paused() const { return saved_.paused; }
  const std::optional<std::string>& signature() const { return saved_.signature; }
  void set_signature(std::string sig) { saved_.signature = std::move(sig); }
  /// The state to save (owed: a run is due, or was cut short).
  Saved saved() const;
  Machine& machine() { return machine_; }
  /// A new definition (trigger.set of an existing name): runs count again
  /// from 0 and the log starts over; a run in progress finishes as it was.
  void redefine(Spec spec);
  void pause();
  void resume();
  /// trigger.run: the number the run that covers this request will have.
  uint64_t run_now();
  /// The lock became owed: run if a coalesced run of ours was covered by
  /// the caller who left, or if `pay` (no trigger was covered: one pays).
  bool on_owed(bool pay);
  /// The trigger is removed or the daemon stops: no more runs start; the
  /// lock is left; `done` runs once a run in progress has ended (at once
  /// when none). With `terminate`, a run in progress gets SIGTERM, then
  /// SIGKILL after kill_after.
  void retire(bool terminate, std::function<void()> done);

  /// trigger.list's entry.
  boost::json::object to_json() const;
  /// trigger.log: the last `n` runs, oldest first.
  boost::json::array log(size_t n) const;

  // Effects.
  Clock::time_point now() override { return Clock::now(); }
  void arm_timer(Clock::time_point at) override;
  void cancel_timer() override;
  void acquire_lock() override;
  void cancel_lock() override;
  void release_lock() override;
  void start_run(std::optional<std::vector<std::string>> changed) override;
  void record_coalesced(std::optional<size_t> changed) override;
  void backing_off(std::chrono::milliseconds first_delay) override;

 private:
  static Machine::Timing timing_of(const Spec& s);
  void spawned(std::shared_ptr<ProcessSpec> ps, Result<Child> child);
  void finished(ProcessResult r);
  void push_log(RunRecord r);
  void end_retire();

  Host& host_;
  Saved saved_;
  Machine machine_;
  boost::asio::steady_timer timer_;
  const locks::LockTable::ConnId conn_;
  std::optional<std::string> lock_waiting_, lock_held_;
  std::shared_ptr<Process> proc_;
  bool spawning_ = false;        // posix_spawn in progress off the loop
  bool terminate_on_start_ = false;  // the daemon stops meanwhile
  std::optional<RunRecord> current_;
  std::chrono::steady_clock::time_point started_;
  bool cut_short_ = false;  // the daemon stopped it: owed again
  std::deque<RunRecord> log_;
  bool retired_ = false;
  std::function<void()> on_retired_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hs::daemon::triggers
