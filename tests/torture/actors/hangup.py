"""The hang-up race of issue 17, item 1, made deterministic: the daemon is
stopped (SIGSTOP) while a client connects, sends something that gets an
answer (a ping, a bad line) or first pauses for backpressure, then up to 200
state.record notifications, and closes at once; then the daemon continues.
Every notification is owed (PROTOCOL.md, "Hang-up")."""
import os
import time

import wire
from actors import session as S
from actors.rpc import FRAGILE, Names, confirm, owed_changes
from journal import now

VARIANTS = ["plain", "ping", "bad-line", "paused", "requests"]
KEEP = 400   # past this many of its targets, it clears the oldest


class HangupActor:
    def __init__(self, w, name, mean_gap=2.0):
        self.w = w
        self.name = name
        self.rng = w.rng(name)
        self.names = Names(name)
        self.mean_gap = mean_gap
        self.n = 0
        self.live = []   # targets seen applied, to clear (acknowledged) later

    def run(self):
        while self.w.sleep(self.rng.expovariate(1.0 / self.mean_gap)):
            self.n += 1
            variant = self.rng.choice(VARIANTS)
            stop = self.rng.random() < 0.6
            count = self.rng.choice([20, 100, 200])
            conn_id = "%s#%d" % (self.name, self.n)
            self.w.journal.log("act", actor=self.name, n=self.n, kind="hangup", variant=variant, sigstop=stop,
                               notifications=count, conn=conn_id)
            self.w.count("hangup." + variant)
            with self.w.gates.fragile(FRAGILE):
                owed = self.race(conn_id, variant, stop, count)
                if owed:
                    seen = confirm(self.w, conn_id, owed, now())
                    self.live.extend(u.split(":", 1)[1] for u in seen if u.startswith("rec:"))
            if len(self.live) > KEEP:
                self.clear_some("%s#%d.clear" % (self.name, self.n))

    def clear_some(self, conn_id):
        """Clears the oldest of its targets, in one pipelined session that
        reads every answer: these clears are changes like any other."""
        j = self.w.journal
        c = S.open_conn(j, conn_id, self.w.socket, now() + 30.0, stop=self.w.stop)
        if c is None:
            return
        p = S.Plan(j, self.rng, self.name, self.n, conn_id, self.names)
        for t in self.live[:200]:
            p.clear(t, False, "bare")
        del self.live[:200]
        p.cut()
        if not S.send_chunks(j, conn_id, c, p.chunks):
            c.close()
            j.log("end", conn=conn_id, how="read", why="send-failed", missing=[], expect=p.expect)
            return
        answered, why = S.read_answers(j, conn_id, c, p.ids, p.expect, now() + 30.0)
        c.close()
        j.log("end", conn=conn_id, how="read", why=why, missing=[p.ids[i] for i in p.ids if i not in answered],
              expect=p.expect)

    def race(self, conn_id, variant, stop, count):
        w, j, rng = self.w, self.w.journal, self.rng
        c = S.open_conn(j, conn_id, w.socket, now() + 30.0, stop=w.stop)
        if c is None:
            return {}
        framing = rng.choice(["bare", "lsp"])
        p = S.Plan(j, rng, self.name, self.n, conn_id, self.names)
        sent_before = 0
        if variant == "paused":
            # A reader that once paused for backpressure: answers left unread
            # past the daemon's output watermark, then read.
            try:
                size = os.path.getsize(w.state_file)
            except OSError:
                size = 1 << 16
            for _ in range(max(4, min(64, (2 << 20) // max(size, 1) + 1))):
                p.read("state.all", framing)
            p.cut()
            if not S.send_chunks(j, conn_id, c, p.chunks):
                c.close()
                return {}
            time.sleep(rng.uniform(0.1, 0.5))
            _, why = S.read_answers(j, conn_id, c, p.ids, p.expect, now() + 60.0)
            if why != "all":
                c.close()
                j.log("end", conn=conn_id, how="paused-read", why=why, missing=[], expect=p.expect)
                return {}
            sent_before = len(p.chunks)
            p.chunks = []
        elif variant == "ping":
            p.read("daemon.ping", framing)
        elif variant == "bad-line":
            p.bad(rng.choice(sorted(wire.BAD_LINES)))
        elif variant == "requests":
            for _ in range(rng.randint(1, 5)):
                p.record(False, framing)
        for _ in range(count):
            p.record(True, framing)
        p.cut()
        chunks = p.chunks[-1:]
        first = sent_before + len(p.chunks) - 1
        c.settimeout(10.0)
        t0 = now()
        if stop:
            w.daemon.sigstop()
        try:
            ok = S.send_chunks(j, conn_id, c, chunks, first_seq=first)
            c.close()
            if stop:
                time.sleep(rng.uniform(0.005, 0.05))
        finally:
            if stop:
                w.daemon.sigcont()
                j.log("sigstop", t0=t0, t1=now(), conn=conn_id)
        j.log("end", conn=conn_id, how="hangup", why="closed" if ok else "send-failed", missing=[], expect=p.expect)
        if not ok:
            return {}
        p.chunks = chunks
        return owed_changes(p)
