"""One hostile RPC session: what it sends (a plan, drawn from an actor's RNG)
and how it ends. Every change has its own target name, so the oracle can
find it in the final state; each is journalled ("chg") before it is sent.

Journal events of a session (conn: the session's id):
  chg   {uid, target, kind: rec|clr, via: req|notif|invalid|partial, fields}
  send  {conn, seq, uids, partial}   before a chunk's sendall
  sent  {conn, seq}                  after it returned: every message in it is out
  ans   {conn, uid, ok, code}        a response to a change, read by the client
  end   {conn, how, missing, why}    how the session ended
"""
import base64
import socket
import time

import wire
from journal import now

SCOPES = ["all", "rules", "skills", "mcp", "agents"]
ENDINGS_READ = ("read", "halfclose", "pause-read")
ENDINGS_FRAGILE = ("hangup", "midstream", "pause-close", "kill")


def random_fields(rng):
    hashes = {}
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        h = "%064x" % rng.getrandbits(256)
        hashes["/home/u/.claude/skill-%d/SKILL.md" % rng.randrange(1000)] = h[:16] if rng.random() < 0.3 else h
    return {"scope": rng.choice(SCOPES), "synced": rng.randrange(6), "skipped": rng.randrange(3),
            "failed": rng.randrange(2), "file_hashes": hashes}


class Plan:
    """Builds a session's bytes. `journal` gets each change as it is made."""

    def __init__(self, journal, rng, actor, n, conn, names):
        self.j = journal
        self.rng = rng
        self.actor = actor
        self.n = n
        self.conn = conn
        self.names = names          # callable: a new unique target name
        self.chunks = []            # [{"data": bytes, "uids": [...], "partial": uid or None}]
        self.ids = {}               # request id -> uid (or None for reads)
        self.expect = 0             # response messages the daemon owes
        self.cur = bytearray()
        self.cur_uids = []
        self.next_id = 1000
        self.msg_no = 0             # the message index on the connection
        self.invalid = set()        # uids of records the daemon must refuse

    def _id(self, uid=None):
        i = self.next_id
        self.next_id += 1
        self.ids[i] = uid
        return i

    def _chg(self, kind, target, via, fields=None):
        uid = "%s:%s" % (kind, target)
        self.j.log("chg", uid=uid, target=target, kind=kind, via=via, fields=fields, actor=self.actor, n=self.n,
                   conn=self.conn, msg=self.msg_no)
        return uid

    def record(self, notify, framing, into=None):
        target = self.names()
        fields = random_fields(self.rng)
        uid = self._chg("rec", target, "notif" if notify else "req", fields)
        params = wire.record_params(target, fields)
        if notify:
            msg = wire.notification("state.record", params)
        else:
            msg = wire.request(self._id(uid), "state.record", params)
        if into is not None:
            into.append((msg, uid))
            return uid
        if not notify:
            self.expect += 1
        self.cur += wire.encode(msg, framing)
        self.cur_uids.append(uid)
        self.msg_no += 1
        return uid

    def clear(self, target, notify, framing):
        uid = self._chg("clr", target, "notif" if notify else "req")
        params = {"target": target}
        msg = wire.notification("state.clear", params) if notify else wire.request(self._id(uid), "state.clear", params)
        if not notify:
            self.expect += 1
        self.cur += wire.encode(msg, framing)
        self.cur_uids.append(uid)
        self.msg_no += 1
        return uid

    def read(self, method, framing, params=None):
        self.expect += 1
        self.cur += wire.encode(wire.request(self._id(), method, params), framing)
        self.msg_no += 1

    def invalid_record(self, framing):
        """A record the daemon must refuse (-32602): it must never be applied."""
        target = self.names()
        fields = random_fields(self.rng)
        uid = self._chg("rec", target, "invalid", fields)
        self.invalid.add(uid)
        params = wire.record_params(target, fields)
        params["synced"] = -1
        self.expect += 1
        self.cur += wire.encode(wire.request(self._id(uid), "state.record", params), framing)
        self.cur_uids.append(uid)
        self.msg_no += 1

    def bad(self, kind):
        data, answers = wire.BAD_LINES[kind]
        self.expect += answers
        self.cur += data
        self.msg_no += 1

    def batch(self, size, framing, notify_share):
        items = []
        for _ in range(size):
            self.record(self.rng.random() < notify_share, framing, into=items)
        if self.rng.random() < 0.3:
            items.append((wire.request(self._id(), "daemon.ping"), None))
        msgs = [msg for msg, _ in items]
        self.cur_uids.extend(uid for _, uid in items if uid is not None)
        if any("id" in m for m in msgs):
            self.expect += 1
        self.cur += wire.encode(msgs, framing)
        self.msg_no += 1

    def cut(self):
        """Ends the current chunk: what follows goes in another sendall."""
        if self.cur:
            self.chunks.append({"data": bytes(self.cur), "uids": list(self.cur_uids), "partial": None})
        self.cur = bytearray()
        self.cur_uids = []

    def half_message(self, framing):
        """A record cut in the middle: its target is complete in the bytes
        sent, the message is not. It must never be applied."""
        self.cut()
        target = self.names()
        fields = random_fields(self.rng)
        uid = self._chg("rec", target, "partial", fields)
        data = wire.encode(wire.notification("state.record", wire.record_params(target, fields)), framing)
        at = data.index(target.encode()) + len(target) + 2
        self.chunks.append({"data": data[:at + self.rng.randrange(max(1, len(data) - at - 4))], "uids": [],
                            "partial": uid})

    def to_json(self):
        """For a child process (children/child_rpc.py)."""
        return {"conn": self.conn, "ids": {str(k): v for k, v in self.ids.items()}, "expect": self.expect,
                "chunks": [{"data": base64.b64encode(c["data"]).decode(), "uids": c["uids"], "partial": c["partial"]}
                           for c in self.chunks]}


