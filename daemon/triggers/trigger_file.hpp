// triggers.json in the state dir (docs/PROTOCOL.md, "Triggers"; 0600,
// owned by the daemon): every trigger's definition and what must survive a
// restart, written durably like state.json (common/durable_file.hpp).
//
//   {"version": 1, "triggers": [{<the spec's members>, "paused": bool,
//     "runs": N, "owed": bool, "in_run": bool, "signature": hex or null,
//     "last": {<a run without output>} or null}, ...]}
//
// `owed`: a run was due at shutdown; `in_run`: a run had started and its
// end was never recorded (the daemon died): both make the trigger run once
// after the next start. `signature`: the stat signature of the watched
// files as the last run started; a different one at start-up means they
// changed while the daemon was down.
//
// A file that cannot be read as a whole, or any entry in it that breaks a
// rule, is never silently dropped: the file is moved aside (kept as
// triggers.json.bak.<time>, as state.json is) with a warning naming it,
// and the entries that were good are kept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "daemon/triggers/run_record.hpp"
#include "daemon/triggers/spec.hpp"

namespace hs::daemon::triggers {

inline constexpr const char* kTriggersFileName = "triggers.json";
inline constexpr int kTriggersFileVersion = 1;

struct Saved {
  Spec spec;
  bool paused = false;
  uint64_t runs = 0;
  bool owed = false;
  bool in_run = false;
  std::optional<std::string> signature;
  std::optional<RunRecord> last;  // without output

  bool operator==(const Saved&) const = default;
};

/// The file's text for `triggers`.
std::string encode(const std::vector<Saved>& triggers);

struct Decoded {
  std::vector<Saved> triggers;
  /// One line per entry left out (and why); empty when the file was whole.
  std::vector<std::string> dropped;
};
/// Reads the file's text; an Errc::corrupt error when it cannot be read
/// as a whole (not JSON, wrong version or shape). `default_cwd` is only
/// for entries without a cwd.
Result<Decoded> decode(const std::string& text, const std::string& default_cwd);

struct Loaded {
  std::vector<Saved> triggers;
  std::vector<std::string> warnings;  // for the daemon's log
};
/// Reads `<dir>/triggers.json` (none: no triggers). A corrupt file, or one
/// with bad entries, is moved aside first (see above). Errors only when
/// the file cannot be read or moved aside: then nothing is touched.
Result<Loaded> load_file(const std::string& dir);
/// Replaces `<dir>/triggers.json` durably (mode 0600).
Status save_file(const std::string& dir, const std::vector<Saved>& triggers);

}  // namespace hs::daemon::triggers
