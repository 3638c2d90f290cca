#!/usr/bin/env python3
"""Triggers (issue 18) and the bounded lock table (issue 17 item 7), measured
(docs/PERFORMANCE.md, "Triggers (issue 18)").

Usage: tests/bench/trigger_bench.py BUILD_DIR MODE [ARGS]

  latency [EDITS=1000] [SETTLE_MS=100]
      edit -> command started: one edit at a time (each run ends before the
      next edit); the command is hs_trigger_stamp, which notes the wall clock
      as its first act. Prints p50/p99 of (start - edit) and of that minus
      settle_ms.
  storm [EDITS=10000]
      random edits in bursts to 20 files of a tree; the command records its
      start and end, and what it read of one file. Counts lost edits (a file
      whose last content no run read after the last edit; a path edited that
      reached no run's stdin) and overlapping runs.
  hook HARNESSSYNC_SRC [RUNS=5]
      HarnessSync's own PostToolUse hook on a CLAUDE.md edit (its whole sync,
      3.2 s apart so that its debounce never skips one) against `hsctl trigger
      run` of a trigger (which queues the run and returns), side by side.
  rss [TRIGGERS=10] [FILES=1000]
      the daemon's idle RSS before and after TRIGGERS triggers watch FILES
      files (split between them), once the watches are set.
  locks [TABLE=200000] [HOOKS=50] [PER_CONNECTION=1024]
      another client's daemon.ping while HOOKS `hsctl lock sync --coalesce --
      true` run at once, with TABLE lock names held by other connections
      (PER_CONNECTION each: 1,024 is the cap; a daemon without one takes them
      all on one), and the daemon's RSS.
"""
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from bench_support import Conn, fresh_daemon, machine, pct

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
MODE = sys.argv[2] if len(sys.argv) > 2 else "latency"
ARGS = sys.argv[3:]
HSCTL = os.path.join(BUILD, "bin", "hsctl")
STAMP = os.path.abspath(os.path.join(BUILD, "bin", "hs_trigger_stamp"))


def arg(i, default):
    return type(default)(ARGS[i]) if len(ARGS) > i else default


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_idle(c, name, runs):
    while True:
        t = [x for x in c.call("trigger.list") if x["name"] == name][0]
        if t["state"] == "idle" and not t["owed"] and t["runs"] >= runs:
            return t
        time.sleep(0.002)


def latency():
    edits, settle = arg(0, 1000), arg(1, 100)
    with fresh_daemon(BUILD, "hs-trig-lat.") as (daemon, d, sock):
        c = Conn(sock)
        w = os.path.join(d, "w")
        os.mkdir(w)
        log = os.path.join(d, "stamps")
        c.call("trigger.set", {"name": "lat", "watch": [w], "command": [STAMP, log], "settle_ms": settle,
                               "max_wait_ms": 60000, "lock": None})
        lat = []
        for i in range(edits):
            t0 = time.time_ns()
            with open(os.path.join(w, "f"), "w") as f:
                f.write(str(i))
            wait_idle(c, "lat", i + 1)
            with open(log) as f:
                started = int(f.read().splitlines()[i])
            lat.append((started - t0) / 1e6)
        print(machine())
        print("edit -> command started, settle_ms %d, %d edits" % (settle, edits))
        print("  p50 %.1f ms (settle + %.1f)  p99 %.1f ms (settle + %.1f)  max %.1f ms" %
              (pct(lat, 50), pct(lat, 50) - settle, pct(lat, 99), pct(lat, 99) - settle, max(lat)))


STORM_CMD = r'''
n=$(( $(grep -c '^s' "$LOG" 2>/dev/null || echo 0) + 1 ))
echo "s $n" >> "$LOG"
cat > "$LOG.in.$n"
echo "$n $(cat "$SEE")" >> "$LOG.seen"
echo "e $n" >> "$LOG"
'''


def storm():
    edits = arg(0, 10000)
    rng = random.Random(18)
    with fresh_daemon(BUILD, "hs-trig-storm.") as (daemon, d, sock):
        c = Conn(sock)
        w = os.path.join(d, "w")
        os.makedirs(os.path.join(w, "sub"))
        log = os.path.join(d, "log")
        see = os.path.join(w, "sub", "CLAUDE.md")
        c.call("trigger.set", {"name": "storm", "watch": [w], "command": ["/bin/sh", "-c", STORM_CMD],
                               "env": {"LOG": log, "SEE": see}, "settle_ms": 20, "max_wait_ms": 200})
        files = [see] + [os.path.join(w, "sub" if i % 2 else "", "f%d" % i) for i in range(19)]
        edited, final, done = set(), "", 0
        t0 = time.monotonic()
        while done < edits:
            for _ in range(rng.randint(1, 50)):
                path = rng.choice(files)
                final_text = "v%d" % done
                with open(path, "w") as f:
                    f.write(final_text)
                if path == see:
                    final = final_text
                edited.add(path)
                done += 1
                if rng.random() < 0.3:
                    time.sleep(rng.choice([0.0005, 0.002, 0.01]))
            time.sleep(rng.choice([0, 0.005, 0.03, 0.1]))
        wait_idle(c, "storm", 1)
        seconds = time.monotonic() - t0
        overlaps, runs, open_run = 0, 0, None
        with open(log) as f:
            for line in f:
                kind, n = line.split()
                if kind == "s":
                    overlaps += open_run is not None
                    open_run, runs = n, runs + 1
                else:
                    open_run = None
        with open(log + ".seen") as f:
            last_seen = f.read().splitlines()[-1].split(" ", 1)[1]
        reached = set()
        for n in range(1, runs + 1):
            with open("%s.in.%d" % (log, n)) as f:
                reached.update(f.read().splitlines())
        lost = len(edited - reached) + (last_seen != final)
        print(machine())
        print("%d edits in %.1f s, %d runs: %d lost, %d overlaps (last run read %r, final %r)" %
              (edits, seconds, runs, lost, overlaps, last_seen, final))


