"""The coalescing debt (PROTOCOL.md, lock semantics; issue 17): A holds a
lock, B waits on it as the coalescing follow-up, C asks with coalesce and
is told it is covered; B dies without running. The lock is then `owed`:
lock.list says so, and the next caller granted it is told so."""
import time

import wire
from journal import now


class OwedActor:
    def __init__(self, w, name, mean_gap=12.0):
        self.w = w
        self.name = name
        self.rng = w.rng(name)
        self.mean_gap = mean_gap
        self.n = 0

    def run(self):
        while self.w.sleep(self.rng.expovariate(1.0 / self.mean_gap)):
            self.n += 1
            self.w.journal.log("act", actor=self.name, n=self.n, kind="owed-probe")
            self.w.count("lock.owed-probe")
            # A daemon restart empties the lock table: a debt lost with it is
            # no anomaly, so no kill may come in between.
            with self.w.gates.fragile(("kill",)):
                self.probe()

    def probe(self):
        w = self.w
        lock = "owed-%s-%d" % (self.name, self.n)
        conns = []

        def conn():
            c = wire.Conn.connect(w.socket, now() + 10.0, timeout=15.0)
            if c is None:
                raise wire.Closed("no connection")
            conns.append(c)
            return c

        def waiting():
            for e in lister.call(99, "lock.list").get("result") or []:
                if e.get("name") == lock:
                    return e
            return None

        out = {"lock": lock}
        try:
            a, b, c, d, lister = conn(), conn(), conn(), conn(), conn()
            out["a"] = a.call(1, "lock.acquire", {"name": lock}).get("result")
            b.send(wire.encode(wire.request(1, "lock.acquire", {"name": lock, "wait_ms": 60000, "coalesce": True}),
                               "bare"))
            deadline = now() + 5.0
            while now() < deadline and ((waiting() or {}).get("waiting") or 0) < 1:
                time.sleep(0.02)
            out["c"] = c.call(1, "lock.acquire", {"name": lock, "wait_ms": 5000, "coalesce": True}).get("result")
            b.close()   # the covering caller goes away without running
            deadline = now() + 5.0
            entry = waiting()
            while now() < deadline and (entry or {}).get("waiting"):
                time.sleep(0.02)
                entry = waiting()
            out["listed"] = entry
            a.call(2, "lock.release", {"name": lock})
            out["d"] = d.call(1, "lock.acquire", {"name": lock, "wait_ms": 5000}).get("result")
            d.call(2, "lock.release", {"name": lock})
        except (wire.Closed, OSError, ValueError) as e:
            out["aborted"] = str(e)[:200]
        finally:
            for x in conns:
                x.close()
        w.journal.log("owed_probe", **out)
