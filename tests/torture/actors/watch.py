"""The run's observer: a ping every 200 ms on its own connection (the
longest wait is the liveness figure), and every second lock.list (a lock
held by a dead process), a baseline target (the state is never reset) and
the daemon's RSS. It also notices a daemon exit nobody asked for, and
starts the daemon again so that the run goes on."""
import socket

import wire
from actors.chaos import restart
from journal import now
from world import BASELINE


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class WatchActor:
    def __init__(self, w, name, ping_gap=0.2, audit_gap=1.0):
        self.w = w
        self.name = name
        self.rng = w.rng(name)
        self.ping_gap = ping_gap
        self.audit_gap = audit_gap
        self.c = None
        self.next_id = 1

    def call(self, method, params=None):
        if self.c is None:
            self.c = wire.Conn.connect(self.w.socket, now() + 1.0, timeout=60.0)
            if self.c is None:
                return None
        i = self.next_id
        self.next_id += 1
        try:
            return self.c.call(i, method, params)
        except (wire.Closed, OSError, ValueError, socket.timeout):
            self.c.close()
            self.c = None
            return None

    def run(self):
        w = self.w
        next_audit = now()
        while w.sleep(self.ping_gap):
            if w.daemon.check_exit():
                with w.daemon_ops:
                    restart(w, after_exit=True)
                continue
            t0 = now()
            r = self.call("daemon.ping")
            if r is not None and r.get("result") == "pong":
                w.journal.log("ping", t0=t0, t1=now())
                w.count("watch.ping")
            if now() >= next_audit:
                next_audit = now() + self.audit_gap
                self.audit()
        if self.c is not None:
            self.c.close()

    def audit(self):
        w = self.w
        t0 = now()
        r = self.call("lock.list")
        if r is not None and isinstance(r.get("result"), list):
            w.journal.log("locklist", t0=t0, t1=now(), entries=r["result"])
            w.count("watch.lock.list")
        target = self.rng.choice(BASELINE)
        t0 = now()
        r = self.call("state.target", {"target": target})
        if r is not None and "result" in r:
            w.journal.log("baseline", target=target, t0=t0, t1=now(), present=r["result"] is not None)
        pid = w.daemon.pid()
        if pid is not None:
            kb = rss_kb(pid)
            if kb is not None:
                w.journal.log("rss", pid=pid, kb=kb)
