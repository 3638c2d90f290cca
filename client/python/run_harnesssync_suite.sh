#!/bin/sh
# HarnessSync's own test suite, with the two drop-ins of docs/HARNESSSYNC.md
# (state_manager and lock) appended to a copy of its tree, this package first
# on the path, and this build's harnesssyncd. It needs HarnessSync's source,
# so it is not part of ctest (CI has neither the source nor a network).
#
#   client/python/run_harnesssync_suite.sh HARNESSSYNC [pytest args...]
#
# HARNESSSYNC: a HarnessSync 0.1.4 checkout, or a git dir of one (its HEAD is
# used). The run gets its own HOME and XDG_RUNTIME_DIR, so it never reaches
# the user's daemon or ~/.harnesssync; every daemon it started is stopped at
# the end. Environment: HS_DAEMON, HS_HSCTL (default: build/bin/), PYTHON
# (default python3; it needs pytest). Exits with pytest's status.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 HARNESSSYNC [pytest args...]" >&2; exit 2; }
src=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
daemon=${HS_DAEMON:-$root/build/bin/harnesssyncd}
hsctl=${HS_HSCTL:-$(dirname "$daemon")/hsctl}
python=${PYTHON:-python3}
[ -x "$daemon" ] && [ -x "$hsctl" ] || { echo "$0: no $daemon or $hsctl: build first" >&2; exit 2; }

work=$(mktemp -d /tmp/hs-suite.XXXXXX)
cleanup() {
  for sock in "$work"/run/harnesssync/*.sock; do
    [ -S "$sock" ] && "$hsctl" --socket "$sock" --timeout 30 shutdown >/dev/null 2>&1 &
  done
  wait
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -m 700 "$work/tree" "$work/home" "$work/run"
if [ -f "$src/src/state_manager.py" ]; then
  cp -R "$src/." "$work/tree/"
else
  git -C "$src" archive HEAD | tar -x -C "$work/tree"
fi
echo 'from harnesssync.state_manager import StateManager  # noqa: E402,F401,F811  harnesssyncd' \
  >>"$work/tree/src/state_manager.py"
echo 'from harnesssync.lock import DEBOUNCE_SECONDS, LOCK_FILE_DEFAULT, should_debounce, sync_lock  # noqa: E402,F401,F811  harnesssyncd' \
  >>"$work/tree/src/lock.py"

cd "$work/tree"
set +e
env -u HARNESSSYNC_HOME -u HARNESSSYNC_SOCKET -u HARNESSSYNC_SCHEMA -u HARNESSSYNC_NO_SPAWN \
  HOME="$work/home" XDG_RUNTIME_DIR="$work/run" PYTHONPATH="$here" PYTHONDONTWRITEBYTECODE=1 \
  HARNESSSYNC_DAEMON="$daemon" "$python" -m pytest -q -p no:cacheprovider tests "$@"
status=$?
set -e
echo "daemons started: $(ls "$work"/run/harnesssync/*.sock 2>/dev/null | wc -l)"
exit $status
