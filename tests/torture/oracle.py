"""The oracle: judges a run from its journal and its final state, against
the promises of docs/STATE.md and docs/PROTOCOL.md (issue 17). Pure: it
reads events and a final-state summary and returns a report, so that its
self-test (selftest.py) can feed it a planted loss.

A loss is excused only when something outside the daemon can explain it,
computed from the journal, never guessed:
- an outside read-modify-write save S drops a change X when S read before X
  was known durable and replaced after X was sent:
  S.r0 < X.durable_by and S.p1 > X.sent (the legacy writer's loss);
- a message nobody was left to answer (a hang-up) may be lost when a daemon
  kill or exit, or a failing fault window, overlaps the window in which it
  was owed.
Everything else that breaks a promise is an anomaly."""
import bisect

from world import BASELINE

CONNECT_SLACK = 0.1  # s: see judge_sessions
FRAGILE_ENDINGS = {"hangup", "midstream", "pause-close", "kill"}
READ_ENDINGS = {"read", "halfclose", "pause-read", "probe", "paused-read"}
LOCK_GRACE = 3.0      # s after a holder's death before its lock must be gone
PING_LIMIT = 2.0      # s: a longer wait for daemon.ping is an anomaly
CHANGE_LIMIT = 5.0    # s: a longer wait for a probe's change is an anomaly
RSS_GROWTH_KB = 256 * 1024
EXIT_NOTICE = 2.0     # s: how late the observer may notice an exit
INPLACE_SETTLE = 1.0  # s after an in-place save during which changes may be refused
CHECK_SLACK = 0.005   # s around a daemon rename: its check before it, the rename after (a loaded machine)


class Report:
    def __init__(self):
        self.counts = {}
        self.excused = {}
        self.anomalies = []
        self.figures = {}

    def count(self, k, n=1):
        self.counts[k] = self.counts.get(k, 0) + n

    def excuse(self, k):
        self.excused[k] = self.excused.get(k, 0) + 1

    def anomaly(self, kind, t=None, **detail):
        detail["kind"] = kind
        if t is not None:
            detail["t"] = t
        self.anomalies.append(detail)

    def kinds(self):
        out = {}
        for a in self.anomalies:
            out[a["kind"]] = out.get(a["kind"], 0) + 1
        return out


class Windows:
    """Hazard windows and outside saves, searchable by time."""

    def __init__(self, events):
        # A death spans the SIGKILL to the reaping; an exit nobody asked for
        # is noticed by the observer within a couple of seconds.
        self.deaths = sorted((e["t"], e.get("t1", e["t"])) if e["ev"] == "kill" else (e["t"] - EXIT_NOTICE, e["t"])
                             for e in events if e["ev"] in ("kill", "exit"))
        ups = sorted(e["t1"] for e in events if e["ev"] == "up")
        # Down: from a kill or exit to the next start that answered.
        self.down = []
        for d, _ in self.deaths:
            i = bisect.bisect_left(ups, d)
            self.down.append((d, ups[i] if i < len(ups) else float("inf")))
        self.faults = [(e["t0"], e["t1"], e["mode"]) for e in events if e["ev"] == "fault" and e.get("failing")]
        self.delays = [(e["t0"], e["t1"], e["mode"]) for e in events if e["ev"] == "fault" and not e.get("failing")]
        self.stops = [(e["t0"], e["t1"]) for e in events if e["ev"] == "sigstop"]
        self.saves = sorted((e for e in events if e["ev"] == "save"), key=lambda e: e["r0"])

    def death_in(self, a, b):
        for d0, d1 in self.deaths:
            if d0 <= b and d1 >= a:
                return d0
        return None

    def fault_in(self, a, b):
        for f in self.faults:
            if f[0] <= b and f[1] >= a:
                return f
        return None

    def paused_in(self, a, b):
        """A window in which the daemon could not answer: down or stopped."""
        for s, e in self.down + self.stops:
            if s <= b and e >= a:
                return True
        return False

    def clobber(self, sent, durable_by, exclude=None):
        """An outside save that read before `durable_by` and replaced after
        `sent`: it may have written over the change. An in-place save
        counts until a while after its close: the daemon may refuse
        changes until it has taken the file in (STATE.md, "Saves in place")."""
        for s in self.saves:
            if s["r0"] >= durable_by:
                break
            end = s["p1"] + (INPLACE_SETTLE if s["kind"] == "inplace" and exclude is None else 0.0)
            if s is not exclude and end > sent:
                return s
        return None

    def copied(self, a, b):
        """An outside save whose read overlapped [a, b]: it may have copied a
        state.json that held a change for a moment (a write undone after its
        rename, when the directory fsync failed)."""
        for s in self.saves:
            if s["r0"] >= b:
                break
            if s["r1"] > a:
                return s
        return None


