"""RPC clients: pipelines, half-closes, hang-ups, half messages, bad lines,
paused readers, batches, both framings.

A session that does not read its answers (a fragile ending) holds the gates
of the hazards that could excuse a loss, and then confirms, from another
connection, that what it sent was applied ("calm" event): the oracle
reports as lost what is neither confirmed in that calm window nor in the
final state."""
import time

import wire
from actors import session as S
from journal import now

CALM_SECONDS = 6.0    # how long a fragile session waits for what it sent to show
CALM_STALL = 3.0      # ... or for any progress at all
LIVE_TARGETS = 150    # past this many of its own targets, an actor clears old ones
FRAGILE = ("kill", "fault", "outside")

KINDS = [  # (ending, weight)
    ("read", 26), ("halfclose", 12), ("pause-read", 8),
    ("hangup", 14), ("midstream", 8), ("pause-close", 8),
]


class Names:
    def __init__(self, prefix):
        self.prefix = prefix
        self.n = 0

    def __call__(self):
        self.n += 1
        return "%s-%06d" % (self.prefix, self.n)


def confirm(w, conn_id, wanted, t_calm0):
    """Polls until every change in `wanted` ({uid: (kind, target)}) shows
    (a record's target present, a clear's absent), or CALM_SECONDS pass.
    Journals the calm window and what was seen when."""
    seen = {}
    deadline = now() + CALM_SECONDS
    progress = now()
    c = None
    next_id = 1
    while len(seen) < len(wanted) and now() < deadline and now() - progress < CALM_STALL:
        if c is None:
            c = wire.Conn.connect(w.socket, deadline, timeout=5.0)
            if c is None:
                break
        todo = [u for u in wanted if u not in seen][:512]
        batch = []
        for u in todo:
            batch.append(wire.request(next_id, "state.target", {"target": wanted[u][1]}))
            next_id += 1
        first = batch[0]["id"]
        try:
            c.send(wire.encode(batch, "bare"))
            msg = c.read_message()
        except (wire.Closed, OSError, ValueError):
            c.close()
            c = None
            continue
        t = now()
        for r in wire.responses([msg]):
            k = r.get("id")
            if not isinstance(k, int) or not 0 <= k - first < len(batch) or "result" not in r:
                continue
            u = todo[k - first]
            if (r["result"] is not None) == (wanted[u][0] == "rec"):
                seen[u] = t
                progress = t
        if len(seen) < len(wanted):
            time.sleep(0.05)
    if c is not None:
        c.close()
    w.journal.log("calm", conn=conn_id, t0=t_calm0, t1=now(), seen=seen, wanted=len(wanted))
    return seen


def owed_changes(plan):
    """{uid: (kind, target)} of every change sent in full in `plan`, except
    the invalid ones (never applied; checked at the end)."""
    out = {}
    for ch in plan.chunks:
        for uid in ch["uids"]:
            if uid not in plan.invalid:
                kind, target = uid.split(":", 1)
                out[uid] = (kind, target)
    return out


