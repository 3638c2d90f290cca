#!/usr/bin/python3
"""The oracle must be able to fail: each case feeds it a tiny synthetic
journal and final state, with a planted loss (or a loss it must excuse),
and checks exactly which anomalies it reports. Run by ctest as
torture_oracle; no daemon needed."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import oracle  # noqa: E402
from world import BASELINE  # noqa: E402

FIELDS = {"scope": "all", "synced": 1, "skipped": 0, "failed": 0, "file_hashes": {}}
ENTRY = {"last_sync": "2026-12-01T00:00:00.000000", "status": "success", "scope": "all", "file_hashes": {},
         "sync_method": {}, "items_synced": 1, "items_skipped": 0, "items_failed": 0}


class J:
    """A journal under construction."""

    def __init__(self):
        self.events = []
        self.seq = {}

    def add(self, ev, t, **f):
        f.update(ev=ev, t=t)
        self.events.append(f)

    def change(self, target, t, conn="r1#1", kind="rec", via="req", ans=None, ok=True, code=None, msg=0,
               complete=True, actor="r1"):
        uid = "%s:%s" % (kind, target)
        self.add("chg", t - 0.001, uid=uid, target=target, kind=kind, via=via, fields=FIELDS if kind == "rec" else None,
                 actor=actor, n=1, conn=conn, msg=msg)
        seq = self.seq.get(conn, 0)
        self.seq[conn] = seq + 1
        self.add("send", t, conn=conn, seq=seq, uids=[uid] if via != "partial" else [],
                 partial=uid if via == "partial" else None)
        if complete:
            self.add("sent", t + 0.0001, conn=conn, seq=seq)
        if ans is not None:
            self.add("ans", ans, conn=conn, uid=uid, ok=ok, code=code)
        return uid

    def save(self, marker, r0, p0, p1=None, kind="rename", writer="w1", removes=()):
        self.add("save", p1 or p0 + 0.001, writer=writer, n=1, kind=kind, marker=marker,
                 fields=dict(ENTRY, items_synced=1), removes=list(removes), r0=r0, r1=r0 + 0.001, p0=p0,
                 p1=p1 or p0 + 0.001)

    def sorted(self):
        return sorted(self.events, key=lambda e: e["t"])


def final(present=(), **extra):
    targets = {name: dict(ENTRY) for name in BASELINE}
    for name in present:
        targets[name] = dict(ENTRY)
    f = {"targets": targets, "parsed": True, "backups": [], "locks_end": [], "drift_end": []}
    f.update(extra)
    return f


def case_acked_present():
    j = J()
    j.change("r1-1", 1.0, ans=1.1)
    return j, final(["r1-1"]), [], []


def case_acked_lost():
    j = J()
    j.change("r1-1", 1.0, ans=1.1)
    return j, final(), ["acknowledged change lost"], []


def case_acked_lost_to_an_outside_save():
    j = J()
    j.change("r1-1", 1.0, ans=1.1)
    j.save("w1-1", r0=1.05, p0=1.2)   # read before the ack, replaced after the send
    return j, final(["w1-1"]), [], ["change dropped by an outside rename save"]


def case_outside_save_that_read_after_the_ack_is_no_excuse():
    j = J()
    j.change("r1-1", 1.0, ans=1.1)
    j.save("w1-1", r0=1.2, p0=1.3)
    return j, final(["w1-1"]), ["acknowledged change lost"], []


def case_entry_differs():
    j = J()
    j.change("r1-1", 1.0, ans=1.1)
    f = final(["r1-1"])
    f["targets"]["r1-1"]["items_synced"] = 7
    return j, f, ["entry differs from what was recorded"], []


def case_refused_change_applied():
    j = J()
    j.change("r1-1", 1.0, ans=1.1, ok=False, code=1)
    return j, final(["r1-1"]), ["change answered with an error is in the final state"], []


def case_refused_and_absent():
    j = J()
    j.change("r1-1", 1.0, ans=1.1, ok=False, code=1)
    return j, final(), [], []


def case_refused_clear_undone_is_no_loss():
    j = J()
    j.change("r1-1", 1.0, ans=1.1)
    j.change("r1-1", 2.0, kind="clr", ans=2.1, ok=False, code=1)
    return j, final(["r1-1"]), [], []


def case_refused_clear_whose_file_an_outside_save_copied():
    """A write whose directory fsync failed is undone after its rename:
    a save that read in between keeps the clear that was refused."""
    j = J()
    j.change("r1-1", 1.0, ans=1.1)
    j.change("r1-1", 2.0, kind="clr", ans=2.1, ok=False, code=1)
    j.save("w1-1", r0=2.05, p0=2.2)
    return j, final(["w1-1"]), [], ["refused clear copied by an outside save"]


def case_refused_clear_and_target_gone():
    j = J()
    j.change("r1-1", 1.0, ans=1.1)
    j.change("r1-1", 2.0, kind="clr", ans=2.1, ok=False, code=1)
    return j, final(), ["a clear answered with an error was applied (or the record was lost)"], []


def case_half_message_and_invalid_record_applied():
    j = J()
    j.change("r1-1", 1.0, via="partial", complete=False)
    j.change("r1-2", 1.0, via="invalid", ans=1.1, ok=False, code=-32602)
    return j, final(["r1-1", "r1-2"]), ["half message applied", "invalid record applied"], []


def hangup(j, target, conn="h1#1", calm=(2.0, 7.0), seen=None):
    uid = j.change(target, 1.0, conn=conn, via="notif")
    j.add("end", 1.01, conn=conn, how="hangup", why="closed", missing=[], expect=0)
    j.add("calm", calm[1], conn=conn, t0=calm[0], t1=calm[1], seen=seen or {}, wanted=1)
    return uid


def case_hangup_notification_lost():
    j = J()
    hangup(j, "h1-1")
    return j, final(), ["message sent before a clean close never applied"], []


def case_hangup_notification_lost_with_a_daemon_kill():
    j = J()
    hangup(j, "h1-1")
    j.add("kill", 3.0, pid=1)
    j.add("up", 3.5, t0=3.1, t1=3.5, pid=2, n=2)
    return j, final(), [], ["change owed, lost with a killed daemon"]


def case_hangup_notification_seen_then_lost():
    j = J()
    uid = hangup(j, "h1-1")
    j.events[-1]["seen"] = {uid: 2.5}
    j.add("kill", 3.0, pid=1)   # a kill after it was seen durable is no excuse
    return j, final(), ["change seen durable, then lost"], []


def case_notification_implied_by_a_later_ack():
    j = J()
    j.change("r1-1", 1.0, via="notif", msg=0)
    j.change("r1-2", 1.0, ans=1.2, msg=1)
    j.add("end", 1.3, conn="r1#1", how="read", why="all", missing=[], expect=1)
    return j, final(["r1-2"]), ["notification lost (a later request on its connection was acknowledged)"], []


def case_notification_not_implied_across_a_failing_write():
    j = J()
    j.change("r1-1", 1.0, via="notif", msg=0)
    j.change("r1-2", 1.0, ans=1.2, msg=1)
    j.add("fault", 1.15, mode="enospc", t0=1.05, t1=1.15, failing=True)
    return j, final(["r1-2"]), [], []


def case_cleared_target_is_back():
    j = J()
    j.change("r1-1", 1.0, ans=1.1)
    j.change("r1-1", 2.0, kind="clr", ans=2.1)
    return j, final(["r1-1"]), ["cleared target is back"], []


def case_rename_save_lost():
    j = J()
    j.save("w1-1", r0=1.0, p0=1.1)
    return j, final(), ["rename save lost"], []


def case_rename_save_dropped_by_another_save():
    j = J()
    j.save("w1-1", r0=1.0, p0=1.1)
    j.save("w2-1", r0=1.05, p0=1.2, writer="w2")
    return j, final(["w2-1"]), [], ["outside save dropped by another outside save"]


def check_window_run(other_writers, save_at, mode="delay-rename 50"):
    """A daemon rename noted at 1.10 s in a fault window of `mode`, and a
    rename save landing at `save_at`."""
    j = J()
    j.add("fault", 3.0, mode=mode, t0=1.0, t1=3.0, failing=False)
    j.save("w1-1", r0=1.0, p0=save_at)
    return j, final(other_writers=other_writers, daemon_renames=[1.10])


CHECK_EXCUSE = "outside save written over between the daemon's check and its rename (check mode)"


def case_save_in_the_checks_delayed_window_in_check_mode():
    j, f = check_window_run("check", 1.13)
    return j, f, [], [CHECK_EXCUSE]


def case_save_just_before_a_check_mode_rename():
    j, f = check_window_run("check", 1.098, mode="delay-renamed 50")
    return j, f, [], [CHECK_EXCUSE]


def case_save_in_a_delayed_window_with_the_exchange_is_lost():
    j, f = check_window_run("exchange", 1.13)
    return j, f, ["rename save lost"], []


def case_save_after_the_checks_delayed_window_is_lost():
    j, f = check_window_run("check", 1.30)
    return j, f, ["rename save lost"], []


def case_save_after_an_undelayed_check_mode_rename_is_lost():
    j, f = check_window_run("check", 1.13, mode="delay-renamed 50")
    return j, f, ["rename save lost"], []


def case_in_place_save_lost_and_temp_file_removed():
    j = J()
    j.save("i1-1", r0=1.0, p0=1.1, p1=1.4, kind="inplace", writer="i1")
    j.add("save_fail", 2.0, writer="w1", n=3, kind="rename", marker="w1-3", why="temp file vanished", r0=1.8,
          r1=1.81, p0=2.0, p1=2.0)
    return j, final(), ["in-place save lost", "rename save lost: its temp file was removed"], []


def case_state_reset():
    j = J()
    j.add("baseline", 2.0, target="b07", t0=2.0, t1=2.01, present=False)
    f = final(backups=["state.json.bak.20261201_000000"])
    del f["targets"]["b07"]
    return j, f, ["baseline target lost (state reset)", "baseline target missing from a read (state reset)",
                  "state.json moved aside"], []


def case_lock_held_by_a_dead_process():
    j = J()
    j.add("child", 2.0, pid=4242, actor="k1", label="k1#1", t0=1.0, t1=2.0, killed=True, status=-9)
    j.add("child", 2.0, pid=4343, actor="k1", label="k1#2", t0=1.0, t1=9.5, killed=True, status=-9)
    j.add("locklist", 9.0, t0=9.0, t1=9.01, entries=[{"name": "sync", "holder_pid": 4242, "held_ms": 8000},
                                                    {"name": "L1", "holder_pid": 4343, "held_ms": 10}])
    j.add("locklist", 3.0, t0=3.0, t1=3.01, entries=[{"name": "L2", "holder_pid": 4242, "held_ms": 1000}])
    return j, final(locks_end=[{"name": "sync"}]), ["lock held by a dead process",
                                                    "locks left after every client ended"], []


def case_lock_granted_twice():
    j = J()
    j.add("lk", 1.0, pid=1, conn="k1#1", name="sync", op="acquire", t_send=0.9, acquired=True)
    j.add("lk_tick", 3.0, pid=1, conn="k1#1")
    j.add("lk", 2.0, pid=2, conn="k2#1", name="sync", op="acquire", t_send=1.9, acquired=True)
    j.add("lk_tick", 2.5, pid=2, conn="k2#1")
    return j, final(), ["lock granted to two holders at once"], []


def case_lock_handed_on_is_no_double_grant():
    j = J()
    j.add("lk", 1.0, pid=1, conn="k1#1", name="sync", op="acquire", t_send=0.9, acquired=True)
    j.add("lk_tick", 1.5, pid=1, conn="k1#1")
    j.add("lk", 1.6, pid=1, conn="k1#1", name="sync", op="release", t_send=1.5)
    j.add("lk", 1.7, pid=2, conn="k2#1", name="sync", op="acquire", t_send=0.95, acquired=True)
    j.add("lk_tick", 2.5, pid=2, conn="k2#1")
    return j, final(), [], []


def case_owed_not_recorded():
    j = J()
    j.add("owed_probe", 5.0, lock="owed-1", a={"acquired": True}, c={"acquired": False, "coalesced": True},
          listed={"name": "owed-1", "waiting": 0}, d={"acquired": True, "coalesced": False})
    return j, final(), ["coalesced callers' run not owed after their covering waiter left"], []


def case_drift_differs():
    j = J()
    same = {"tracked": True, "changed": [], "removed": [], "errors": []}
    j.add("drift", 1.0, target="f0", t0=1.0, t1=1.1, same_entry=True, expected=dict(same, changed=["/x"]), got=same)
    j.add("drift", 2.0, target="f1", t0=2.0, t1=2.1, same_entry=False, expected=dict(same, changed=["/x"]), got=same)
    f = final(drift_end=[{"target": "f2", "expected": same, "got": dict(same, removed=["/y"])}])
    return j, f, ["state.drift differs from hashing every file",
                  "final state.drift differs from hashing every file"], []


def case_slow_ping():
    j = J()
    j.add("ping", 1.0, t0=1.0, t1=4.0)
    j.add("sigstop", 10.2, t0=10.0, t1=10.2)
    j.add("ping", 10.0, t0=9.9, t1=13.0)   # the daemon was stopped meanwhile: not counted
    return j, final(), ["daemon.ping waited 3.0 s"], []


def case_answers_missing():
    j = J()
    j.add("open", 1.0, conn="r1#1")
    j.add("end", 2.0, conn="r1#1", how="halfclose", why="eof", missing=["rec:r1-1"], expect=1)
    j.add("open", 3.0, conn="r1#2")
    j.add("kill", 3.5, pid=1)
    j.add("end", 3.6, conn="r1#2", how="read", why="eof", missing=["rec:r1-2"], expect=1)
    return j, final(), ["the daemon closed a reading client's connection with answers owed"], \
        ["answers lost with a killed daemon"]


CASES = [v for k, v in sorted(globals().items()) if k.startswith("case_")]


def main():
    failed = 0
    for case in CASES:
        j, fin, want, want_excused = case()
        rep = oracle.judge(j.sorted(), fin)
        got = sorted(set(a["kind"] for a in rep.anomalies))
        got_excused = sorted(rep.excused)
        ok = got == sorted(set(want)) and got_excused == sorted(want_excused)
        failed += not ok
        print("%s %s" % ("ok  " if ok else "FAIL", case.__name__[5:]))
        if not ok:
            print("     anomalies %s, want %s" % (got, sorted(set(want))))
            print("     excused   %s, want %s" % (got_excused, sorted(want_excused)))
    print("%d of %d cases as expected" % (len(CASES) - failed, len(CASES)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