class Change:
    __slots__ = ("uid", "target", "kind", "via", "fields", "actor", "n", "conn", "msg", "sent", "complete",
                 "answer", "status", "durable_by", "owed_until", "how")

    def __init__(self, e):
        self.uid, self.target, self.kind, self.via = e["uid"], e["target"], e["kind"], e["via"]
        self.fields, self.actor, self.n, self.conn, self.msg = e.get("fields"), e["actor"], e["n"], e["conn"], e["msg"]
        self.sent = None        # when its chunk's sendall began
        self.complete = False   # the chunk's sendall returned
        self.answer = None      # (t, ok, code)
        self.status = "unknown"
        self.durable_by = None  # a time by which it was surely durable, if applied
        self.owed_until = None  # the end of its calm window, for an owed message
        self.how = None

    def where(self, t_start):
        return {"uid": self.uid, "actor": self.actor, "action": self.n, "conn": self.conn, "via": self.via,
                "sent_at": rel(self.sent, t_start), "answer": None if self.answer is None else
                {"at": rel(self.answer[0], t_start), "ok": self.answer[1], "code": self.answer[2]}}


def rel(t, t_start):
    return None if t is None else round(t - t_start, 3)


def entry_matches(entry, fields):
    return (isinstance(entry, dict) and entry.get("scope") == fields["scope"]
            and entry.get("items_synced") == fields["synced"] and entry.get("items_skipped") == fields["skipped"]
            and entry.get("items_failed") == fields["failed"]
            and entry.get("file_hashes") == fields.get("file_hashes", {}))


def judge(events, final, t_start=0.0, own_pid=None, check_rss=True):
    """events: every journal event, in time order. final: {"targets": {name:
    entry} of the final state.json, "parsed", "backups", "locks_end",
    "drift_end", "sanitizer", "baseline": {name: fields}}."""
    r = Report()
    win = Windows(events)
    targets = final.get("targets") or {}
    changes = judge_changes(events, win, r, t_start, targets)
    judge_saves(events, win, r, t_start, targets, final)
    judge_state(events, final, r, t_start, targets)
    judge_locks(events, final, win, r, t_start, own_pid)
    judge_drift(events, final, r, t_start)
    judge_liveness(events, win, r, t_start, changes, check_rss)
    judge_sessions(events, win, r, t_start)
    judge_daemon(events, final, r, t_start)
    return r


# ---- changes sent by RPC clients ---------------------------------------------

def judge_changes(events, win, r, t_start, targets):
    changes = {}
    by_conn = {}
    sends = {}       # (conn, seq) -> send event
    sent = set()
    calm = {}
    ends = {}
    for e in events:
        ev = e["ev"]
        if ev == "chg":
            c = Change(e)
            changes[c.uid] = c
            by_conn.setdefault(c.conn, []).append(c)
        elif ev == "send":
            sends[(e["conn"], e["seq"])] = e
        elif ev == "sent":
            sent.add((e["conn"], e["seq"]))
        elif ev == "ans":
            c = changes.get(e["uid"])
            if c is not None and c.answer is None:
                c.answer = (e["t"], e["ok"], e.get("code"))
        elif ev == "calm":
            calm[e["conn"]] = e
        elif ev == "end":
            ends[e["conn"]] = e
    for (conn, seq), e in sends.items():
        for uid in e["uids"]:
            c = changes.get(uid)
            if c is not None:
                c.sent = e["t"]
                c.complete = (conn, seq) in sent
        if e.get("partial") in changes:
            changes[e["partial"]].sent = e["t"]

    for c in changes.values():
        end = ends.get(c.conn)
        c.how = end["how"] if end else None
        if c.via in ("invalid", "partial"):
            c.status = c.via
        elif c.answer is not None:
            c.status = "acked" if c.answer[1] else "refused"
            c.durable_by = c.answer[0]
        elif c.sent is None or not c.complete:
            c.status = "unknown"
        elif c.how in FRAGILE_ENDINGS:
            cw = calm.get(c.conn)
            if cw is not None and c.uid in cw["seen"]:
                c.status, c.durable_by = "confirmed", cw["seen"][c.uid]
            elif cw is not None:
                c.status, c.owed_until = "owed", cw["t1"]
            else:
                c.status = "unknown"
    implied_acks(by_conn, win)

    for c in changes.values():
        r.count("change." + c.status)
    by_target = {}
    for c in changes.values():
        by_target.setdefault(c.target, {})[c.kind] = c
    for target, cs in by_target.items():
        judge_target(target, cs, win, r, t_start, targets)
    return changes


