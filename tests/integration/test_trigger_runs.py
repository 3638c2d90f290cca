"""When triggers run, against the real daemon (docs/PROTOCOL.md,
"Triggers"): settle and max-wait, exactly one follow-up, random edit
bursts (never two runs at once, the last run sees the final content,
every edited path reaches a run), manual `hsctl lock sync` runs and
triggered runs never overlap, coalesced runs and the lock's debt, and the
loop back-off."""
import os
import random
import subprocess
import time

from conftest import DAEMON
from trigger_support import runs_of, set_recorder, settled, stdin_of, trigger, wait_until, write

HSCTL = os.environ.get("HS_HSCTL", os.path.join(os.path.dirname(DAEMON), "hsctl"))


def test_a_run_starts_settle_after_the_last_of_several_changes(daemon, tmp):
    c = daemon.client()
    w = os.path.join(tmp, "w")
    os.mkdir(w)
    log = os.path.join(tmp, "log")
    set_recorder(c, "s", [w], log, settle_ms=400, max_wait_ms=60000)
    last = 0.0
    for i in range(4):
        last = time.time()
        write(os.path.join(w, "f%d" % i), "x")
        time.sleep(0.1)
    settled(c, "s", runs=1)
    runs = runs_of(log)
    assert len(runs) == 1, runs
    # Never before settle_ms after the last change (the daemon saw it after we wrote it).
    assert runs[0][1] - last >= 0.4, runs[0][1] - last
    assert sorted(stdin_of(log, 1)) == [os.path.join(w, "f%d" % i) for i in range(4)]


def test_a_steady_stream_of_changes_runs_at_max_wait(daemon, tmp):
    c = daemon.client()
    w = os.path.join(tmp, "w")
    os.mkdir(w)
    log = os.path.join(tmp, "log")
    set_recorder(c, "s", [w], log, settle_ms=300, max_wait_ms=600)
    end = time.time() + 3
    while time.time() < end:
        write(os.path.join(w, "f"), str(time.time()))
        time.sleep(0.05)
    ended = time.time()
    settled(c, "s")
    runs = runs_of(log)
    # A settle alone would wait for the stream to end; max-wait runs within it.
    assert runs and runs[0][1] < ended, runs


def test_changes_during_a_run_make_exactly_one_more_run(daemon, tmp):
    c = daemon.client()
    w = os.path.join(tmp, "w")
    os.mkdir(w)
    log = os.path.join(tmp, "log")
    set_recorder(c, "s", [w], log, settle_ms=50, pause=1.0)
    write(os.path.join(w, "first"), "x")
    wait_until(lambda: runs_of(log), what="the first run")
    for i in range(5):
        write(os.path.join(w, "during%d" % i), "x")
        time.sleep(0.05)
    assert runs_of(log)[0][2] is None, "the first run ended too soon for the test"
    settled(c, "s", runs=2)
    runs = runs_of(log)
    assert len(runs) == 2, runs
    assert sorted(stdin_of(log, 2)) == [os.path.join(w, "during%d" % i) for i in range(5)]


def test_random_edit_bursts_never_overlap_and_the_last_run_sees_the_final_content(daemon, tmp):
    c = daemon.client()
    w = os.path.join(tmp, "w")
    os.makedirs(os.path.join(w, "sub"))
    log = os.path.join(tmp, "log")
    target = os.path.join(w, "sub", "CLAUDE.md")
    set_recorder(c, "s", [w], log, settle_ms=30, max_wait_ms=200, see=target, pause=0.02)
    rng = random.Random(18)
    edited = set()
    final = ""
    for burst in range(25):
        for _ in range(rng.randint(1, 20)):
            final = "v%d" % rng.randint(0, 10 ** 9)
            write(target, final)
            other = os.path.join(w, "f%d" % rng.randint(0, 30))
            write(other, final)
            edited.update([target, other])
            time.sleep(rng.choice([0, 0, 0.001, 0.01]))
        time.sleep(rng.choice([0, 0.01, 0.05, 0.2]))
    settled(c, "s")
    runs = runs_of(log)  # raises if two overlapped
    assert all(end is not None for _, _, end in runs)
    with open(log + ".seen") as f:
        last_seen = f.read().splitlines()[-1].split(" ", 1)[1]
    assert last_seen == final
    seen_paths = set()
    for n, _, _ in runs:
        seen_paths.update(stdin_of(log, n))
    assert edited <= seen_paths


