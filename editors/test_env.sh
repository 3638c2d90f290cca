# Sourced by editors/*/test/run.sh: what every editor test needs before it
# starts its editor against a real harnesssyncd.
#
# hs_editor_test_env NAME COMMAND PACKAGE
#   Without COMMAND: fails in CI (CI=true), else skips (exit 77, ctest's
#   SKIP_RETURN_CODE), naming the Debian PACKAGE to install. Then makes
#   $tmp, a temp dir under /tmp removed at exit, and exports a private
#   runtime dir and HARNESSSYNC_HOME in it (so the daemon the test starts
#   is its own) and HS_TMP. At exit the daemon is stopped: asked to, then
#   killed by the pid in its socket's lock file. HS_FLOOD is test_flood.py,
#   which makes the daemon owe a subscriber that does not read a resync.
# HS_HSCTL (and the harnesssyncd next to it) come from the build.
hs_editor_test_env() {
  local name=$1 cmd=$2 pkg=$3
  : "${HS_HSCTL:?HS_HSCTL must name the hsctl to test with}"
  if ! command -v "$cmd" >/dev/null; then
    if [ "${CI:-}" = true ]; then echo "$name: $cmd is not installed (apt-get install $pkg)" >&2; exit 1; fi
    echo "$name: SKIPPED: $cmd is not installed (apt-get install $pkg)"; exit 77
  fi
  tmp=$(mktemp -d "/tmp/hs-$cmd.XXXXXX")
  export XDG_RUNTIME_DIR=$tmp/run HARNESSSYNC_HOME=$tmp/hs HS_TMP=$tmp
  HS_FLOOD=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/test_flood.py
  export HS_FLOOD
  mkdir -m 700 "$XDG_RUNTIME_DIR"
  trap hs_editor_test_cleanup EXIT
}

hs_editor_test_cleanup() {
  # The socket is named at exit, from the environment the test ran with.
  local sock
  sock=$("$HS_HSCTL" socket-path 2>/dev/null) || sock=
  "$HS_HSCTL" --no-spawn --timeout 5 shutdown >/dev/null 2>&1 || true
  # A daemon that did not stop: its pid is in the socket's lock file.
  if [ -n "$sock" ] && [ -s "$sock.lock" ]; then kill "$(cat "$sock.lock")" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
