#!/usr/bin/env python3
"""Abuse benchmarks for docs/PERFORMANCE.md: another client's daemon.ping
latency while (1) one client sends a batch of 1,024 state.all on a 2,048
target state, (2) 8 clients pipeline state.all and never read, and (3) one
client pipelines hash.files notifications (no id) for 4 s and never reads; and
the daemon's peak RSS (VmHWM) after each. Usage: abuse.py SOCKET DAEMON_PID
STATE_FILE"""
import json
import os
import socket
import sys
import tempfile
import threading
import time

SOCK, PID, STATE = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    return s


def call(s, f, msg):
    s.sendall((json.dumps(msg) + "\n").encode())
    return json.loads(f.readline())


def fill(n):
    s = connect()
    f = s.makefile("rb")
    for start in range(0, n, 1024):
        batch = [{"jsonrpc": "2.0", "id": i, "method": "state.record", "params": {
            "target": "t%05d" % i, "scope": "all", "synced": 1, "skipped": 0, "failed": 0,
            "file_hashes": {"/home/u/.config/agent/file-%d.md" % k: "%064x" % (i * 7 + k) for k in range(2)}}}
            for i in range(start, min(n, start + 1024))]
        call(s, f, batch)
    s.close()


class Pinger(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.lat = []

    def run(self):
        s = connect()
        f = s.makefile("rb")
        while not self.stop.is_set():
            t0 = time.perf_counter()
            assert call(s, f, {"jsonrpc": "2.0", "id": 1, "method": "daemon.ping"})["result"] == "pong"
            self.lat.append(time.perf_counter() - t0)
            time.sleep(0.002)

    def report(self, what):
        self.stop.set()
        self.join()
        lat = sorted(self.lat)
        p = lambda q: lat[int(q * (len(lat) - 1))] * 1e3
        print("%s: other client's ping: %d pings, p50 %.2f ms, p99 %.2f ms, max %.2f ms" %
              (what, len(lat), p(0.5), p(0.99), lat[-1] * 1e3))


def hwm():
    with open("/proc/%d/status" % PID) as f:
        return int(next(l for l in f if l.startswith("VmHWM")).split()[1]) // 1024


fill(2048)
size = os.path.getsize(STATE)
print("state: 2,048 targets, %d bytes; daemon VmHWM before %d MiB" % (size, hwm()))

p = Pinger()
p.start()
time.sleep(0.2)
s = connect()
t0 = time.monotonic()
s.sendall((json.dumps([{"jsonrpc": "2.0", "id": i, "method": "state.all"} for i in range(1024)]) + "\n").encode())
total = 0
while True:
    chunk = s.recv(1 << 22)
    total += len(chunk)
    if not chunk or chunk.endswith(b"\n"):
        break
print("batch of 1,024 state.all: %d bytes read in %.1f s" % (total, time.monotonic() - t0))
p.report("batch of 1,024 state.all")
print("daemon peak RSS (VmHWM) %d MiB; bound 4 x %.2f MiB + 32 MiB = %.1f MiB" %
      (hwm(), size / 2**20, 4 * size / 2**20 + 32))
s.close()

p = Pinger()
p.start()
hogs = []
for _ in range(8):
    h = connect()
    h.settimeout(1)
    try:
        for _ in range(100):
            h.sendall(b'{"jsonrpc":"2.0","id":1,"method":"state.all"}\n' * 50)
    except socket.timeout:
        pass
    hogs.append(h)
time.sleep(3)
p.report("8 non-reading clients pipelining state.all")
print("daemon peak RSS (VmHWM) %d MiB" % hwm())
for h in hogs:
    h.close()

# (3) Notifications have no answer to hold the client back: only their work
# does (issue 17, defect 6: 1.3 GB of RSS in 4 s before it counted).
p = Pinger()
p.start()
with tempfile.NamedTemporaryFile() as big:
    big.truncate(64 << 20)  # sparse; each hash of it takes a while
    big.flush()
    note = (json.dumps({"jsonrpc": "2.0", "method": "hash.files", "params": {"paths": [big.name]}}) + "\n").encode()
    h = connect()
    h.settimeout(0.2)
    sent = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 4:
        try:
            h.sendall(note * 1000)
            sent += 1000
        except socket.timeout:
            pass  # paused: the daemon reads no more until the work is done
    p.report("one client pipelining hash.files notifications for 4 s")
    print("notifications sent (at most): %d; daemon peak RSS (VmHWM) %d MiB; bound 4 x %.2f MiB + 32 MiB = %.1f MiB" %
          (sent, hwm(), size / 2**20, 4 * size / 2**20 + 32))
    h.close()