def open_conn(j, conn_id, path, deadline, stop=None, timeout=30.0):
    """Connects (waiting out a restart) and journals when: a daemon death
    after this moment may explain whatever the session then lacks."""
    c = wire.Conn.connect(path, deadline, timeout=timeout, stop=stop)
    if c is None:
        j.log("no_conn", conn=conn_id)
    else:
        j.log("open", conn=conn_id)
    return c


def send_chunks(j, conn_id, sock_conn, chunks, gap=0.0, rng=None, first_seq=0):
    """Sends each chunk, journalling it before and after. Returns False when
    a send failed (the daemon went away)."""
    for seq, c in enumerate(chunks, first_seq):
        j.log("send", conn=conn_id, seq=seq, uids=c["uids"], partial=c["partial"])
        try:
            sock_conn.send(c["data"])
        except (OSError, socket.timeout) as e:
            j.log("send_failed", conn=conn_id, seq=seq, why=str(e))
            return False
        j.log("sent", conn=conn_id, seq=seq)
        if gap and rng is not None and seq + 1 < first_seq + len(chunks):
            time.sleep(rng.random() * gap)
    return True


def note_answers(j, conn_id, ids, messages, answered):
    """Journals the responses to changes; fills `answered` ({request id: ok})."""
    for r in wire.responses(messages):
        i = r.get("id")
        if not isinstance(i, int) or i not in ids:
            continue
        err = r.get("error")
        answered[i] = err is None
        uid = ids[i]
        if uid is None:
            continue
        if ("result" in r) == (err is not None):
            j.log("bad_response", conn=conn_id, uid=uid, response=str(r)[:300])
        j.log("ans", conn=conn_id, uid=uid, ok=err is None, code=err.get("code") if err else None)


def read_answers(j, conn_id, c, ids, expect, deadline):
    """Reads until `expect` response messages came. Returns ({request id:
    ok}, why it stopped: "all", "eof", "timeout" or "garbled")."""
    answered, got = {}, 0
    while got < expect:
        left = deadline - now()
        if left <= 0:
            return answered, "timeout"
        c.settimeout(left)
        try:
            m = c.read_message()
        except wire.Closed:
            return answered, "eof"
        except socket.timeout:
            return answered, "timeout"
        except ValueError as e:
            j.log("bad_response", conn=conn_id, uid=None, response=str(e)[:300])
            return answered, "garbled"
        got += 1
        note_answers(j, conn_id, ids, [m], answered)
    return answered, "all"
