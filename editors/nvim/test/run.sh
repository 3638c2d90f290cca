#!/usr/bin/env bash
# The Neovim plugin against a real harnesssyncd, headless (ctest: editor_nvim).
# HS_HSCTL (and the harnesssyncd next to it) come from the build. Everything
# lives in a temp dir under /tmp: state dir, runtime dir, the plugin's copy
# (its help tags are generated there, not in the source tree).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
. "$(dirname "$src")/test_env.sh"
hs_editor_test_env editor_nvim nvim neovim
export XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data XDG_STATE_HOME=$tmp/state-home HS_TEST_DIR=$here

cp -r "$src" "$tmp/plugin"
rm -rf "$tmp/plugin/test"
nvim_run() {
  nvim --headless -u NONE -i NONE -n --cmd "set rtp^=$tmp/plugin" --cmd "runtime plugin/harnesssync.lua" \
    -c "luafile $1" 2>&1
}

# A tracked file; then stop the daemon, so the plugin has to start it.
export HS_FILE=$tmp/work/AGENTS.md
mkdir -p "$tmp/work" && echo "synced" > "$HS_FILE"
"$HS_HSCTL" record codex --scope all --synced 1 --file "$HS_FILE" >/dev/null
"$HS_HSCTL" shutdown >/dev/null

echo "--- live: autostart, drift after an edit, accept, restart, sync, protocol warning"
nvim_run "$here/live.lua"
echo "--- triggers: syncing while a run goes on, the failed run's tail, the log, coalesced runs"
nvim_run "$here/triggers.lua"
echo "--- no daemon and no hsctl: one message"
nvim_run "$here/nodaemon.lua"
echo "editor_nvim: all passed"
