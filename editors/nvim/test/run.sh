#!/usr/bin/env bash
# The Neovim plugin against a real harnesssyncd, headless (ctest: editor_nvim).
# HS_HSCTL (and the harnesssyncd next to it) come from the build. Everything
# lives in a temp dir under /tmp: state dir, runtime dir, the plugin's copy
# (its help tags are generated there, not in the source tree).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
: "${HS_HSCTL:?HS_HSCTL must name the hsctl to test with}"
if ! command -v nvim >/dev/null; then
  if [ "${CI:-}" = true ]; then echo "editor_nvim: nvim is not installed (apt-get install neovim)" >&2; exit 1; fi
  echo "editor_nvim: SKIPPED: nvim is not installed (apt-get install neovim)"; exit 77
fi
tmp=$(mktemp -d /tmp/hs-nvim.XXXXXX)
export XDG_RUNTIME_DIR=$tmp/run XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data XDG_STATE_HOME=$tmp/state-home
export HARNESSSYNC_HOME=$tmp/hs HS_TMP=$tmp HS_TEST_DIR=$here
mkdir -m 700 "$XDG_RUNTIME_DIR"
sock=$("$HS_HSCTL" socket-path)
cleanup() {
  "$HS_HSCTL" --no-spawn --timeout 5 shutdown >/dev/null 2>&1 || true
  # A daemon that did not stop: its pid is in the socket's lock file.
  if [ -s "$sock.lock" ]; then kill "$(cat "$sock.lock")" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

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
echo "--- no daemon and no hsctl: one message"
nvim_run "$here/nodaemon.lua"
echo "editor_nvim: all passed"
