"""A lock client in a process of its own, there to be SIGKILLed while it
holds or waits (actors/locks.py). argv: SCRIPT_JSON SOCKET JOURNAL LABEL.

Journal events (pid: this process):
  lk      {pid, name, op: acquire|release, t_send, t, acquired, coalesced, owed, holder_pid, code}
  lk_tick {pid}            alive, holding whatever it was granted, at t
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import wire  # noqa: E402
from journal import Journal, now  # noqa: E402


def main():
    script_path, sock, journal_path, label = sys.argv[1:5]
    with open(script_path) as f:
        steps = json.load(f)
    j = Journal(journal_path)
    pid = os.getpid()
    c = wire.Conn.connect(sock, now() + 10.0)
    if c is None:
        j.log("no_conn", conn=label)
        return 0
    pending = {}   # request id -> (op, name, t_send)
    next_id = [1]

    def note(m):
        for r in wire.responses([m]):
            i = r.get("id")
            if i not in pending:
                continue
            op, name, t_send = pending.pop(i)
            res = r.get("result")
            err = r.get("error")
            fields = {"pid": pid, "conn": label, "name": name, "op": op, "t_send": t_send,
                      "code": err.get("code") if err else None}
            if isinstance(res, dict):
                fields.update(acquired=res.get("acquired"), coalesced=res.get("coalesced"),
                              owed=res.get("owed"), holder_pid=res.get("holder_pid"))
            j.log("lk", **fields)

    def send(op, method, params):
        i = next_id[0]
        next_id[0] += 1
        if op == "release":
            # Before the bytes go: the lock is surely held until this moment.
            j.log("lk_tick", pid=pid, conn=label)
        pending[i] = (op, params["name"], now())
        c.send(wire.encode(wire.request(i, method, params), "bare"))
        return i

    def wait_for(i, timeout):
        deadline = now() + timeout
        while i in pending:
            c.settimeout(max(0.01, deadline - now()))
            note(c.read_message())

    try:
        for s in steps:
            op = s["op"]
            if op == "acquire":
                i = send("acquire", "lock.acquire", {"name": s["name"], "wait_ms": s["wait_ms"],
                                                     "coalesce": s["coalesce"]})
                wait_for(i, s["wait_ms"] / 1000.0 + 30.0)
                j.log("lk_tick", pid=pid, conn=label)
            elif op == "acquire_async":
                send("acquire", "lock.acquire", {"name": s["name"], "wait_ms": s["wait_ms"], "coalesce": s["coalesce"]})
            elif op == "release":
                wait_for(send("release", "lock.release", {"name": s["name"]}), 30.0)
            elif op == "hold":
                time.sleep(s["ms"] / 1000.0)
                j.log("lk_tick", pid=pid, conn=label)
            elif op == "malformed":
                j.log("lk_malformed", pid=pid, conn=label)
                c.send(wire.MALFORMED_FRAME)
            elif op == "close":
                c.close()
                return 0
        # Wait for the SIGKILL, taking in late answers (a wait that ends).
        c.settimeout(None)
        while True:
            note(c.read_message())
            j.log("lk_tick", pid=pid, conn=label)
    except (wire.Closed, OSError, ValueError) as e:
        j.log("lk_closed", pid=pid, conn=label, why=str(e)[:200])
    return 0


if __name__ == "__main__":
    sys.exit(main())
