"""Floods a subscriber that does not read, until the daemon owes it a resync.

Run by the editor tests while the editor's connection does not read
(Emacs: `stop-process`): the daemon's notifications to it pile up and, past the
mailbox's bound (docs/PROTOCOL.md, state.subscribe: 256 state.changed waiting
once 64 KiB of its output is unread), are dropped for a resync.

  test_flood.py SOCKET fill DIR   records target "bulk" over 400 files in DIR, its
                             drift all changed then clean, 10 times: large
                             state.drifted notifications that fill the socket
  test_flood.py SOCKET ticks N    records target "tick" N times: N state.changed
"""
import json
import os
import socket
import sys


def main():
    path, mode, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    f = s.makefile("rwb")
    next_id = [0]

    def call(method, params):
        next_id[0] += 1
        f.write(json.dumps({"jsonrpc": "2.0", "id": next_id[0], "method": method, "params": params}).encode() + b"\n")
        f.flush()
        answer = json.loads(f.readline())
        if "error" in answer:
            sys.exit(f"{method}: {answer['error']}")
        return answer["result"]

    def record(target, hashes):
        call("state.record", {"target": target, "scope": "all", "file_hashes": hashes,
                              "synced": len(hashes), "skipped": 0, "failed": 0})

    if mode == "fill":
        os.makedirs(arg, exist_ok=True)
        paths = []
        for i in range(400):
            p = os.path.join(arg, f"{i:04d}-" + "x" * 100 + ".md")
            with open(p, "w") as out:
                out.write(f"file {i}\n")
            paths.append(p)
        real = call("hash.files", {"paths": paths})
        stale = {p: "0" * 64 for p in paths}
        for _ in range(10):
            record("bulk", stale)
            record("bulk", real)
    else:
        for _ in range(int(arg)):
            record("tick", {})


if __name__ == "__main__":
    main()
