"""Lock clients in child processes (children/child_lock.py) that hold,
wait (coalescing too), hold one lock while waiting on another, break their
session with a malformed frame, and get SIGKILLed at any of those moments.
A dead client's locks must go at once (PROTOCOL.md: "a client that dies,
even by SIGKILL, releases its locks at once").

One variant is issue 17, item 5, exactly: the client holds `va-N` and waits
on `vb-N`, which this actor holds on a connection of its own; it sends a
malformed frame and is killed. `va-N` must not outlive it (the observer's
lock.list finds it otherwise)."""
import json
import os
import subprocess

import wire
from actors import procs
from journal import now

NAMES = ["sync", "L1", "L2", "L3"]


class LockActor:
    def __init__(self, w, name, mean_gap=0.3):
        self.w = w
        self.name = name
        self.rng = w.rng(name)
        self.mean_gap = mean_gap
        self.n = 0

    def script(self):
        rng = self.rng
        a, b = rng.sample(NAMES, 2)
        steps = [{"op": "acquire", "name": a, "wait_ms": rng.choice([0, 200, 1000, 5000]),
                  "coalesce": rng.random() < 0.25},
                 {"op": "hold", "ms": rng.randrange(0, 600)}]
        if rng.random() < 0.4:
            # Holding a (when granted) while waiting on b.
            steps.append({"op": "acquire_async", "name": b, "wait_ms": rng.choice([1000, 60000]),
                          "coalesce": rng.random() < 0.2})
            steps.append({"op": "hold", "ms": rng.randrange(0, 300)})
        if rng.random() < 0.25:
            steps.append({"op": "malformed"})
            steps.append({"op": "hold", "ms": rng.randrange(0, 300)})
        if rng.random() < 0.5:
            steps.append({"op": "release", "name": a})
        if rng.random() < 0.2:
            steps.append({"op": "close"})
        return steps

    def run(self):
        w = self.w
        while w.sleep(self.rng.expovariate(1.0 / self.mean_gap)):
            self.n += 1
            label = "%s#%d" % (self.name, self.n)
            if self.rng.random() < 0.1:
                self.held_while_waiting(label)
                continue
            self.client(label, self.script(), self.rng.uniform(0.05, 2.0))

    def held_while_waiting(self, label):
        w = self.w
        va, vb = "va-%s-%d" % (self.name, self.n), "vb-%s-%d" % (self.name, self.n)
        blocker = wire.Conn.connect(w.socket, now() + 5.0, stop=w.stop)
        if blocker is None:
            return
        try:
            if not blocker.call(1, "lock.acquire", {"name": vb}).get("result", {}).get("acquired"):
                return
            steps = [{"op": "acquire", "name": va, "wait_ms": 0, "coalesce": False},
                     {"op": "acquire_async", "name": vb, "wait_ms": 60000, "coalesce": False},
                     {"op": "hold", "ms": 100},
                     {"op": "malformed"},
                     {"op": "hold", "ms": 60000}]
            died = self.client(label, steps, self.rng.uniform(0.3, 0.8))
            # Still holding vb: past the grace the oracle allows, va must be
            # gone with its dead holder.
            w.stop.wait(max(0.0, died + 3.5 - now()))
            t0 = now()
            r = blocker.call(2, "lock.list")
            if isinstance(r.get("result"), list):
                w.journal.log("locklist", t0=t0, t1=now(), entries=r["result"])
        except (wire.Closed, OSError, ValueError):
            pass
        finally:
            blocker.close()

    def client(self, label, steps, life):
        w = self.w
        w.journal.log("act", actor=self.name, n=self.n, kind="lock-client", steps=steps, kill_after=life, conn=label)
        w.count("lock.client")
        path = os.path.join(w.run_dir, "script.%s.json" % self.name)
        with open(path, "w") as f:
            json.dump(steps, f)
        journal = os.path.join(w.run_dir, "journal", "%s.%d.jsonl" % (self.name, self.n))
        p = procs.spawn("child_lock.py", [path, w.socket, journal, label])
        try:
            p.wait(life)
        except subprocess.TimeoutExpired:
            pass
        return procs.kill_and_reap(w, p, self.name, label)
