"""Liveness of changes: twice a second one state.record, and a state.clear
of an older probe target, each waited for on its own connection. The
oracle reports a change that took over 5 s with the daemon up, running and
writing (issue 17, item 4: one accept stalled every other client's change).
They are changes like any other, checked in the final state."""
from actors import session as S
from actors.rpc import Names
from journal import now


class ProbeActor:
    def __init__(self, w, name, gap=0.5, keep=20):
        self.w = w
        self.name = name
        self.rng = w.rng(name)
        self.names = Names(name)
        self.gap = gap
        self.keep = keep
        self.live = []
        self.n = 0

    def run(self):
        while self.w.sleep(self.gap):
            self.n += 1
            self.once()

    def once(self):
        w, j = self.w, self.w.journal
        conn_id = "%s#%d" % (self.name, self.n)
        c = S.open_conn(j, conn_id, w.socket, now() + 5.0, stop=w.stop, timeout=60.0)
        if c is None:
            return
        p = S.Plan(j, self.rng, self.name, self.n, conn_id, self.names)
        p.record(False, "bare")
        if len(self.live) > self.keep:
            p.clear(self.live.pop(0), False, "bare")
        p.cut()
        w.count("probe")
        try:
            if not S.send_chunks(j, conn_id, c, p.chunks):
                j.log("end", conn=conn_id, how="probe", why="send-failed", missing=[], expect=p.expect)
                return
            answered, why = S.read_answers(j, conn_id, c, p.ids, p.expect, now() + 60.0)
        finally:
            c.close()
        j.log("end", conn=conn_id, how="probe", why=why, missing=[p.ids[i] for i in p.ids if i not in answered],
              expect=p.expect)
        for i, ok in answered.items():
            uid = p.ids[i]
            if ok and uid.startswith("rec:"):
                self.live.append(uid.split(":", 1)[1])
