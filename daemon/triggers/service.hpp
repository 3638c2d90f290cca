// The triggers of one daemon (docs/PROTOCOL.md, "Triggers"): what the
// trigger.* methods call, and what the daemon starts and stops.
//
// Changes to the set of triggers (set, remove, pause, resume) are made one
// at a time, and each is answered once triggers.json holds it (Saver); a
// save that fails takes the change back and answers error 1. Checks that
// touch the file system (the command on PATH, the cwd) run off the loop.
// Runs change triggers.json too (counts, signatures, the last result) but
// answer nobody: those saves share writes and are retried with the next.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "daemon/locks/lock_table.hpp"
#include "daemon/triggers/saver.hpp"
#include "daemon/triggers/spec.hpp"
#include "daemon/triggers/trigger.hpp"
#include "daemon/watch/worker.hpp"
#include "daemon/watch/tree_watch.hpp"

namespace hs::daemon::triggers {

class Service {
 public:
  struct Config {
    std::string state_dir;
    std::string socket_path;
    std::vector<std::string> environ;  // the daemon's environment, "K=V"
    watch::TreeWatch::Config watch;
    std::chrono::milliseconds kill_after{5000};
  };
  using Notify = std::function<void(const char* method, boost::json::object params)>;
  /// A change's answer: its result, or an error (Errc::invalid_argument
  /// with its field: -32602; Errc::write_failed: error 1).
  using Done = std::function<void(Result<boost::json::value>)>;

  Service(boost::asio::io_context& io, locks::LockTable& locks, Config cfg, Notify notify);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  /// Loads triggers.json (its warnings go to the log) and starts watching.
  /// A trigger owed a run (due at shutdown, cut short, or whose watched
  /// files' signature changed while the daemon was down) runs once,
  /// settled. Errors only when triggers.json cannot be read or moved aside.
  Status start();

  /// trigger.set: `params` checked in full (every bad one names its field,
  /// and nothing is saved); answered with the trigger as trigger.list shows
  /// it once it is watched and durable.
  void set(boost::json::object params, Done done);
  bool has(const std::string& name) const { return triggers_.count(name) != 0; }
  /// trigger.remove. REQUIRES: has(name). A run in progress finishes.
  void remove(const std::string& name, Done done);
  /// trigger.list, sorted by name.
  boost::json::array list() const;
  /// trigger.run: {"queued": true, "run": N}, N the number of the run that
  /// will cover this request. REQUIRES: has(name).
  boost::json::value run(const std::string& name);
  /// trigger.log. REQUIRES: has(name).
  boost::json::value log(const std::string& name, size_t runs) const;
  /// trigger.pause / trigger.resume of one trigger (REQUIRES: has(name)),
  /// or of every trigger.
  void pause(std::optional<std::string> name, Done done);
  void resume(std::optional<std::string> name, Done done);
  /// For daemon.info: {"count", "running", "paused", "watch": {...}}.
  boost::json::object info() const;

  /// The daemon stops: no run starts any more; a running command's group
  /// gets SIGTERM, then SIGKILL after kill_after; `done` runs once every
  /// run has ended and triggers.json says what is owed.
  void shutdown(std::function<void()> done);

  /// The environment a trigger's command gets: the daemon's, without the
  /// service manager's variables, plus `env`, HARNESSSYNC_TRIGGER and
  /// HARNESSSYNC_SOCKET.
  std::vector<std::string> environment(const Spec& s) const;

 private:
  void enqueue(std::function<void()> change);
  void next_change();
  void watch_trigger(const std::string& name, std::function<void()> ready);
  void apply_set(Spec spec, Done done);
  void set_paused(std::optional<std::string> name, bool paused, Done done);
  /// triggers.json, its temp files, the daemon log and the store's
  /// transient files, in the state dir.
  bool own_file(const std::string& path) const;
  void on_change(const std::string& name, std::vector<std::string> paths, bool unknown);
  void on_lock_owed(const std::string& lock);
  std::string snapshot() const;
  static Error write_failed(const Error& e);

  boost::asio::io_context& io_;
  locks::LockTable& locks_;
  Config cfg_;
  Notify notify_;
  SpecChecks checks_;
  std::unique_ptr<Reaper> reaper_;
  std::unique_ptr<watch::TreeWatch> watch_;
  // Saves and checks on one thread, spawns on another: a slow fsync must
  // not hold a run's start.
  std::unique_ptr<watch::Worker> files_, spawns_;
  std::unique_ptr<Saver> saver_;
  Host host_;
  std::map<std::string, std::unique_ptr<Trigger>> triggers_;
  std::vector<std::unique_ptr<Trigger>> retiring_;  // removed, their run still going
  std::deque<std::function<void()>> changes_;
  bool changing_ = false;
  bool stopping_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hs::daemon::triggers