def test_manual_lock_runs_and_triggered_runs_never_overlap(daemon, tmp):
    c = daemon.client()
    w = os.path.join(tmp, "w")
    os.mkdir(w)
    log = os.path.join(tmp, "log")
    set_recorder(c, "s", [w], log, settle_ms=20, pause=0.05)
    env = dict(os.environ, HARNESSSYNC_SOCKET=daemon.socket, HARNESSSYNC_NO_SPAWN="1", LOG=log)
    env.pop("HARNESSSYNC_HOME", None)
    manual = ("n=$(( $(grep -c '^start' \"$LOG\" 2>/dev/null || echo 0) + 1 )); echo \"start $n $(date +%s.%N)\" >> \"$LOG\"; "
              "sleep 0.05; echo \"end $n $(date +%s.%N)\" >> \"$LOG\"")
    procs = []
    for i in range(30):
        write(os.path.join(w, "f%d" % (i % 7)), str(i))
        if i % 3 == 0:
            procs.append(subprocess.Popen([HSCTL, "lock", "sync", "--coalesce", "--wait", "60", "--", "sh", "-c", manual],
                                          env=env))
        time.sleep(0.02)
    for p in procs:
        assert p.wait(60) == 0
    settled(c, "s")
    runs = runs_of(log)  # raises if a manual and a triggered run overlapped
    assert len(runs) >= 2


def test_a_coalesced_run_is_recorded_and_runs_after_all_when_its_cover_leaves(daemon, tmp):
    from test_lock import acquire, send_acquire, waiting
    c = daemon.client()
    w = os.path.join(tmp, "w")
    os.mkdir(w)
    log = os.path.join(tmp, "log")
    set_recorder(c, "s", [w], log, settle_ms=20)
    holder = daemon.client()
    acquire(holder, "sync")
    cover = daemon.client()
    send_acquire(cover, "sync", wait_ms=600000, coalesce=True)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    write(os.path.join(w, "f"), "x")
    t = wait_until(lambda: trigger(c, "s")["last"], what="the coalesced run")
    assert t["coalesced"] is True and t["exit_code"] is None and t["changed"] == 1
    assert runs_of(log) == []
    # The cover leaves without running: the lock is owed, and the trigger
    # runs after all (once the holder is done), with the covered path.
    cover.close()
    holder.close()
    settled(c, "s", runs=2)
    runs = runs_of(log)
    assert len(runs) == 1
    assert stdin_of(log, 1) == [os.path.join(w, "f")]


def test_a_trigger_pays_a_debt_it_did_not_make(daemon, tmp):
    from test_lock import acquire, send_acquire, waiting
    c = daemon.client()
    log = os.path.join(tmp, "log")
    set_recorder(c, "s", [os.path.join(tmp, "none")], log)
    holder = daemon.client()
    acquire(holder, "sync")
    cover = daemon.client()
    send_acquire(cover, "sync", wait_ms=600000, coalesce=True)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    assert acquire(daemon.client(), "sync", wait_ms=600000, coalesce=True)["coalesced"]
    cover.close()
    holder.close()
    settled(c, "s", runs=1)
    assert len(runs_of(log)) == 1


def test_a_command_that_changes_its_own_files_backs_off(daemon, tmp):
    c = daemon.client()
    w = os.path.join(tmp, "w")
    os.mkdir(w)
    script = 'date +%%s.%%N >> %s/self; cat > /dev/null' % w
    c.call("trigger.set", {"name": "loop", "watch": [w], "command": ["/bin/sh", "-c", script], "settle_ms": 10})
    c.call("trigger.run", {"name": "loop"})
    wait_until(lambda: trigger(c, "loop")["state"] == "backing_off", what="the back-off")
    assert trigger(c, "loop")["runs"] >= 5
    out = daemon.output()
    assert out.count("backing off") == 1, out
    c.call("trigger.pause", {"name": "loop"})
