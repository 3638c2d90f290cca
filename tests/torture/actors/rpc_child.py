"""RPC clients in child processes, SIGKILLed at a random moment of their
session (children/child_rpc.py). A killed client's socket is closed by the
kernel: everything it sent in full is owed, as for any hang-up."""
import json
import os
import subprocess

from actors import procs
from actors.rpc import FRAGILE, Names, RpcActor, confirm
from journal import now, read_events


class RpcChildActor(RpcActor):
    def __init__(self, w, name, mean_gap=0.6):
        super().__init__(w, name, mean_gap)
        self.names = Names(name)

    def run(self):
        while self.w.running():
            self.n += 1
            self.child_session()
            self.w.sleep(self.rng.expovariate(1.0 / self.mean_gap))

    def child_session(self):
        w, rng = self.w, self.rng
        conn_id = "%s#%d" % (self.name, self.n)
        w.journal.log("act", actor=self.name, n=self.n, kind="child-session", conn=conn_id)
        w.count("rpc.child-kill")
        with w.gates.fragile(FRAGILE):
            plan = self.build(conn_id, "kill")
            plan_path = os.path.join(w.run_dir, "plan.%s.json" % self.name)
            with open(plan_path, "w") as f:
                json.dump(plan.to_json(), f)
            journal = os.path.join(w.run_dir, "journal", "%s.%d.jsonl" % (self.name, self.n))
            p = procs.spawn("child_rpc.py", [plan_path, w.socket, journal])
            try:
                p.wait(rng.uniform(0.05, 1.2))
            except subprocess.TimeoutExpired:
                pass
            procs.kill_and_reap(w, p, self.name, conn_id)
            w.journal.log("end", conn=conn_id, how="kill", why="killed", missing=[], expect=plan.expect)
            owed, acked = self.owed_from(journal, plan)
            self.live.extend(uid.split(":", 1)[1] for uid in acked if uid.startswith("rec:"))
            if owed:
                self.note_seen(confirm(w, conn_id, owed, now()))

    @staticmethod
    def owed_from(journal, plan):
        """What the child sent in full and was not answered before it died,
        and the changes it was told were applied."""
        if not os.path.exists(journal):
            return {}, []
        events, _ = read_events([journal])
        sent = {e["seq"] for e in events if e["ev"] == "sent"}
        answered = {e["uid"] for e in events if e["ev"] == "ans"}
        acked = [e["uid"] for e in events if e["ev"] == "ans" and e["ok"]]
        owed = {}
        for seq, ch in enumerate(plan.chunks):
            if seq not in sent:
                continue
            for uid in ch["uids"]:
                if uid not in answered and uid not in plan.invalid:
                    kind, target = uid.split(":", 1)
                    owed[uid] = (kind, target)
        return owed, acked
