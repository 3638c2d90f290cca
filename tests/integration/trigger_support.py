"""Helpers for the trigger tests (docs/PROTOCOL.md, "Triggers"): a command
that records each run (start, end, stdin, what it saw), and waits on the
daemon's own view (trigger.list) instead of sleeps."""
import json
import os
import time

# A run recorder: appends "start <run> <epoch>" and "end <run> <epoch>"
# lines to $LOG around an optional pause, keeps each run's stdin in
# $LOG.stdin.<n>, and appends what $SEE held to $LOG.seen. Runs that
# overlapped would interleave their start and end lines.
RECORDER = r'''
n=$(( $(grep -c '^start' "$LOG" 2>/dev/null || echo 0) + 1 ))
echo "start $n $(date +%s.%N)" >> "$LOG"
cat > "$LOG.stdin.$n"
if [ -n "$SEE" ]; then echo "$n $(cat "$SEE" 2>/dev/null)" >> "$LOG.seen"; fi
if [ -n "$PAUSE" ]; then sleep "$PAUSE"; fi
echo "end $n $(date +%s.%N)" >> "$LOG"
'''


def wait_until(pred, timeout=30.0, what="condition", every=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(every)
    raise AssertionError("timed out waiting for " + what)


def trigger(c, name):
    for t in c.call("trigger.list"):
        if t["name"] == name:
            return t
    raise AssertionError("no trigger " + name)


def settled(c, name, runs=None):
    """Waits until `name` is idle with nothing owed (and, with `runs`, has
    made at least that many runs); returns its entry."""
    def ok():
        t = trigger(c, name)
        if t["state"] in ("idle", "paused") and not t["owed"] and (runs is None or t["runs"] >= runs):
            return t
        return None
    return wait_until(ok, what="trigger %s to settle" % name)


def set_recorder(c, name, watch, log, settle_ms=100, see=None, pause=None, **kw):
    env = {"LOG": log}
    if see:
        env["SEE"] = see
    if pause:
        env["PAUSE"] = str(pause)
    params = {"name": name, "watch": watch, "command": ["/bin/sh", "-c", RECORDER], "env": env,
              "settle_ms": settle_ms}
    params.update(kw)
    return c.call("trigger.set", params)


def runs_of(log):
    """[(run, start, end or None)] from a recorder's log, in the order written;
    AssertionError if two runs overlapped (a start before the last end)."""
    out = []
    if not os.path.exists(log):
        return out
    open_run = None
    with open(log) as f:
        for line in f:
            kind, n, t = line.split()
            if kind == "start":
                assert open_run is None, "run %s started while run %s ran" % (n, open_run)
                open_run = n
                out.append([int(n), float(t), None])
            else:
                assert open_run == n, "run %s ended while %s ran" % (n, open_run)
                open_run = None
                out[-1][2] = float(t)
    return out


def stdin_of(log, n):
    with open("%s.stdin.%d" % (log, n)) as f:
        return f.read().splitlines()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def read_json(path):
    with open(path) as f:
        return json.load(f)
