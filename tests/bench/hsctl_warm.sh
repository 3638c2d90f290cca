#!/usr/bin/env bash
# hsctl per call (docs/PERFORMANCE.md, "hsctl end to end"): `hsctl drift
# codex` against a running daemon, for a target with five recorded files
# that the daemon hashes at each call, side by side with `watchman version`
# against a running watchman, in one hyperfine run. Both servers are private
# to this run (their own sockets in a temp dir).
# Usage: tests/bench/hsctl_warm.sh [BUILD_DIR] [RUNS]
# With BEFORE=/path/to/an/older/hsctl, that one is measured in the same run
# too (against the same daemon).
set -euo pipefail
BUILD=${1:-build}
RUNS=${2:-1000}
HSCTL=$(realpath "$BUILD/bin/hsctl")
DAEMON=$(realpath "$BUILD/bin/harnesssyncd")
dir=$(mktemp -d /tmp/hs-warm.XXXXXX)
chmod 700 "$dir"
trap 'kill "$pid" 2>/dev/null || true; [ -n "${wpid:-}" ] && kill "$wpid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
unset HARNESSSYNC_SOCKET HARNESSSYNC_HOME HARNESSSYNC_NO_SPAWN

"$DAEMON" --state-dir "$dir/state" --socket "$dir/hs.sock" --log-level warn &
pid=$!
for _ in $(seq 200); do [ -S "$dir/hs.sock" ] && break; sleep 0.05; done
for i in 1 2 3 4 5; do echo "file $i" > "$dir/f$i"; done
H="$HSCTL --socket $dir/hs.sock --state-dir $dir/state"
$H record codex --scope all --file "$dir/f1" --file "$dir/f2" --file "$dir/f3" --file "$dir/f4" --file "$dir/f5" >/dev/null

echo "# $(uname -srm), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
cmds=("$H drift codex")
if [ -n "${BEFORE:-}" ]; then
  cmds+=("$(realpath "$BEFORE") --socket $dir/hs.sock --state-dir $dir/state drift codex")
fi
if command -v watchman >/dev/null; then
  mkdir "$dir/wm"
  WM="watchman --sockname=$dir/wm/sock --statefile=$dir/wm/state --logfile=$dir/wm/log --pidfile=$dir/wm/pid"
  $WM --foreground >/dev/null 2>&1 &
  wpid=$!
  for _ in $(seq 200); do [ -S "$dir/wm/sock" ] && break; sleep 0.05; done
  cmds+=("$WM version")
fi
hyperfine -N --warmup 50 --runs "$RUNS" --export-json "$dir/warm.json" "${cmds[@]}" >/dev/null 2>&1
python3 - "$dir/warm.json" <<'EOF'
import json, sys
rs = json.load(open(sys.argv[1]))["results"]
wm = [r for r in rs if r["command"].startswith("watchman")]
for i, r in enumerate(rs):
    name = ("hsctl drift codex" if i == 0 else "hsctl drift codex (BEFORE)") if r not in wm else "watchman version"
    line = "%s: median %.3f ms, mean %.3f ms, min %.3f ms (%d runs)" % (
        name, r["median"] * 1e3, r["mean"] * 1e3, r["min"] * 1e3, len(r["times"]))
    if wm and r not in wm:
        line += "; %.2f x watchman's median" % (r["median"] / wm[0]["median"])
    print(line)
EOF