def implied_acks(by_conn, win):
    """A notification followed on its connection by a change request that
    was acknowledged was applied before it (changes apply in the order they
    arrive), so it was durable by that answer, unless a failing write in
    between lost it with nobody to tell."""
    for conn, cs in by_conn.items():
        acked = [c for c in cs if c.status == "acked" and c.via == "req"]
        if not acked:
            continue
        for c in cs:
            if c.status != "unknown" or c.sent is None or not c.complete or c.via != "notif":
                continue
            later = [a for a in acked if a.msg > c.msg]
            if not later:
                continue
            first = min(later, key=lambda a: a.answer[0])
            if win.fault_in(c.sent, first.answer[0]) is None:
                c.status, c.durable_by = "implied", first.answer[0]


MUST = ("acked", "confirmed", "implied", "owed")


def judge_target(target, cs, win, r, t_start, targets):
    rec, clr = cs.get("rec"), cs.get("clr")
    present = target in targets
    if rec is not None and rec.status in ("invalid", "partial", "refused"):
        if present:
            excuse = win.copied(rec.sent, rec.answer[0]) if rec.status == "refused" and rec.answer else None
            if excuse is not None:
                r.excuse("refused change copied by an outside save")
            else:
                kind = {"invalid": "invalid record applied", "partial": "half message applied",
                        "refused": "change answered with an error is in the final state"}[rec.status]
                r.anomaly(kind, t=rel(rec.sent, t_start), target=target, **rec.where(t_start))
        return
    if clr is not None and clr.status in MUST:
        if present:
            excuse = lost_excuse(clr, win)
            if excuse is not None:
                r.excuse("clear " + excuse)
            else:
                r.anomaly("cleared target is back" if clr.status != "owed" else "owed clear never applied",
                          t=rel(clr.sent, t_start), target=target, **clr.where(t_start))
        return
    if clr is not None and clr.status == "unknown":
        return
    if rec is None or rec.status not in MUST:
        return
    if present:
        if rec.fields is not None and not entry_matches(targets[target], rec.fields):
            r.anomaly("entry differs from what was recorded", t=rel(rec.sent, t_start), target=target,
                      got=targets[target], sent=rec.fields, **rec.where(t_start))
        return
    excuse = lost_excuse(rec, win)
    if excuse is not None:
        r.excuse("change " + excuse)
        return
    if clr is not None and clr.status == "refused":
        if win.copied(clr.sent, clr.answer[0]) is not None:
            r.excuse("refused clear copied by an outside save")
        else:
            r.anomaly("a clear answered with an error was applied (or the record was lost)",
                      t=rel(clr.sent, t_start), target=target, record=rec.where(t_start), **clr.where(t_start))
        return
    kind = {"acked": "acknowledged change lost", "confirmed": "change seen durable, then lost",
            "implied": "notification lost (a later request on its connection was acknowledged)",
            "owed": "message sent before a clean close never applied"}[rec.status]
    r.anomaly(kind, t=rel(rec.sent, t_start), target=target, ending=rec.how,
              calm_until=rel(rec.owed_until, t_start), **rec.where(t_start))


def lost_excuse(c, win):
    """Why a change that should hold may legitimately not: an outside save
    over it, or (for a message owed to a client that had gone) a daemon
    death or a failing write while it was owed. None: no excuse."""
    until = c.durable_by if c.durable_by is not None else c.owed_until
    s = win.clobber(c.sent, until)
    if s is not None:
        return "dropped by an outside %s save" % s["kind"]
    if c.status == "owed":
        if win.death_in(c.sent, c.owed_until) is not None:
            return "owed, lost with a killed daemon"
        if win.fault_in(c.sent, c.owed_until) is not None:
            return "owed, lost to a failing write"
    return None


