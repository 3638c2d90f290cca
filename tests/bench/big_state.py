#!/usr/bin/env python3
"""Abuse benchmark of docs/PERFORMANCE.md ("A record on a 180 MB state"):
a state.json of about 180 MB (many targets x many file_hashes), then one
state.record and one state.all on it, while another client sends
daemon.ping back to back and records each round trip.

Usage: tests/bench/big_state.py [BUILD_DIR] [--targets N] [--hashes M]
Prints the ping latency percentiles during each operation and its own time.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from bench_support import pct


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = bytearray()
        self.n = 0

    def call(self, method, params=None):
        self.n += 1
        msg = {"jsonrpc": "2.0", "id": self.n, "method": method}
        if params is not None:
            msg["params"] = params
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        scanned = 0
        while True:
            i = self.buf.find(b"\n", scanned)  # only new bytes: a 150 MB answer comes in many chunks
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 1]
                return line
            scanned = len(self.buf)
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise EOFError
            self.buf += chunk


def write_state(path, targets, hashes):
    # Written by hand (not json.dump of one dict) to keep the generator's memory small.
    with open(path, "w") as f:
        f.write('{\n  "version": 1,\n  "last_sync": "2026-11-24T10:00:00.000000",\n  "targets": {\n')
        for t in range(targets):
            f.write('    "t%04d": {\n      "last_sync": "2026-11-24T10:00:00.000000",\n' % t)
            f.write('      "status": "success",\n      "scope": "all",\n      "file_hashes": {\n')
            f.write(",\n".join('        "/home/user/project/src/module_%04d/file_%06d.txt": "%016x"' % (t, i, i * 2654435761 % (1 << 64))
                               for i in range(hashes)))
            f.write('\n      },\n      "sync_method": {},\n      "items_synced": 1,\n'
                    '      "items_skipped": 0,\n      "items_failed": 0\n    }')
            f.write(",\n" if t + 1 < targets else "\n")
        f.write("  }\n}\n")


def pinger(sock, out):
    """Pings once a millisecond, in its own process (so that the big reader's
    work and GIL never delay it), and logs "end_time latency_ms" per ping.
    Latency counts from when the ping was due, not when it was sent: a loop
    stalled for 2 s shows as 2,000 slow pings, not one (no coordinated
    omission)."""
    c = Conn(sock)
    period = 0.001
    due = time.monotonic()
    with open(out, "w", buffering=1) as f:  # line buffered: the process is killed
        while True:
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            c.call("daemon.ping")
            e = time.monotonic()
            f.write("%.6f %.4f\n" % (e, (e - due) * 1000))
            due += period


def during(sock, d, label, op):
    """Runs op() while another process pings; prints both."""
    log = os.path.join(d, "pings")
    p = subprocess.Popen([sys.executable, __file__, "--pinger", sock, log])
    time.sleep(0.5)
    start = time.monotonic()
    op()
    end = time.monotonic()
    time.sleep(0.05)
    p.kill()
    p.wait()
    lat = []
    with open(log) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and start <= float(parts[0]) - float(parts[1]) / 1000 and float(parts[0]) <= end + 0.05:
                lat.append(float(parts[1]))
    print("%-28s %7.0f ms   pings due during it: %6d   p50 %6.2f ms   p99 %7.2f ms   max %7.1f ms"
          % (label, (end - start) * 1000, len(lat), pct(lat, 50), pct(lat, 99), max(lat) if lat else float("nan")))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--pinger":
        return pinger(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--targets", type=int, default=256)
    ap.add_argument("--hashes", type=int, default=8000)
    ap.add_argument("--daemon-arg", action="append", default=[],
                    help="passed on, e.g. --daemon-arg=--max-output-bytes=1000000000 for builds whose "
                         "output cap counts one answer's size")
    args = ap.parse_args()
    daemon = os.path.join(args.build, "bin", "harnesssyncd")
    d = tempfile.mkdtemp(prefix="hs-bigstate.", dir="/tmp")
    try:
        state_dir = os.path.join(d, "state")
        os.makedirs(state_dir, mode=0o700)
        state = os.path.join(state_dir, "state.json")
        write_state(state, args.targets, args.hashes)
        print("# state.json: %.0f MB, %d targets x %d file_hashes" % (os.path.getsize(state) / 1e6, args.targets, args.hashes))
        sock = os.path.join(d, "hs.sock")
        t = time.perf_counter()
        p = subprocess.Popen([daemon, "--state-dir", state_dir, "--socket", sock, "--log-level", "warn", *args.daemon_arg])
        while not os.path.exists(sock):
            if p.poll() is not None:
                sys.exit("daemon exited %d" % p.returncode)
            time.sleep(0.05)
        Conn(sock).call("daemon.ping")
        print("# start-up (load): %.1f s" % (time.perf_counter() - t))
        c = Conn(sock)
        params = {"target": "bench", "scope": "all", "file_hashes": {"/a": "0" * 64}, "synced": 1, "skipped": 0, "failed": 0}
        # The pinger's own noise floor on this machine: nothing else running.
        during(sock, d, "nothing (2 s idle)", lambda: time.sleep(2))
        for i in range(3):
            during(sock, d, "state.record #%d" % (i + 1), lambda: c.call("state.record", params))
        for i in range(2):
            n = [0]
            during(sock, d, "state.all #%d%s" % (i + 1, " (new version)" if i == 0 else " (cached)"),
                   lambda: n.__setitem__(0, len(c.call("state.all"))))
        # Another process saves the whole file (HarnessSync's way: a temp
        # file renamed over it): the daemon reads and parses it again on its
        # writer thread, and swaps the document in on the loop.
        theirs = os.path.join(state_dir, "tmpbench.tmp")
        write_state(theirs, args.targets + 1, args.hashes)
        newest = "t%04d" % args.targets

        def reload():
            os.replace(theirs, state)
            while c.call("state.target", {"target": newest}) is None:
                time.sleep(0.01)

        during(sock, d, "reload of another's save", reload)
        print("# state.all answer: %.0f MB; daemon RSS: %s" % (n[0] / 1e6, open("/proc/%d/status" % p.pid).read().split("VmRSS:")[1].split("\n")[0].strip()))
        p.terminate()
        p.wait()
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
