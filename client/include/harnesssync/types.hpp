// harnesssync client library: the typed requests and answers of the methods
// of docs/PROTOCOL.md. Included by harnesssync/client.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace harnesssync {

struct RecordRequest {
  std::string target;
  std::string scope = "all";
  std::vector<std::pair<std::string, std::string>> file_hashes;   // {path, hash}, in order
  std::vector<std::pair<std::string, std::string>> sync_methods;  // {path, method}
  int64_t synced = 0, skipped = 0, failed = 0;
  std::optional<std::string> account;
};

struct DriftReport {
  std::string target;
  bool tracked = false;
  std::vector<std::string> drifted, changed, added, removed;
  std::vector<std::pair<std::string, std::string>> errors;  // {path, reason}
};

struct AcceptResult {
  std::vector<std::string> updated, removed;
};

struct MigrateResult {
  bool migrated = false;
  std::optional<std::string> last_sync;
};

/// One health score of a target, as health.record stores it.
struct HealthEntry {
  std::string timestamp;  // local ISO time, as the state file holds it
  double score = 0;       // clamped to 0..100
  std::string label;
};

/// lock.acquire's answer. holder_pid: the holder now (this process when
/// acquired); nullopt when the daemon could not read its pid.
struct LockResult {
  bool acquired = false;
  /// Not acquired because another coalescing caller already waits: its run
  /// covers this one (docs/PROTOCOL.md, lock.acquire).
  bool coalesced = false;
  std::optional<int64_t> holder_pid;
  /// Acquired, and owed: a caller that covered others went away without
  /// running, so this run must run for them (docs/PROTOCOL.md, lock.acquire).
  /// nullopt when the daemon's answer does not say (a daemon without it).
  std::optional<bool> owed;
};

/// One row of lock.list.
struct LockInfo {
  std::string name;
  std::optional<int64_t> holder_pid;
  int64_t held_ms = 0;
  int64_t waiting = 0;  // callers queued for it
  bool owed = false;    // a run is owed (a caller that covered others left): see LockResult::owed
};

/// lock.acquire's wait_ms that waits without bound (about 31 years or more).
inline constexpr int64_t kWaitForever = int64_t{1} << 40;

}  // namespace harnesssync
