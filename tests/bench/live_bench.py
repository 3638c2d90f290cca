#!/usr/bin/env python3
"""Live drift benchmark of docs/PERFORMANCE.md ("Live drift (issue 10)").

Usage: tests/bench/live_bench.py [BUILD_DIR]

Everything against build/bin/harnesssyncd and build/bin/hsctl, ratios in
the same run:
1. state.drift of 10,000 tracked, unchanged 1 KB files, no subscriber (stat
   cache, one stat per file) vs `git status --porcelain` on the same files,
   and the floor: the same stats alone (hs_stat_floor, when built);
2. the same with a subscriber holding the target (watched: no system call
   per file), at the socket;
3. change-to-notification latency over 1,000 edits (p50, p99);
4. idle RSS with the 10,000 files watched, and the directory watches used;
5. cold hashing of 4 x 200 MB files: `hsctl hash` vs `sha256sum` (page
   cache warm for both: "cold" is the daemon's stat cache, not the disk).
Parts 2-4 need state.subscribe; they are skipped when the daemon lacks it.
HS_BENCH_PARTS=drift,watch,latency,hash selects parts.
"""
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

from bench_support import Conn, fresh_daemon, machine, pct

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
N_FILES = int(os.environ.get("HS_BENCH_FILES", "10000"))
N_EDITS = int(os.environ.get("HS_BENCH_EDITS", "1000"))
PARTS = set(os.environ.get("HS_BENCH_PARTS", "drift,watch,latency,hash").split(","))
RACY_MARGIN_S = 2.0


def ms(x):
    return "%.2f ms" % (x * 1000)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def timed(fn, runs):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def make_tree(root, n):
    paths = []
    per_dir = 1000
    for i in range(n):
        d = os.path.join(root, "d%02d" % (i // per_dir))
        if i % per_dir == 0:
            os.makedirs(d, exist_ok=True)
        p = os.path.join(d, "f%05d.md" % i)
        with open(p, "wb") as f:
            f.write(((b"%05d" % i) * 205)[:1024])
        paths.append(p)
    return paths


def sha(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    with fresh_daemon(BUILD, "hs-lbench.") as (daemon, tmp, sock):
        print(machine())
        c = Conn(sock)
        info = c.call("daemon.info")
        has_subscribe = "state.subscribe" in info["methods"]

        root = os.path.join(tmp, "files")
        paths = make_tree(root, N_FILES)
        c.call("state.record", {"target": "bench", "scope": "all", "file_hashes": {p: sha(p) for p in paths},
                                "synced": len(paths), "skipped": 0, "failed": 0})
        subprocess.run(["git", "init", "-q", root], check=True)
        subprocess.run(["git", "-C", root, "add", "-A"], check=True)
        subprocess.run(["git", "-C", root, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "x"],
                       check=True)
        time.sleep(RACY_MARGIN_S + 0.5)  # old enough for the stat cache (and for git's racy check)

        drift = lambda: c.call("state.drift", {"target": "bench"})  # noqa: E731
        if "drift" in PARTS:
            t0 = time.perf_counter()
            d = drift()  # cold: hashes every file once
            print("cold drift of %d files (every one opened and hashed): %s" % (len(paths), ms(time.perf_counter() - t0)))
            assert d["drifted"] == [], d["drifted"][:3]
            drift()
            runs = 30
            t_git, t_drift = [], []
            for _ in range(runs):  # interleaved: both see the same load
                t_git += timed(lambda: subprocess.run(["git", "-C", root, "status", "--porcelain"], check=True,
                                                      stdout=subprocess.DEVNULL), 1)
                t_drift += timed(drift, 1)
            g, dr = statistics.median(t_git), statistics.median(t_drift)
            print("drift, %d unchanged files, no subscriber (stat cache): median %s, p90 %s" %
                  (N_FILES, ms(dr), ms(pct(t_drift, 90))))
            print("git status --porcelain, same files:                 median %s, p90 %s" %
                  (ms(g), ms(pct(t_git, 90))))
            print("ratio drift / git status: %.2f (goal <= 0.5)" % (dr / g))
            floor = os.path.join(BUILD, "bin", "hs_stat_floor")
            if os.path.exists(floor):  # the same fstatat calls alone, on the hashing threads' count
                out = subprocess.run([floor, str(max(2, os.cpu_count())), str(runs)], check=True, text=True,
                                     input="\n".join(paths) + "\n", stdout=subprocess.PIPE).stdout
                print(out.strip())

        if not has_subscribe:
            print("state.subscribe not served by this daemon: watch, latency and memory parts skipped")
        else:
            time.sleep(1.0)
            rss_unwatched = rss_kb(daemon.pid)
            sub = Conn(sock)
            sub.call("state.subscribe", {"targets": ["bench"]})
            first = sub.read()  # the initial state.drifted
            assert first.get("method") == "state.drifted", first
            time.sleep(1.0)
            winfo = c.call("daemon.info")["watch"]
            if "watch" in PARTS:
                drift()
                t = timed(drift, 200)
                print("drift, %d unchanged files, watched (subscriber): median %s, p90 %s, p99 %s (goal <= 1 ms)" %
                      (N_FILES, ms(statistics.median(t)), ms(pct(t, 90)), ms(pct(t, 99))))
            time.sleep(2.0)
            print("idle RSS with %d watched files: %d KB (%d KB before the subscriber); watch %s" %
                  (N_FILES, rss_kb(daemon.pid), rss_unwatched, json.dumps(winfo)))
            if "latency" in PARTS:
                lat = []
                f = paths[N_FILES // 2]
                with open(f, "rb") as fh:
                    original = fh.read()
                for i in range(N_EDITS):
                    data = original if i % 2 else b"#" * 1024
                    want = [] if i % 2 else [f]
                    with open(f, "wb") as fh:
                        fh.write(data)
                    t0 = time.perf_counter()
                    while True:
                        m = sub.read()
                        if m.get("method") == "state.drifted" and m["params"]["changed"] == want:
                            break
                    lat.append(time.perf_counter() - t0)
                print("change -> state.drifted over %d edits: p50 %s, p99 %s, max %s (goal p99 <= 250 ms)" %
                      (N_EDITS, ms(pct(lat, 50)), ms(pct(lat, 99)), ms(max(lat))))

        if "hash" in PARTS:
            big = []
            for i in range(4):
                p = os.path.join(tmp, "big%d" % i)
                with open(p, "wb") as fh:
                    fh.write(os.urandom(1 << 20) * 200)
                big.append(p)
            hsctl = [os.path.join(BUILD, "bin", "hsctl"), "--socket", sock, "--no-spawn", "--timeout", "600", "hash"]
            subprocess.run(["sha256sum"] + big, check=True, stdout=subprocess.DEVNULL)  # page cache warm
            t_sum, t_hs = [], []
            for _ in range(3):
                t_sum += timed(lambda: subprocess.run(["sha256sum"] + big, check=True, stdout=subprocess.DEVNULL), 1)
                t_hs += timed(lambda: subprocess.run(hsctl + big, check=True, stdout=subprocess.DEVNULL), 1)
            s, h = min(t_sum), min(t_hs)
            print("4 x 200 MB: sha256sum best %s, hsctl hash best %s: %.2fx as fast (goal >= 1.6x); %d hash workers" %
                  (ms(s), ms(h), s / h, os.cpu_count() if os.cpu_count() > 2 else 2))
        print("# load average after: %s" % " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
