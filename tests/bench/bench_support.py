"""What the Python benchmarks share: a fresh harnesssyncd of a build in a
temp dir under /tmp (Unix socket paths are short), a line-delimited JSON-RPC
connection to it, the line that says which machine and load a figure is
from, and percentiles."""
import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time


@contextlib.contextmanager
def fresh_daemon(build, prefix):
    """Starts BUILD/bin/harnesssyncd on DIR/hs.sock with DIR/state, DIR a new
    temp dir named PREFIX...; yields (process, DIR, socket path) once it
    listens; stops it and removes DIR."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    sock = os.path.join(d, "hs.sock")
    daemon = subprocess.Popen([os.path.join(build, "bin", "harnesssyncd"), "--state-dir", os.path.join(d, "state"),
                               "--socket", sock, "--log-level", "warn"])
    try:
        for _ in range(400):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        time.sleep(0.5)  # let start-up settle before anything is timed
        yield daemon, d, sock
    finally:
        daemon.terminate()
        daemon.wait(20)
        subprocess.run(["rm", "-rf", d])


def machine():
    """'# <kernel> <arch>, <n> cores, load average <1> <5> <15>'."""
    return "# %s, %d cores, load average %s" % (" ".join(os.uname()[2:5:2]), os.cpu_count(),
                                                " ".join("%.2f" % x for x in os.getloadavg()))


def pct(values, p):
    """The p-th percentile of `values` (nearest rank); nan when empty."""
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


class Conn:
    """One connection, newline-delimited JSON-RPC; notifications that come
    before an answer are kept in `notes`."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.n = 0
        self.notes = []

    def send(self, method, params=None):
        self.n += 1
        msg = {"jsonrpc": "2.0", "id": self.n, "method": method}
        if params is not None:
            msg["params"] = params
        self.s.sendall((json.dumps(msg) + "\n").encode())
        return self.n

    def read(self):
        return json.loads(self.f.readline())

    def call(self, method, params=None):
        i = self.send(method, params)
        while True:
            m = self.read()
            if m.get("id") == i:
                if "error" in m:
                    raise RuntimeError(m["error"])
                return m["result"]
            self.notes.append(m)
