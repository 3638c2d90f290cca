#!/usr/bin/env bash
# The benchmarks of docs/PERFORMANCE.md, against a fresh daemon in a temp
# dir on the same disk as /tmp. Usage: tests/bench/run.sh [BUILD_DIR]
# (build with -DCMAKE_BUILD_TYPE=RelWithDebInfo first; dev.sh run does).
set -euo pipefail
BUILD=${1:-build}
DAEMON=$BUILD/bin/harnesssyncd
BENCH=$BUILD/bin/hs_rpc_bench
SECONDS_EACH=${SECONDS_EACH:-5}
dir=$(mktemp -d /tmp/hs-bench.XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT

echo "# $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# /tmp on: $(df -T /tmp | awk 'NR==2 {print $2, $1}')"
"$DAEMON" --state-dir "$dir/state" --socket "$dir/hs.sock" --log-level warn &
pid=$!
for _ in $(seq 100); do [ -S "$dir/hs.sock" ] && break; sleep 0.05; done
sleep 1
echo "idle RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
"$BENCH" ping "$dir/hs.sock" 32 "$SECONDS_EACH" "$pid"
# The same load against Watchman's "version" (apt-get install watchman), in
# the same run: the ratio of CPU per request is the figure to compare.
if command -v watchman >/dev/null; then
  mkdir -p "$dir/wm"
  watchman --foreground --sockname="$dir/wm/sock" --statefile="$dir/wm/state" --logfile="$dir/wm/log" \
    --pidfile="$dir/wm/pid" >/dev/null 2>&1 &
  wpid=$!
  for _ in $(seq 100); do [ -S "$dir/wm/sock" ] && break; sleep 0.05; done
  sleep 1
  "$BENCH" watchman "$dir/wm/sock" 32 "$SECONDS_EACH" "$wpid"
  "$BENCH" ping "$dir/hs.sock" 32 "$SECONDS_EACH" "$pid"
  kill "$wpid"; wait "$wpid" 2>/dev/null || true
else
  echo "watchman: skipped (apt-get install watchman)"
fi
"$BENCH" ping "$dir/hs.sock" 1 "$SECONDS_EACH"
"$BENCH" record "$dir/hs.sock" 32 "$SECONDS_EACH"
"$BENCH" record "$dir/hs.sock" 1 "$SECONDS_EACH"
echo "RSS after load: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
# hsctl end to end: start the process, connect, call, print. A target with
# five recorded files, hashed by the daemon at each drift call.
if command -v hyperfine >/dev/null; then
  for i in 1 2 3 4 5; do echo "file $i" > "$dir/f$i"; done
  HSCTL="$BUILD/bin/hsctl --socket $dir/hs.sock --state-dir $dir/state"
  $HSCTL record codex --scope all --file "$dir/f1" --file "$dir/f2" --file "$dir/f3" --file "$dir/f4" --file "$dir/f5" >/dev/null
  hyperfine -N --warmup 50 --runs 1000 --export-json "$dir/hsctl.json" "$HSCTL drift codex" >/dev/null 2>&1
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print('hsctl drift codex: median %.2f ms, mean %.2f ms, min %.2f ms, max %.2f ms (%d runs)' % (r['median']*1e3, r['mean']*1e3, r['min']*1e3, r['max']*1e3, len(r['times'])))" "$dir/hsctl.json"
  hyperfine -N --warmup 50 --runs 500 --export-json "$dir/true.json" /bin/true >/dev/null 2>&1
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print('/bin/true (process start alone): median %.2f ms' % (r['median']*1e3))" "$dir/true.json"
else
  echo "hsctl: skipped (apt-get install hyperfine)"
fi
kill "$pid"; wait "$pid" || true
# Abuse: another client's ping latency under a 1,024 x state.all batch and 8
# clients that never read, and the peak RSS; on a fresh daemon.
"$DAEMON" --state-dir "$dir/abuse" --socket "$dir/abuse.sock" --log-level warn &
pid=$!
for _ in $(seq 100); do [ -S "$dir/abuse.sock" ] && break; sleep 0.05; done
python3 "$(dirname "$0")/abuse.py" "$dir/abuse.sock" "$pid" "$dir/abuse/state.json"
kill "$pid"; wait "$pid" || true
"$BENCH" store "$dir/serial" "$SECONDS_EACH"
