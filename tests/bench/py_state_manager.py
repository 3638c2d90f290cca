#!/usr/bin/env python3
"""Benchmark: HarnessSync's StateManager through harnesssyncd (the Python
harnesssync.StateManager) against the pure-Python original, on this machine.

    HS_DAEMON=build/bin/harnesssyncd python3 tests/bench/py_state_manager.py [--records N] [--dir DIR]

Measures record_sync and detect_drift calls per second from 1 process and
from 16, and counts the records each side loses with 16 concurrent writers.
The original is re-implemented here faithfully to its design (see
docs/PERFORMANCE.md): every record_sync reads state.json, changes it, and
writes it whole (temp file in the state dir, fsync, os.replace), as each
HarnessSync command that makes a fresh StateManager() does. "orig+dir" adds
the directory fsync the daemon does (and the original lacks), for a
comparison at equal durability.
Results go to stdout as a table; see docs/PERFORMANCE.md for measured figures.
"""
import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "client", "python"))

from harnesssync import Client, StateManager, paths  # noqa: E402

HASHES = {"/home/u/.codex/file%d.md" % i: "%064x" % i for i in range(10)}
CURRENT = dict(HASHES, **{"/home/u/.codex/file3.md": "f" * 64})


class OriginalStateManager:
    """The original's persistence pattern: load on construction, and a whole
    file rewrite (temp file, fsync, os.replace) on every change. No locking."""

    def __init__(self, state_dir, dir_fsync=False):
        self.state_dir = state_dir
        self.dir_fsync = dir_fsync
        self.path = os.path.join(state_dir, "state.json")
        try:
            with open(self.path, encoding="utf-8") as f:
                self.state = json.load(f)
        except (OSError, ValueError):
            self.state = {"version": 1, "targets": {}}

    def _save(self):
        os.makedirs(self.state_dir, exist_ok=True)
        tmp = tempfile.NamedTemporaryFile(mode="w", dir=self.state_dir, suffix=".tmp", delete=False,
                                          encoding="utf-8")
        try:
            json.dump(self.state, tmp, indent=2, ensure_ascii=False)
            tmp.write("\n")
            tmp.flush()
            os.fsync(tmp.fileno())
            tmp.close()
            os.replace(tmp.name, self.path)
            if self.dir_fsync:  # what the original lacks to make the rename itself durable
                fd = os.open(self.state_dir, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except BaseException:
            tmp.close()
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)
            raise

    def record_sync(self, target, scope, file_hashes, sync_methods, synced, skipped, failed):
        status = "success" if failed == 0 else ("partial" if synced > 0 else "failed")
        now = datetime.now().isoformat()
        self.state.setdefault("targets", {})[target] = {
            "last_sync": now, "status": status, "scope": scope, "file_hashes": file_hashes,
            "sync_method": sync_methods, "items_synced": synced, "items_skipped": skipped, "items_failed": failed}
        self.state["last_sync"] = now
        self._save()

    def detect_drift(self, target, current_hashes):
        entry = self.state.get("targets", {}).get(target)
        if not entry:
            return list(current_hashes)
        stored = entry.get("file_hashes", {})
        out = [p for p, h in current_hashes.items() if stored.get(p) != h]
        return out + [p for p in stored if p not in current_hashes]


def original_record(state_dir, target, dir_fsync=False):
    # A fresh instance per change: read, modify, write (as each HarnessSync command does).
    OriginalStateManager(state_dir, dir_fsync).record_sync(target, "all", HASHES, {}, 1, 0, 0)


def original_drift(state_dir, target):
    return OriginalStateManager(state_dir).detect_drift(target, CURRENT)


