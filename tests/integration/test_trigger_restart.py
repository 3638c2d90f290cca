"""Triggers across restarts (docs/PROTOCOL.md, "Triggers", "Restarts"): an
edit made while the daemon was down runs the trigger once, settled, after
it starts; a run owed or cut short at shutdown runs again; nothing runs
when nothing changed; pause survives; a corrupt triggers.json is moved
aside with a warning, never silently emptied."""
import json
import os
import signal
import time

from trigger_support import runs_of, set_recorder, settled, stdin_of, trigger, wait_until, write


def test_an_edit_made_while_the_daemon_was_down_runs_once_after_it_starts(start, tmp):
    d = start()
    c = d.client()
    w = os.path.join(tmp, "w")
    os.makedirs(os.path.join(w, "deep"))
    log = os.path.join(tmp, "log")
    write(os.path.join(w, "deep", "f"), "1")
    set_recorder(c, "s", [w], log, settle_ms=50)
    c.call("trigger.run", {"name": "s"})
    settled(c, "s", runs=1)
    d.stop()
    # Unchanged: a restart runs nothing.
    d = start()
    c = d.client()
    time.sleep(0.5)  # a run would start within settle_ms of the start-up; none must
    assert trigger(c, "s")["runs"] == 1 and len(runs_of(log)) == 1
    d.stop()
    write(os.path.join(w, "deep", "f"), "2")  # while it is down
    d = start()
    c = d.client()
    t = settled(c, "s", runs=2)
    assert t["runs"] == 2
    runs = runs_of(log)
    assert len(runs) == 2
    assert stdin_of(log, 2) == ["*"]
    assert "changed while the daemon was down" in d.output()


def test_a_run_cut_short_by_shutdown_runs_again_after_the_start(start, tmp):
    d = start()
    c = d.client()
    log = os.path.join(tmp, "log")
    set_recorder(c, "s", [os.path.join(tmp, "w")], log, pause=300)
    c.call("trigger.run", {"name": "s"})
    wait_until(lambda: runs_of(log), what="the run to start")
    t0 = time.monotonic()
    c.call("daemon.shutdown")
    assert d.wait(30) == 0
    assert time.monotonic() - t0 < 20  # SIGTERM, not the 300 s pause
    with open(os.path.join(d.state_dir, "triggers.json")) as f:
        saved = json.load(f)["triggers"][0]
    assert saved["owed"] is True
    assert saved["last"]["signal"] == signal.SIGTERM
    # The recorder never wrote its end: the shutdown killed it.
    os.unlink(log)
    d = start()
    c = d.client()
    wait_until(lambda: runs_of(log), what="the run owed")
    # The recorder writes "start" before it copies its stdin, and this run
    # pauses (300 s) instead of writing "end": wait for the copy itself.
    wait_until(lambda: os.path.exists(log + ".stdin.1") and stdin_of(log, 1), what="the owed run's stdin")
    assert stdin_of(log, 1) == ["*"]
    assert "owed when the daemon stopped" in d.output()
    c.call("trigger.pause", {"name": "s"})


def test_pause_survives_a_restart(start, tmp):
    d = start()
    c = d.client()
    log = os.path.join(tmp, "log")
    w = os.path.join(tmp, "w")
    os.mkdir(w)
    set_recorder(c, "s", [w], log)
    assert c.call("trigger.pause", {"name": "s"}) is True
    assert trigger(c, "s")["paused"] is True and trigger(c, "s")["state"] == "paused"
    d.stop()
    write(os.path.join(w, "f"), "x")
    d = start()
    c = d.client()
    t = wait_until(lambda: trigger(c, "s")["owed"] and trigger(c, "s"), what="the change noted")
    assert t["paused"] is True and t["state"] == "paused"
    assert runs_of(log) == []
    assert c.call("trigger.resume") is True
    settled(c, "s", runs=1)
    assert len(runs_of(log)) == 1


def test_a_corrupt_triggers_json_is_moved_aside_with_a_warning(start, tmp):
    state = os.path.join(tmp, "state")
    os.makedirs(state, mode=0o700)
    garbage = b'{"version": 1, "triggers": [{"name": "half'
    with open(os.path.join(state, "triggers.json"), "wb") as f:
        f.write(garbage)
    d = start()
    c = d.client()
    assert c.call("trigger.list") == []
    aside = [n for n in os.listdir(state) if n.startswith("triggers.json.bak.")]
    assert len(aside) == 1
    with open(os.path.join(state, aside[0]), "rb") as f:
        assert f.read() == garbage
    assert "triggers.json is unreadable" in d.output() and aside[0] in d.output()
    # The daemon serves as usual, and new triggers are saved.
    c.call("trigger.set", {"name": "fresh", "watch": [tmp], "command": ["/bin/true"]})
    d.stop()
    d = start()
    assert [t["name"] for t in d.client().call("trigger.list")] == ["fresh"]


def test_a_bad_entry_is_left_out_with_a_warning_and_the_good_ones_kept(start, tmp):
    state = os.path.join(tmp, "state")
    os.makedirs(state, mode=0o700)
    doc = {"version": 1, "triggers": [
        {"name": "good", "watch": [tmp], "command": ["/bin/true"]},
        {"name": "bad", "watch": ["relative"], "command": ["/bin/true"]},
    ]}
    with open(os.path.join(state, "triggers.json"), "w") as f:
        json.dump(doc, f)
    d = start()
    assert [t["name"] for t in d.client().call("trigger.list")] == ["good"]
    assert "entry 2: watch" in d.output()
    assert any(n.startswith("triggers.json.bak.") for n in os.listdir(state))