# ---- other writers ------------------------------------------------------------

def check_window(final, win, s):
    """A daemon without RENAME_EXCHANGE (daemon.info other_writers "check":
    the portable build) renames over state.json after checking it: a save
    that lands between the check and the rename is written over (STATE.md,
    "Saves by rename: check"). Microseconds, unless the fault shim delays
    the rename by N ms first ("delay-rename N"); the rename writers race
    the daemon's renames on purpose. True when `s` replaced state.json
    within such a window of one of the daemon's renames (fault.log)."""
    if final.get("other_writers") != "check":
        return False
    renames = final.get("daemon_renames") or []  # in time order (fault.log is appended)
    lo = bisect.bisect_left(renames, s["p0"] - 1.0)
    hi = bisect.bisect_right(renames, s["p1"] + CHECK_SLACK)
    for t in renames[lo:hi]:
        delay = 0.0
        for f0, f1, mode in win.delays:
            if f0 <= t <= f1 and mode.startswith("delay-rename "):
                delay = float(mode.split()[1]) / 1000.0
        if s["p0"] <= t + delay + CHECK_SLACK and s["p1"] >= t - CHECK_SLACK:
            return True
    return False


def judge_saves(events, win, r, t_start, targets, final):
    removed = set()
    for e in events:
        if e["ev"] == "save":
            removed.update(e.get("removes") or [])
    for s in win.saves:
        r.count("save." + s["kind"])
        m = s["marker"]
        if m in removed:
            continue
        if m in targets:
            if targets[m].get("items_synced") != s["fields"]["items_synced"]:
                r.anomaly("outside save's entry differs", t=rel(s["p0"], t_start), marker=m, got=targets[m])
            continue
        other = win.clobber(s["p0"], s["p1"], exclude=s)
        if other is not None:
            r.excuse("outside save dropped by another outside save")
            continue
        if check_window(final, win, s):
            r.excuse("outside save written over between the daemon's check and its rename (check mode)")
            continue
        r.anomaly("%s save lost" % ("rename" if s["kind"] == "rename" else "in-place"), t=rel(s["p0"], t_start),
                  marker=m, writer=s["writer"], action=s["n"], read_at=rel(s["r0"], t_start),
                  replaced=[rel(s["p0"], t_start), rel(s["p1"], t_start)])
    for e in events:
        if e["ev"] == "save_fail":
            r.anomaly("rename save lost: its temp file was removed", t=rel(e["p0"], t_start), writer=e["writer"],
                      action=e["n"], why=e["why"])
        elif e["ev"] == "save_skip":
            r.count("save.skipped")


# ---- the state as a whole -------------------------------------------------------

def judge_state(events, final, r, t_start, targets):
    if not final.get("parsed", True):
        r.anomaly("final state.json does not parse", detail=final.get("parse_error"))
    for b in final.get("backups") or []:
        r.anomaly("state.json moved aside", backup=b)
    base = final.get("baseline") or {}
    for name in BASELINE:
        if name not in targets:
            r.anomaly("baseline target lost (state reset)", target=name)
        elif name in base and not entry_matches(targets[name], base[name]):
            r.anomaly("baseline target changed", target=name, got=targets[name])
    gone = [e for e in events if e["ev"] == "baseline" and not e["present"]]
    for e in gone[:1]:
        r.anomaly("baseline target missing from a read (state reset)", t=rel(e["t0"], t_start), target=e["target"],
                  times_seen_missing=len(gone))
    if final.get("memory_differs"):
        r.anomaly("state.all differs from state.json at the end", detail=final["memory_differs"])


# ---- locks -------------------------------------------------------------------

