// How hsctl shows triggers and their runs (hsctl trigger, hsctl status).
#pragma once

#include <string>
#include <vector>

#include "harnesssync/client.hpp"

namespace hsctl {

/// "exit 0", "exit 3", "killed by SIGTERM", "timed out (SIGKILL)",
/// "coalesced", "running" (no end yet).
std::string result_text(const harnesssync::TriggerRun& r);
/// A few lines: what `t` runs, on what, and how.
std::string describe(const harnesssync::TriggerInfo& t);
/// The table of `hsctl trigger ls`: NAME STATE RUNS LAST, "no triggers"
/// when there are none.
std::string trigger_table(const std::vector<harnesssync::TriggerInfo>& all);
/// One run: "run N  <started>  <result>  <changed>  <duration>", then its
/// output, indented, when `with_output`.
std::string run_text(const harnesssync::TriggerRun& r, bool with_output);
/// The exit status `hsctl trigger run --wait` gives for a run: its exit
/// code; 124 when it timed out; 128+N when signal N ended it; 0 when it
/// was coalesced (another caller's run covers it); 127 when it could not
/// be started.
int wait_exit_code(const harnesssync::TriggerRun& r);

}  // namespace hsctl