def run_worker(kind, op, state_dir, worker, n, ready, go, results):
    sm = StateManager(state_dir) if kind == "daemon" else None
    ready.put(worker)
    go.wait()
    t0 = time.perf_counter()
    for i in range(n):
        target = "w%d-r%d" % (worker, i)
        if kind == "daemon":
            if op == "record":
                sm.record_sync(target, "all", HASHES, {}, 1, 0, 0)
            else:
                sm.detect_drift("codex", CURRENT)
        elif op == "record":
            original_record(state_dir, target, kind == "orig+dir")
        else:
            original_drift(state_dir, "codex")
    results.put(time.perf_counter() - t0)
    if sm is not None:
        sm.close()


def measure(kind, op, state_dir, processes, n):
    """(calls per second over the wall time of all processes, lost records)."""
    ctx = mp.get_context("fork")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=run_worker, args=(kind, op, state_dir, w, n, ready, go, results))
             for w in range(processes)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    t0 = time.perf_counter()
    go.set()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    lost = None
    if op == "record":
        with open(os.path.join(state_dir, "state.json"), encoding="utf-8") as f:
            targets = json.load(f)["targets"]
        want = {"w%d-r%d" % (w, i) for w in range(processes) for i in range(n)}
        lost = len(want - set(targets))
    return processes * n / wall, lost


def start_daemon(daemon, state_dir):
    """harnesssyncd on the socket StateManager will look for, in our own
    session. Autostart puts the daemon in a session of its own (setsid), and
    on a machine saturated by other sessions Linux's scheduler autogroups then
    delay every wake-up of the daemon by milliseconds: that measures the
    neighbours, not the daemon (docs/PERFORMANCE.md)."""
    sock = paths.socket_path(state_dir)
    proc = subprocess.Popen([daemon, "--state-dir", state_dir, "--socket", sock], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            Client(sock, autostart=False).close()
            return proc
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("harnesssyncd did not start for %s" % state_dir)
            time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=200, help="calls per process (default 200)")
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="where the state dirs go (default $TMPDIR)")
    ap.add_argument("--autostart", action="store_true",
                    help="let StateManager start each daemon (its own session) instead of starting it here")
    args = ap.parse_args()
    daemon = os.environ.get("HS_DAEMON") or os.path.join(ROOT, "build", "bin", "harnesssyncd")
    base = tempfile.mkdtemp(prefix="hs-pybench.", dir=args.dir)
    os.chmod(base, 0o700)
    run = os.path.join(base, "run")
    os.mkdir(run, 0o700)
    os.environ.update(HARNESSSYNC_DAEMON=os.path.abspath(daemon), XDG_RUNTIME_DIR=run, HARNESSSYNC_SCHEMA="1")
    os.environ.pop("HARNESSSYNC_SOCKET", None)
    print("# %d calls per process; state dirs under %s; daemon %s" % (
        args.records, base, "started by StateManager" if args.autostart else "started by the benchmark"))
    print("%-10s %-7s %9s %12s %14s" % ("side", "op", "processes", "calls/s", "lost records"))
    try:
        for processes in (1, 16):
            for kind in ("original", "orig+dir", "daemon"):
                for op in ("record", "drift"):
                    if kind == "orig+dir" and op == "drift":
                        continue
                    d = os.path.join(base, "%s-%s-%d" % (kind, op, processes))
                    proc = start_daemon(os.environ["HARNESSSYNC_DAEMON"], d) \
                        if kind == "daemon" and not args.autostart else None
                    if op == "drift":  # a tracked target to compare against
                        if kind == "daemon":
                            StateManager(d).record_sync("codex", "all", HASHES, {}, 1, 0, 0)
                        else:
                            OriginalStateManager(d).record_sync("codex", "all", HASHES, {}, 1, 0, 0)
                    rate, lost = measure(kind, op, d, processes, args.records)
                    print("%-10s %-7s %9d %12.0f %14s" % (kind, op, processes, rate,
                                                         "-" if lost is None else "%d of %d" % (
                                                             lost, processes * args.records)))
                    sys.stdout.flush()
                    if kind == "daemon":
                        Client(state_dir=d, autostart=False).shutdown()
                    if proc is not None:
                        proc.wait(30)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