def judge_locks(events, final, win, r, t_start, own_pid):
    lives = {}
    for e in events:
        if e["ev"] == "child":
            lives.setdefault(e["pid"], []).append((e["t0"], e["t1"]))
    reported = set()
    for e in events:
        if e["ev"] != "locklist":
            continue
        r.count("lock.list")
        for entry in e["entries"]:
            pid = entry.get("holder_pid")
            if pid is None or pid == own_pid or pid not in lives:
                continue
            spans = lives[pid]
            if any(a <= e["t1"] and b >= e["t0"] for a, b in spans):
                continue  # alive while listed
            died = max((b for a, b in spans if b <= e["t0"]), default=None)
            if died is None or e["t0"] - died < LOCK_GRACE or win.paused_in(died, e["t0"]):
                continue
            key = (entry.get("name"), pid, died)
            if key in reported:
                continue
            reported.add(key)
            r.anomaly("lock held by a dead process", t=rel(e["t0"], t_start), name=entry.get("name"), pid=pid,
                      died_at=rel(died, t_start), held_ms=entry.get("held_ms"))
    if final.get("locks_end"):
        r.anomaly("locks left after every client ended", locks=final["locks_end"])
    judge_double_grants(events, r, t_start)
    for e in events:
        if e["ev"] != "owed_probe" or "aborted" in e:
            continue
        r.count("lock.owed-probe")
        c = e.get("c") or {}
        if not (c.get("coalesced") and not c.get("acquired")):
            continue
        listed, d = e.get("listed") or {}, e.get("d") or {}
        if listed.get("waiting"):
            r.anomaly("a closed connection still waits for a lock", t=rel(e["t"], t_start), lock=e["lock"],
                      listed=listed)
        elif listed.get("owed") is not True or d.get("owed") is not True:
            r.anomaly("coalesced callers' run not owed after their covering waiter left", t=rel(e["t"], t_start),
                      lock=e["lock"], listed=listed, next_grant=d)


def judge_double_grants(events, r, t_start):
    """A lock is proven held from the answer that granted it to each later
    sign of life of its holder, until the holder releases it, breaks its
    session or dies, or the daemon does. Two proven holds of one name that
    overlap are a double grant."""
    holds = {}      # (pid, name) -> [start, last]
    done = []       # (name, pid, start, end)
    cut = set()     # pids whose session is broken

    def close(key):
        h = holds.pop(key, None)
        if h is not None and h[1] > h[0]:
            done.append((key[1], key[0], h[0], h[1]))

    for e in events:
        ev = e["ev"]
        if ev in ("kill", "exit"):
            for key in list(holds):
                close(key)
        elif ev == "lk":
            key = (e["pid"], e["name"])
            if e["op"] == "acquire" and e.get("acquired") and e["pid"] not in cut:
                holds[key] = [e["t"], e["t"]]
            elif e["op"] == "release":
                close(key)
        elif ev == "lk_tick" and e["pid"] not in cut:
            for key, h in holds.items():
                if key[0] == e["pid"]:
                    h[1] = e["t"]
        elif ev in ("lk_malformed", "lk_closed"):
            cut.add(e["pid"])
            for key in [k for k in holds if k[0] == e["pid"]]:
                close(key)
        elif ev == "child":
            for key in [k for k in holds if k[0] == e["pid"]]:
                close(key)
    for key in list(holds):
        close(key)
    by_name = {}
    for name, pid, a, b in done:
        by_name.setdefault(name, []).append((a, b, pid))
    for name, spans in by_name.items():
        spans.sort()
        for i in range(1, len(spans)):
            a2, b2, p2 = spans[i]
            for a1, b1, p1 in spans[max(0, i - 8):i]:
                if p1 != p2 and a2 < b1:
                    r.anomaly("lock granted to two holders at once", t=rel(a2, t_start), name=name, pids=[p1, p2],
                              first=[rel(a1, t_start), rel(b1, t_start)], second=[rel(a2, t_start), rel(b2, t_start)])


# ---- drift ------------------------------------------------------------------

def judge_drift(events, final, r, t_start):
    for e in events:
        if e["ev"] != "drift" or not e["same_entry"]:
            continue
        r.count("drift.compared")
        if e["expected"] != e["got"]:
            r.anomaly("state.drift differs from hashing every file", t=rel(e["t0"], t_start), target=e["target"],
                      expected=e["expected"], got=e["got"])
    for d in final.get("drift_end") or []:
        r.count("drift.final")
        if d["expected"] != d["got"]:
            r.anomaly("final state.drift differs from hashing every file", target=d["target"],
                      expected=d["expected"], got=d["got"])


