#!/usr/bin/env python3
"""The sync lock's benchmark (docs/PERFORMANCE.md, "Sync lock (issue 11)"),
against flock(2) on a file on the same machine.

Usage: tests/bench/lock_bench.py [BUILD_DIR] [SECONDS]

1. Uncontended: one client acquires and releases in a loop (two round trips
   per cycle); flock(LOCK_EX)/flock(LOCK_UN) on an open file the same way.
2. Hand-off under 32 contending clients (one process each): every client
   loops acquire (waiting) -> release -> acquire ...; the hand-off latency of
   a grant is its time minus the time the previous holder sent its release
   (CLOCK_MONOTONIC, shared by the processes). The same with flock(LOCK_EX).
3. SIGKILL of the holder: from kill() to the next waiter's grant (the issue
   asks for under 100 ms), for the daemon and for flock.
4. `hsctl lock NAME -- true` against `flock FILE true`, end to end (process
   start included), when hyperfine-like repetition is wanted without it.

Both sides are driven from Python over raw sockets and raw syscalls, so the
client-side cost is the same kind on each side; the figures are for
comparing, not absolute.
"""
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from bench_support import fresh_daemon, machine, pct

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
HSCTL = os.path.join(BUILD, "bin", "hsctl")
CONTENDERS = 32


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line


ACQ = b'{"jsonrpc":"2.0","id":1,"method":"lock.acquire","params":{"name":"bench","wait_ms":1099511627776}}\n'
REL = b'{"jsonrpc":"2.0","id":2,"method":"lock.release","params":{"name":"bench"}}\n'


def fmt_lat(name, lats_ns):
    us = [x / 1000 for x in lats_ns]
    return "%s: n=%d p50 %.1f us, p99 %.1f us, max %.1f us" % (name, len(us), pct(us, 50), pct(us, 99), max(us))


# ---- 1. uncontended -------------------------------------------------------

def uncontended_daemon(sock):
    c = Conn(sock)
    n = 0
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        for _ in range(100):
            c.send(ACQ)
            assert b'"acquired":true' in c.line()
            c.send(REL)
            c.line()
        n += 100
    return n / SECONDS


def uncontended_flock(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    n = 0
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        for _ in range(100):
            fcntl.flock(fd, fcntl.LOCK_EX)
            fcntl.flock(fd, fcntl.LOCK_UN)
        n += 100
    os.close(fd)
    return n / SECONDS


# ---- 2. hand-off under contention -----------------------------------------

def contender(kind, target, deadline_ns, out_fd):
    """Loops until the deadline; writes its grant and release events."""
    me = os.getpid()
    events = []
    if kind == "daemon":
        c = Conn(target)
        while now_ns() < deadline_ns:
            c.send(ACQ)
            c.line()
            events.append(("g", now_ns(), me))
            t = now_ns()
            c.send(REL)
            events.append(("r", t, me))
            c.line()
    else:
        fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o600)
        while now_ns() < deadline_ns:
            fcntl.flock(fd, fcntl.LOCK_EX)
            events.append(("g", now_ns(), me))
            t = now_ns()
            fcntl.flock(fd, fcntl.LOCK_UN)
            events.append(("r", t, me))
    os.write(out_fd, json.dumps(events).encode())
    os.close(out_fd)


def handoff(kind, target):
    start = now_ns() + int(0.5e9)
    deadline = start + int(SECONDS * 1e9)
    pipes = []
    pids = []
    for _ in range(CONTENDERS):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                while now_ns() < start:
                    time.sleep(0.001)
                contender(kind, target, deadline, w)
            finally:
                os._exit(0)
        os.close(w)
        pipes.append(r)
        pids.append(pid)
    events = []
    for r in pipes:
        data = b""
        while True:
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            data += chunk
        os.close(r)
        events += json.loads(data)
    for pid in pids:
        os.waitpid(pid, 0)
    events.sort(key=lambda e: e[1])
    # A hand-off is a grant to another process than the one that released
    # last; flock is not FIFO, and its releaser often takes it straight back.
    lats = []
    regrants = 0
    last = None
    for kind_, t, pid in events:
        if kind_ == "r":
            last = (t, pid)
        elif last is not None:
            if pid != last[1]:
                lats.append(t - last[0])
            else:
                regrants += 1
            last = None
    grants = sum(1 for e in events if e[0] == "g")
    return lats, grants / SECONDS, regrants / max(1, grants)


# ---- 3. SIGKILL of the holder ---------------------------------------------

def kill_handoff(kind, target, rounds=30):
    lats = []
    for _ in range(rounds):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            if kind == "daemon":
                c = Conn(target)
                c.send(ACQ)
                c.line()
            else:
                fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(w, b"x")
            time.sleep(60)
            os._exit(0)
        os.close(w)
        os.read(r, 1)
        os.close(r)
        if kind == "daemon":
            waiter = Conn(target)
            waiter.send(ACQ)
            time.sleep(0.05)  # queued
            t0 = now_ns()
            os.kill(pid, signal.SIGKILL)
            waiter.line()
            lats.append(now_ns() - t0)
            waiter.s.close()
        else:
            fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o600)

            got = []

            def wait_lock():
                fcntl.flock(fd, fcntl.LOCK_EX)
                got.append(now_ns())

            th = threading.Thread(target=wait_lock)
            th.start()
            time.sleep(0.05)
            t0 = now_ns()
            os.kill(pid, signal.SIGKILL)
            th.join()
            lats.append(got[0] - t0)
            os.close(fd)
        os.waitpid(pid, 0)
    return lats


# ---- 4. the commands ------------------------------------------------------

def per_run(cmd, env, n=200):
    t0 = time.monotonic()
    for _ in range(n):
        subprocess.run(cmd, env=env, check=True)
    return (time.monotonic() - t0) / n


def main():
    with fresh_daemon(BUILD, "hs-lockbench.") as (_, d, sock):
        lockfile = os.path.join(d, "flock.file")
        print(machine())
        print("uncontended acquire+release cycles/s: daemon %.0f, flock %.0f"
              % (uncontended_daemon(sock), uncontended_flock(lockfile)))
        for kind, target in (("daemon", sock), ("flock", lockfile)):
            lats, rate, regrants = handoff(kind, target)
            print(fmt_lat("hand-off, %d clients, %s" % (CONTENDERS, kind), lats) +
                  "; %.0f grants/s, %.1f%% taken back by the releaser" % (rate, regrants * 100))
        print(fmt_lat("SIGKILL of the holder -> next grant, daemon", kill_handoff("daemon", sock)))
        print(fmt_lat("SIGKILL of the holder -> next grant, flock", kill_handoff("flock", lockfile)))
        env = dict(os.environ, HARNESSSYNC_SOCKET=sock, HARNESSSYNC_NO_SPAWN="1")
        env.pop("HARNESSSYNC_HOME", None)
        hs = per_run([HSCTL, "lock", "bench", "--", "true"], env)
        fl = per_run(["flock", lockfile, "true"], env)
        print("per run, end to end: hsctl lock bench -- true %.2f ms; flock FILE true %.2f ms"
              % (hs * 1000, fl * 1000))


if __name__ == "__main__":
    main()