def hook():
    src = ARGS[0]
    runs = arg(1, 5)
    with fresh_daemon(BUILD, "hs-trig-hook.") as (daemon, d, sock):
        home, proj = os.path.join(d, "home"), os.path.join(d, "proj")
        os.makedirs(home)
        os.makedirs(proj)
        with open(os.path.join(proj, "CLAUDE.md"), "w") as f:
            f.write("# Rules\n- be nice\n")
        event = json.dumps({"tool_name": "Edit", "tool_input": {"file_path": os.path.join(proj, "CLAUDE.md")}})
        env = dict(os.environ, HOME=home, CLAUDE_PROJECT_DIR=proj)
        hook_s = []
        for i in range(runs + 1):
            with open(os.path.join(proj, "CLAUDE.md"), "a") as f:
                f.write("- edit %d\n" % i)
            t0 = time.monotonic()
            r = subprocess.run([sys.executable, os.path.join(src, "src/hooks/post_tool_use.py")], input=event,
                               capture_output=True, text=True, env=env, cwd=proj)
            took = time.monotonic() - t0
            assert "synced" in r.stderr, r.stderr[-500:]
            if i > 0:  # the first run also makes HarnessSync's dirs
                hook_s.append(took)
            time.sleep(3.2)  # past its debounce, so that every run syncs
        c = Conn(sock)
        c.call("trigger.set", {"name": "harnesssync", "watch": [proj], "command": ["/bin/true"]})
        henv = dict(os.environ, HARNESSSYNC_SOCKET=sock, HARNESSSYNC_NO_SPAWN="1")
        hsctl_s = []
        for _ in range(50):
            t0 = time.monotonic()
            subprocess.run([HSCTL, "trigger", "run", "harnesssync"], stdout=subprocess.DEVNULL, env=henv, check=True)
            hsctl_s.append(time.monotonic() - t0)
        a, b = statistics.median(hsctl_s), statistics.median(hook_s)
        print(machine())
        print("HarnessSync's hook on a CLAUDE.md edit: median %.1f ms (%s)" %
              (b * 1e3, ", ".join("%.0f" % (x * 1e3) for x in hook_s)))
        print("hsctl trigger run: median %.2f ms over %d, p99 %.2f ms" % (a * 1e3, len(hsctl_s), pct(hsctl_s, 99) * 1e3))
        print("ratio %.4f x" % (a / b))


def rss():
    triggers, files = arg(0, 10), arg(1, 1000)
    with fresh_daemon(BUILD, "hs-trig-rss.") as (daemon, d, sock):
        c = Conn(sock)
        c.call("daemon.ping")
        time.sleep(1)
        before = rss_kb(daemon.pid)
        for t in range(triggers):
            root = os.path.join(d, "t%d" % t)
            for i in range(files // triggers):
                sub = os.path.join(root, "d%d" % (i % 10))
                os.makedirs(sub, exist_ok=True)
                with open(os.path.join(sub, "f%d" % i), "w") as f:
                    f.write("x")
            c.call("trigger.set", {"name": "t%d" % t, "watch": [root], "command": ["/bin/true"]})
        info = c.call("daemon.info")["triggers"]
        time.sleep(2)
        after = rss_kb(daemon.pid)
        print(machine())
        print("idle RSS %d kB before, %d kB with %d triggers watching %d files (%d dirs, %d watches): +%d kB" %
              (before, after, triggers, files, info["watch"]["dirs"], info["watch"]["watches"], after - before))


def locks():
    table, hooks, per = arg(0, 200000), arg(1, 50), arg(2, 1024)
    with fresh_daemon(BUILD, "hs-trig-locks.") as (daemon, d, sock):
        holders = []
        for k in range(0, table, per):
            c = Conn(sock)
            n = min(per, table - k)
            for j in range(0, n, 1024):  # sent in slices: the daemon reads on only as answers are read
                m = min(1024, n - j)
                c.s.sendall(b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"lock.acquire","params":{"name":"n%d"}}\n'
                                     % (i + 1, k + j + i) for i in range(m)))
                for _ in range(m):
                    c.read()
            holders.append(c)
        base = Conn(sock)
        info = base.call("daemon.info")["locks"]
        rss_table = rss_kb(daemon.pid)
        pings, stop = [], threading.Event()

        def pinger():
            p = Conn(sock)
            while not stop.is_set():
                t0 = time.perf_counter()
                p.call("daemon.ping")
                pings.append((time.perf_counter() - t0) * 1e3)

        th = threading.Thread(target=pinger)
        th.start()
        henv = dict(os.environ, HARNESSSYNC_SOCKET=sock, HARNESSSYNC_NO_SPAWN="1")
        t0 = time.monotonic()
        procs = [subprocess.Popen([HSCTL, "lock", "sync", "--coalesce", "--", "true"], env=henv,
                                  stderr=subprocess.DEVNULL) for _ in range(hooks)]
        for p in procs:
            p.wait()
        took = time.monotonic() - t0
        stop.set()
        th.join()
        print(machine())
        print("table: %d names held by %d connections (%s), daemon RSS %d kB" % (table, len(holders), info, rss_table))
        print("%d hsctl lock hooks in %.2f s; another client's ping over %d: p50 %.2f ms, p99 %.2f ms, max %.2f ms" %
              (hooks, took, len(pings), pct(pings, 50), pct(pings, 99), max(pings)))


if __name__ == "__main__":
    {"latency": latency, "storm": storm, "hook": hook, "rss": rss, "locks": locks}[MODE]()
