#!/usr/bin/env python3
"""Hashing benchmark of docs/PERFORMANCE.md ("Hashing").

Usage: tests/bench/hash_bench.py [BUILD_DIR] [SECONDS]

1. Another client's daemon.ping latency (p50/p99/max) while one connection
   hashes a 1 TB sparse file (4 requests, more than the hashing workers).
2. hash.files throughput on one 200 MB file (page cache warm) against
   coreutils sha256sum on the same file: best of 5 each.
HS_BENCH_PART=ping or =throughput runs only one of them.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
MB = 1000 * 1000


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.n = 0

    def send(self, method, params=None):
        self.n += 1
        msg = {"jsonrpc": "2.0", "id": self.n, "method": method}
        if params is not None:
            msg["params"] = params
        self.s.sendall((json.dumps(msg) + "\n").encode())

    def call(self, method, params=None):
        self.send(method, params)
        resp = json.loads(self.f.readline())
        assert "result" in resp, resp
        return resp["result"]


def pct(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))]


def rchar(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def main():
    d = tempfile.mkdtemp(prefix="hs-hbench.", dir="/tmp")
    sock = os.path.join(d, "hs.sock")
    daemon = subprocess.Popen([os.path.join(BUILD, "bin", "harnesssyncd"), "--state-dir", os.path.join(d, "state"),
                               "--socket", sock, "--log-level", "warn"])
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        time.sleep(0.5)
        print("# %s, %d cores" % (" ".join(os.uname()[2:5:2]), os.cpu_count()))

        if os.environ.get("HS_BENCH_PART") != "throughput":
            ping_during_huge_hash(sock, d, daemon)
        if os.environ.get("HS_BENCH_PART") != "ping":
            throughput(sock, d)
    finally:
        daemon.terminate()
        daemon.wait()
        subprocess.run(["rm", "-rf", d])


def ping_during_huge_hash(sock, d, daemon):
    huge = os.path.join(d, "huge")
    with open(huge, "wb") as f:
        f.truncate(1 << 40)
    pinger = Conn(sock)
    for _ in range(200):
        pinger.call("daemon.ping")
    hog = Conn(sock)
    for _ in range(4):
        hog.send("hash.files", {"paths": [huge]})
    time.sleep(0.5)
    r0, t0 = rchar(daemon.pid), time.monotonic()
    lat = []
    while time.monotonic() - t0 < SECONDS:
        s = time.perf_counter()
        pinger.call("daemon.ping")
        lat.append((time.perf_counter() - s) * 1000)
    rate = (rchar(daemon.pid) - r0) / (time.monotonic() - t0) / MB
    lat.sort()
    print("ping during a 1 TB hash: %d pings, p50 %.3f ms, p99 %.3f ms, max %.3f ms; daemon reading %.0f MB/s"
          % (len(lat), pct(lat, 50), pct(lat, 99), lat[-1], rate))
    hog.s.close()
    time.sleep(1.0)


def throughput(sock, d):
    big = os.path.join(d, "big")
    with open(big, "wb") as f:
        for _ in range(200):
            f.write(os.urandom(MB))
    c = Conn(sock)
    want = subprocess.run(["sha256sum", big], capture_output=True, text=True, check=True).stdout.split()[0]
    best_d = best_s = float("inf")
    for _ in range(5):
        s = time.perf_counter()
        got = c.call("hash.files", {"paths": [big]})[big]
        best_d = min(best_d, time.perf_counter() - s)
        assert got == want, (got, want)
        s = time.perf_counter()
        subprocess.run(["sha256sum", big], capture_output=True, check=True)
        best_s = min(best_s, time.perf_counter() - s)
    print("hash.files 200 MB: %.0f MB/s (best of 5); sha256sum: %.0f MB/s; ratio %.2f"
          % (200 / best_d, 200 / best_s, best_s / best_d))


if __name__ == "__main__":
    main()
