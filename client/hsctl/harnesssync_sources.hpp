// What the HarnessSync trigger watches and runs (hsctl harnesssync): the
// same list as harnesssync.setup.sources() in Python, byte for byte
// (client/python/tests/test_harnesssync_setup.py pins the two together),
// and the trigger harnesssync.setup.trigger_params() makes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harnesssync/client.hpp"

namespace hsctl {

/// The absolute paths a sync of `projects` reads for the user whose home is
/// `home`: the user's Claude Code sources (and the user-scope plugins'
/// install dirs), then each project's, without duplicates.
std::vector<std::string> harnesssync_sources(const std::string& home, const std::vector<std::string>& projects);

/// HarnessSync's directory: the first user-scope install of the plugin
/// harness-sync listed in <home>/.claude/plugins/installed_plugins.json that
/// holds src/orchestrator.py.
std::optional<std::string> find_harnesssync(const std::string& home);

/// trigger.set's params for the HarnessSync trigger: watching the sources,
/// running `python` -m harnesssync.run_sync over the projects, in the first
/// project (else `home`). `plugin_dir` and `projects` absolute.
harnesssync::TriggerSpec harnesssync_trigger(const std::string& name, const std::string& home,
                                             const std::vector<std::string>& projects, const std::string& plugin_dir,
                                             const std::string& python);

}  // namespace hsctl
