#!/usr/bin/env bash
# Cold start (docs/PERFORMANCE.md, "hsctl cold start"): from no daemon to the
# first answer, `hsctl ping` against `watchman version`, side by side in one
# run. Cold means: no server of either kind running, and a fresh state dir
# (and socket) for each run; hyperfine's --prepare stops the previous run's
# server, waits until it is gone, and removes its dirs. Nothing of
# ~/.harnesssync or the user's watchman is touched.
# Usage: tests/bench/cold_start.sh [BUILD_DIR] [RUNS]
# With BEFORE=/path/to/an/older/hsctl (its harnesssyncd next to it), that
# one is measured in the same run too, for a before/after comparison.
set -euo pipefail
BUILD=${1:-build}
RUNS=${2:-15}
HSCTL=$(realpath "$BUILD/bin/hsctl")
dir=$(mktemp -d /tmp/hs-cold.XXXXXX)
trap 'sh "$dir/reset-hs"; sh "$dir/reset-wm"; rm -rf "$dir"' EXIT
mkdir -m 700 "$dir/run"
export XDG_RUNTIME_DIR=$dir/run
unset HARNESSSYNC_SOCKET HARNESSSYNC_HOME HARNESSSYNC_NO_SPAWN

# Stops the daemon of the last run (hsctl shutdown returns once it is gone)
# and removes its state dir.
cat > "$dir/reset-hs" <<EOF
"$HSCTL" --state-dir "$dir/hs" --no-spawn shutdown >/dev/null 2>&1 || true
rm -rf "$dir/hs" "$dir/run/harnesssync"
EOF
# The same for watchman: its own socket, state and pid file in $dir/wm.
WM="watchman --sockname=$dir/wm/sock --statefile=$dir/wm/state --logfile=$dir/wm/log --pidfile=$dir/wm/pid"
cat > "$dir/reset-wm" <<EOF
if [ -s "$dir/wm/pid" ]; then
  pid=\$(cat "$dir/wm/pid")
  $WM --no-spawn shutdown-server >/dev/null 2>&1 || kill "\$pid" 2>/dev/null || true
  while kill -0 "\$pid" 2>/dev/null; do sleep 0.01; done
fi
rm -rf "$dir/wm"; mkdir "$dir/wm"
EOF

echo "# $(uname -srm), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
args=(-N --runs "$RUNS" --export-json "$dir/cold.json"
      --prepare "sh $dir/reset-hs" "$HSCTL --state-dir $dir/hs ping")
if [ -n "${BEFORE:-}" ]; then
  args+=(--prepare "sh $dir/reset-hs" "$(realpath "$BEFORE") --state-dir $dir/hs ping")
fi
if command -v watchman >/dev/null; then
  args+=(--prepare "sh $dir/reset-wm" "$WM version")
fi
hyperfine "${args[@]}" >/dev/null 2>&1
python3 - "$dir/cold.json" <<'EOF'
import json, sys
rs = json.load(open(sys.argv[1]))["results"]
wm = [r for r in rs if r["command"].startswith("watchman")]
for i, r in enumerate(rs):
    name = ("hsctl ping" if i == 0 else "hsctl ping (BEFORE)") if "hsctl" in r["command"] else "watchman version"
    line = "cold %s: median %.1f ms, mean %.1f ms, min %.1f ms, max %.1f ms (%d runs)" % (
        name, r["median"] * 1e3, r["mean"] * 1e3, r["min"] * 1e3, r["max"] * 1e3, len(r["times"]))
    if wm and r not in wm:
        line += "; %.2f x watchman's median" % (r["median"] / wm[0]["median"])
    print(line)
EOF
