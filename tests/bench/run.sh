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
"$BENCH" ping "$dir/hs.sock" 32 "$SECONDS_EACH"
"$BENCH" ping "$dir/hs.sock" 1 "$SECONDS_EACH"
"$BENCH" record "$dir/hs.sock" 32 "$SECONDS_EACH"
"$BENCH" record "$dir/hs.sock" 1 "$SECONDS_EACH"
echo "RSS after load: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
kill "$pid"; wait "$pid" || true
"$BENCH" store "$dir/serial" "$SECONDS_EACH"
