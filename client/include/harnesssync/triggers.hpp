// harnesssync client library: the typed params and answers of the trigger.*
// methods (docs/PROTOCOL.md, "Triggers"). Included by harnesssync/client.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace harnesssync {

/// trigger.set's params: what the daemon runs, and when. Unset optionals
/// take the daemon's defaults.
struct TriggerSpec {
  std::string name;
  std::vector<std::string> watch;    // absolute; a directory covers everything below it
  std::vector<std::string> command;  // argv; command[0] absolute, or a name on the daemon's PATH
  std::optional<std::string> cwd;    // default: the state dir
  std::map<std::string, std::string> env;
  std::optional<int64_t> settle_ms, max_wait_ms, timeout_ms;
  std::optional<std::string> lock;  // default "sync" (unless no_lock)
  bool no_lock = false;             // run without a lock
  std::optional<bool> enabled;
};

/// One run of a trigger, as trigger.log shows it.
struct TriggerRun {
  int64_t run = 0;
  std::string started;
  std::optional<std::string> ended;
  std::optional<int> exit_code;  // nullopt: killed by a signal, or never started
  std::optional<int> signal;
  bool timed_out = false;
  bool coalesced = false;          // a waiting caller of its lock covered it: it did not start
  std::optional<int64_t> changed;  // paths on its stdin; nullopt: "*" (unknown)
  int64_t duration_ms = 0;
  std::string stdout_tail, stderr_tail;  // trigger.log only: the last 64 KiB of each
};

/// One trigger, as trigger.list shows it: its definition (command[0]
/// resolved, defaults filled in) and its state.
struct TriggerInfo {
  TriggerSpec spec;
  bool paused = false;
  std::string state;  // idle, settling, waiting_lock, running, backing_off or paused
  bool owed = false;  // a run is due
  int64_t runs = 0;   // since it was set
  std::optional<TriggerRun> last;
};

}  // namespace harnesssync
