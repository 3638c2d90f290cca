"""A subscribed target whose files are on a hung mount (every lstat/stat
under one path prefix takes 400 ms, through an LD_PRELOAD shim, as on a
dead NFS server) never delays another client: finding which directories to
watch (an lstat per path component, the watch's own lstat, the directory
watch itself) runs on the file watch's worker thread, both when the target
is first tracked and when an event makes its path be resolved again. The
subscriber still gets every drift. It all ran on the event loop: a ping
waited seconds."""
import os
import threading
import time

import pytest

from conftest import record_params
from test_live_watch import WAIT, Sub, sha, watch_info, write

SLOW_STAT_SHIM = os.environ.get("HS_FAULT_SLOW_STAT", "")
PING_LIMIT = 0.1  # seconds: a ping is a few hundred microseconds when nothing holds the loop


def ping_while(daemon, busy, at_least=0.0):
    """Pings on a connection of its own while `busy()` (and for at least
    `at_least` s); the slowest answer, in seconds."""
    c = daemon.client()
    worst = 0.0
    start = time.monotonic()
    try:
        while busy() or time.monotonic() - start < at_least:
            assert time.monotonic() - start < WAIT + 10, "the other clients never finished"
            t = time.monotonic()
            assert c.call("daemon.ping") == "pong"
            worst = max(worst, time.monotonic() - t)
            time.sleep(0.01)
    finally:
        c.close()
    return worst


def in_thread(fn):
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: B036 - reported by the caller
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def joined(t, out):
    t.join(WAIT + 10)
    assert not t.is_alive(), "the client thread hung"
    if "error" in out:
        raise out["error"]
    return out.get("value")


@pytest.mark.skipif(not os.path.exists(SLOW_STAT_SHIM), reason="build hs_fault_slow_stat (ctest sets HS_FAULT_SLOW_STAT)")
def test_tracking_a_target_on_a_hung_mount_never_delays_another_client(start, tmp):
    mount = os.path.join(tmp, "nfs")
    os.makedirs(os.path.join(mount, "skills", "s"))
    agents = os.path.join(mount, "AGENTS.md")
    skill = os.path.join(mount, "skills", "s", "SKILL.md")
    write(agents, b"# agents\n")
    write(skill, b"# skill\n")
    flag = os.path.join(tmp, "slow-stat")
    d = start(env={"LD_PRELOAD": SLOW_STAT_SHIM, "HS_FAULT_SLOW_STAT_FLAG": flag, "HS_FAULT_SLOW_STAT_MATCH": mount,
                   "HS_FAULT_SLOW_STAT_MS": "400",
                   "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
    c = d.client()
    c.call("state.record", record_params("codex", {agents: sha(agents), skill: sha(skill)}))
    c.close()
    open(flag, "w").close()  # the mount hangs from now on

    # 1. First tracked: one client subscribes, another asks for the drift.
    s = Sub(d)

    def subscribe():
        s.call("state.subscribe", {"targets": ["codex"]})
        return s.drifted("codex", changed=[], removed=[])

    def drift():
        other = d.client(timeout=WAIT + 10)
        try:
            return other.call("state.drift", {"target": "codex"})
        finally:
            other.close()

    sub_t, sub_out = in_thread(subscribe)
    drift_t, drift_out = in_thread(drift)
    worst = ping_while(d, lambda: sub_t.is_alive() or drift_t.is_alive(), at_least=1.0)
    joined(sub_t, sub_out)
    answer = joined(drift_t, drift_out)
    assert (answer["changed"], answer["removed"]) == ([], [])
    with open(flag) as f:
        met = f.read().count("slow")
    assert met >= 2, "the daemon met the slow mount %d times: the test proves nothing" % met
    assert worst < PING_LIMIT, "a ping waited %.3f s while a target on a hung mount was first tracked" % worst
    info = watch_info(d)
    assert info["paths"] + info["polled"] == 2, info

    # 2. Resolved again: an event on the path (a save by rename) makes the
    # watch look at its directories again, on the slow mount.
    open(flag, "w").close()
    tmpfile = os.path.join(mount, ".AGENTS.md.swp")
    write(tmpfile, b"# edited\n")
    os.rename(tmpfile, agents)
    sub_t, sub_out = in_thread(lambda: s.drifted("codex", changed=[agents], removed=[]))
    worst = ping_while(d, sub_t.is_alive, at_least=1.0)
    joined(sub_t, sub_out)
    with open(flag) as f:
        assert "slow" in f.read(), "the daemon never looked at the slow mount again"
    assert worst < PING_LIMIT, "a ping waited %.3f s while a path on a hung mount was resolved again" % worst
    s.close()