class RpcActor:
    def __init__(self, w, name, mean_gap=0.15, kinds=KINDS):
        self.w = w
        self.name = name
        self.rng = w.rng(name)
        self.names = Names(name)
        self.mean_gap = mean_gap
        self.kinds = kinds
        self.live = []       # own targets whose record was acknowledged, not yet cleared
        self.n = 0

    def run(self):
        while self.w.running():
            self.n += 1
            ending = self.rng.choices([k for k, _ in self.kinds], [wt for _, wt in self.kinds])[0]
            self.session(ending)
            self.w.sleep(self.rng.expovariate(1.0 / self.mean_gap))

    def note_seen(self, seen):
        """Records seen durable become this actor's to clear later."""
        self.live.extend(uid.split(":", 1)[1] for uid in seen if uid.startswith("rec:"))

    def build(self, conn_id, ending):
        rng = self.rng
        p = S.Plan(self.w.journal, rng, self.name, self.n, conn_id, self.names)
        mode = rng.choice(["bare", "bare", "lsp", "mixed"])

        def framing():
            return mode if mode != "mixed" else rng.choice(["bare", "lsp"])

        notify_share = 0.5 if ending in S.ENDINGS_FRAGILE else 0.2
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 3)):
                p.bad(rng.choice(sorted(wire.BAD_LINES)))
        if ending in ("pause-read", "pause-close") or rng.random() < 0.1:
            for _ in range(rng.randint(1, 4)):
                p.read("state.all", framing())
        for _ in range(rng.randint(1, 24)):
            r = rng.random()
            if r < 0.7:
                p.record(rng.random() < notify_share, framing())
            elif r < 0.8:
                p.batch(rng.randint(2, 12), framing(), notify_share)
            elif r < 0.85:
                p.invalid_record(framing())
            elif r < 0.9:
                p.bad(rng.choice(sorted(wire.BAD_LINES)))
            elif r < 0.95 or not self.live:
                p.read("daemon.ping", framing())
            else:
                p.read("state.target", framing(), {"target": rng.choice(self.live)})
            if rng.random() < 0.15:
                p.cut()
        if len(self.live) > LIVE_TARGETS:
            for _ in range(min(len(self.live) - LIVE_TARGETS, rng.randint(5, 30))):
                t = self.live.pop(rng.randrange(len(self.live)))
                p.clear(t, rng.random() < notify_share, framing())
        p.cut()
        if ending == "midstream":
            p.half_message(framing())
        return p

    def session(self, ending):
        conn_id = "%s#%d" % (self.name, self.n)
        self.w.journal.log("act", actor=self.name, n=self.n, kind="session", ending=ending, conn=conn_id)
        self.w.count("rpc." + ending)
        if ending in S.ENDINGS_FRAGILE:
            with self.w.gates.fragile(FRAGILE):
                wanted = self.run_session(conn_id, ending)
                if wanted:
                    self.note_seen(confirm(self.w, conn_id, wanted, now()))
        else:
            self.run_session(conn_id, ending)

    def run_session(self, conn_id, ending):
        """Runs one session; a fragile one returns what it is owed."""
        j = self.w.journal
        c = S.open_conn(j, conn_id, self.w.socket, now() + 30.0, stop=self.w.stop)
        if c is None:
            return {}
        plan = self.build(conn_id, ending)
        if not S.send_chunks(j, conn_id, c, plan.chunks, gap=0.05, rng=self.rng):
            c.close()
            j.log("end", conn=conn_id, how=ending, why="send-failed", missing=[], expect=plan.expect)
            return {}
        if ending in S.ENDINGS_READ:
            self.read_ending(c, conn_id, ending, plan)
            return {}
        if ending == "pause-close":
            time.sleep(self.rng.uniform(0.05, 1.0))
        c.close()
        j.log("end", conn=conn_id, how=ending, why="closed", missing=[], expect=plan.expect)
        return owed_changes(plan)

    def read_ending(self, c, conn_id, ending, plan):
        j = self.w.journal
        if ending == "halfclose":
            c.shutdown_wr()
        if ending == "pause-read":
            time.sleep(self.rng.uniform(0.1, 1.5))
        answered, why = S.read_answers(j, conn_id, c, plan.ids, plan.expect, now() + 30.0)
        if ending == "halfclose" and why == "all":
            # End of input: every answer, then the daemon closes.
            rest, why2 = c.read_until_eof(now() + 30.0)
            if rest:
                j.log("bad_response", conn=conn_id, uid=None, response="more after every answer: %s" % str(rest)[:200])
            if why2 != "eof":
                why = "no-eof"
        c.close()
        missing = [plan.ids[i] or "read#%d" % i for i in plan.ids if i not in answered]
        j.log("end", conn=conn_id, how=ending, why=why, missing=missing, expect=plan.expect)
        for i, ok in answered.items():
            uid = plan.ids[i]
            if ok and uid and uid.startswith("rec:"):
                self.live.append(uid.split(":", 1)[1])
