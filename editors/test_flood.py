"""Floods a subscriber that does not read, until the daemon owes it a resync.

Run by the editor tests while the editor's connection does not read
(Emacs: `stop-process`): the daemon's notifications to it pile up and, past the
mailbox's bound (docs/PROTOCOL.md, state.subscribe: 256 state.changed waiting
once 64 KiB of its output is unread), are dropped for a resync.

  test_flood.py SOCKET fill DIR   records target "bulk" over 400 files in DIR, its
                             drift all changed then clean, 10 times: large
                             state.drifted notifications that fill the socket
  test_flood.py SOCKET ticks N    records target "tick" N times: N state.changed

fill waits, after each record, for the drift that record makes. The daemon
checks a target's drift once for all its subscribers, and a record made while
a check runs is folded into the next check: without the wait, a loaded machine
folds the ten big drifts into one or two, the editor's socket never fills, and
what the test means to be dropped is delivered instead.
"""
import json
import os
import socket
import sys


class Conn:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)  # a hung daemon fails the test, not hangs it
        self.sock.connect(path)
        self.f = self.sock.makefile("rwb")
        self.next_id = 0
        self.notes = []  # notifications read while waiting for an answer

    def read(self):
        line = self.f.readline()
        if not line:
            sys.exit("the daemon closed the connection")
        return json.loads(line)

    def call(self, method, params):
        self.next_id += 1
        self.f.write(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method,
                                 "params": params}).encode() + b"\n")
        self.f.flush()
        while True:
            msg = self.read()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    sys.exit(f"{method}: {msg['error']}")
                return msg["result"]
            self.notes.append(msg)

    def wait_drift(self, target, changed):
        """Waits for a state.drifted of `target` with `changed` paths."""
        while True:
            msg = self.notes.pop(0) if self.notes else self.read()
            p = msg.get("params", {})
            if (msg.get("method") == "state.drifted" and p.get("target") == target
                    and len(p.get("changed", [])) == changed):
                return


def main():
    path, mode, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    c = Conn(path)

    def record(target, hashes):
        c.call("state.record", {"target": target, "scope": "all", "file_hashes": hashes,
                                "synced": len(hashes), "skipped": 0, "failed": 0})

    if mode == "fill":
        os.makedirs(arg, exist_ok=True)
        paths = []
        for i in range(400):
            p = os.path.join(arg, f"{i:04d}-" + "x" * 100 + ".md")
            with open(p, "w") as out:
                out.write(f"file {i}\n")
            paths.append(p)
        real = c.call("hash.files", {"paths": paths})
        stale = {p: "0" * 64 for p in paths}
        c.call("state.subscribe", {"targets": ["bulk"]})
        for _ in range(10):
            record("bulk", stale)
            c.wait_drift("bulk", len(paths))
            record("bulk", real)
            c.wait_drift("bulk", 0)
    else:
        for _ in range(int(arg)):
            record("tick", {})


if __name__ == "__main__":
    main()