# ---- liveness ----------------------------------------------------------------

def judge_liveness(events, win, r, t_start, changes, check_rss):
    worst = (0.0, None)
    worst_all = 0.0
    for e in events:
        if e["ev"] != "ping":
            continue
        lat = e["t1"] - e["t0"]
        worst_all = max(worst_all, lat)
        if win.paused_in(e["t0"], e["t1"]):
            continue
        if lat > worst[0]:
            worst = (lat, e["t0"])
        if lat > PING_LIMIT:
            r.anomaly("daemon.ping waited %.1f s" % lat, t=rel(e["t0"], t_start))
    r.figures["ping_max_s"] = round(worst[0], 4)
    r.figures["ping_max_any_s"] = round(worst_all, 4)
    slow = 0.0
    for c in changes.values():
        if c.actor != "probe" or c.answer is None or c.sent is None:
            continue
        lat = c.answer[0] - c.sent
        if win.paused_in(c.sent, c.answer[0]):
            continue
        slow = max(slow, lat)
        if lat > CHANGE_LIMIT:
            r.anomaly("a change waited %.1f s" % lat, t=rel(c.sent, t_start), **c.where(t_start))
    r.figures["probe_change_max_s"] = round(slow, 4)
    rss = [e["kb"] for e in events if e["ev"] == "rss"]
    if rss:
        r.figures["rss_first_kb"], r.figures["rss_max_kb"] = rss[0], max(rss)
        # A sanitizer build holds freed memory in quarantine: no bound then.
        if check_rss and max(rss) - rss[0] > RSS_GROWTH_KB:
            r.anomaly("daemon RSS grew by %d MiB" % ((max(rss) - rss[0]) // 1024))


def judge_sessions(events, win, r, t_start):
    first_send = {}
    for e in events:
        if e["ev"] in ("open", "send"):
            first_send.setdefault(e["conn"], e["t"])
        elif e["ev"] == "bad_response":
            r.anomaly("invalid response", t=rel(e["t"], t_start), conn=e["conn"], response=e["response"])
    for e in events:
        if e["ev"] != "end" or e["why"] in ("all", "closed", "killed"):
            continue
        if e["how"] not in READ_ENDINGS and e["why"] != "send-failed":
            continue
        start = first_send.get(e["conn"], e["t"])
        # "open" is logged once connect(2) has returned, by a client thread
        # that may run tens of ms later on a loaded machine: a connection
        # made into the backlog of a daemon being killed can be logged after
        # the harness logged its reaping (seen: 16 ms, and 0.08 ms).
        if e["why"] in ("eof", "send-failed") and win.death_in(start - CONNECT_SLACK, e["t"] + 1.0) is not None:
            r.excuse("answers lost with a killed daemon")
            continue
        what = {"eof": "the daemon closed a reading client's connection with answers owed",
                "timeout": "answers not sent within 30 s",
                "no-eof": "no end of input after a half-close",
                "garbled": "unparsable response"}.get(e["why"], "session failed: %s" % e["why"])
        r.anomaly(what, t=rel(start, t_start), conn=e["conn"], ending=e["how"], missing=e.get("missing", [])[:10])


def judge_daemon(events, final, r, t_start):
    for e in events:
        if e["ev"] == "exit":
            r.anomaly("daemon exited on its own", t=rel(e["t"], t_start), status=e["status"], log=e.get("log"))
        elif e["ev"] in ("start_failed", "restart_failed"):
            r.anomaly("daemon failed to start", t=rel(e.get("t0", e["t"]), t_start), detail=e.get("detail"),
                      status=e.get("status"), log=e.get("log"))
        elif e["ev"] in ("child_error", "harness_error"):
            r.anomaly("harness error (the run cannot be trusted)", t=rel(e["t"], t_start),
                      detail=(e.get("stderr") or e.get("detail") or "")[-1500:])
    if final.get("settle_error"):
        r.anomaly("the daemon failed the checks at the end", detail=final["settle_error"])
    for line in final.get("sanitizer") or []:
        r.anomaly("sanitizer report in the daemon's log", detail=line)
    if final.get("exit_status") not in (None, 0):
        r.anomaly("daemon did not exit cleanly on SIGTERM", status=final.get("exit_status"))
