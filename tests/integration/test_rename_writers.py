"""Saves by rename (docs/STATE.md, "Other writers"): another process saving
state.json the way HarnessSync's StateManager does (read it, change it, write
a tempfile in the state dir, fsync, os.replace) while the daemon records.
None of its saves is ever lost, not even one that lands during the daemon's
own rename: the daemon swaps its file in with RENAME_EXCHANGE and looks at
what it displaced. Every outside save carries a marker, so losses are
counted exactly."""
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from conftest import record_params, record_retrying


def load_state(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def manager_save(state_dir, marker, mine=()):
    """One StateManager save: load, add `marker`, tempfile + os.replace.
    Returns True when the first read lacked one of `mine` (markers this
    writer saved before) and a second read 20 ms later had them all: the
    read fell in the window of docs/STATE.md ("The window"), where
    state.json is the daemon's new file for the moment it takes to look at
    the save it displaced and put it back. A plain read-modify-write writer
    would build its save on that file and drop its own previous save
    itself; this one saves on the second read, so that what is judged is
    the daemon's promise: a displaced save is put back, never lost."""
    path = os.path.join(state_dir, "state.json")
    doc = load_state(path)
    window = False
    if any(m not in doc.get("targets", {}) for m in mine):
        time.sleep(0.02)
        again = load_state(path)
        if all(m in again.get("targets", {}) for m in mine):
            doc, window = again, True
    doc.setdefault("targets", {})[marker] = {"last_sync": "2024-01-01T00:00:00", "status": "success",
                                             "scope": "all", "file_hashes": {}}
    with tempfile.NamedTemporaryFile(mode="w", dir=state_dir, suffix=".tmp", delete=False) as f:
        json.dump(doc, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
        tmp = f.name
    os.replace(tmp, path)
    return window


def traced(pid, *strace_args):
    """strace attached to every thread of `pid` (ptrace), until stopped with
    SIGTERM, which detaches it and leaves the daemon running."""
    s = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-p", str(pid), *strace_args],
                         stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tids = os.listdir("/proc/%d/task" % pid)
        tracers = []
        for t in tids:
            with open("/proc/%d/task/%s/status" % (pid, t)) as f:
                tracers += [int(line.split()[1]) for line in f if line.startswith("TracerPid:")]
        if tracers and all(tp == s.pid for tp in tracers):
            return s
        time.sleep(0.02)
    s.kill()
    raise AssertionError("strace did not attach: " + s.stderr.read().decode(errors="replace"))


def targets_on_disk(d):
    return set(d.state()["targets"])


@pytest.fixture
def daemon(start):
    """The daemon, where it swaps its file in by exchange: with the check
    alone (a portable build, a file system without RENAME_EXCHANGE) a save
    landing between the check and the rename can be lost, as STATE.md says."""
    d = start()
    mode = d.client().call("daemon.info")["other_writers"]
    if mode != "exchange":
        pytest.skip("other_writers is %r here" % mode)
    return d


@pytest.mark.parametrize("calls", ["rename,renameat,renameat2", "renameat2"])
def test_a_save_landing_during_the_daemons_rename_is_kept(daemon, calls):
    # The daemon's renames wait 300 ms before they run (strace fault
    # injection), and a StateManager save lands inside that wait. All of
    # them: on main, the save lands after the daemon's last look at
    # state.json and its rename replaces it; here, its rename to the swap
    # name comes before its look, which sees the save. The exchange alone:
    # the save lands between the look and the exchange, is displaced by it,
    # and is put back.
    c = daemon.client(timeout=60)
    c.call("state.record", record_params("seed"))
    tracer = traced(daemon.proc.pid, "-e", "trace=" + calls, "-e", "inject=%s:delay_enter=300000" % calls)
    try:
        rounds = 4
        for i in range(rounds):
            answer = {}
            t = threading.Thread(target=lambda: answer.update(
                r=c.request("state.record", record_params("mine%d" % i))))
            t.start()
            time.sleep(0.12)  # the daemon's write is in its delayed rename now
            manager_save(daemon.state_dir, "theirs%d" % i)
            t.join(60)
            assert "result" in answer.get("r", {}), answer
            # The acknowledged change is on disk at once, and so is the save.
            on_disk = targets_on_disk(daemon)
            assert {"mine%d" % i, "theirs%d" % i} <= on_disk, (i, sorted(on_disk), daemon.output()[-3000:])
    finally:
        tracer.send_signal(signal.SIGTERM)
        tracer.wait(10)
    final = targets_on_disk(daemon)
    assert {"seed"} | {"mine%d" % i for i in range(rounds)} | {"theirs%d" % i for i in range(rounds)} <= final
    # Nothing of the daemon's own is left behind, and nothing was set aside.
    leftovers = [n for n in os.listdir(daemon.state_dir) if "harnesssyncd-" in n or ".displaced." in n]
    assert leftovers == [], leftovers


WRITER = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import test_rename_writers as t
mine, windows = [], 0
for i in range(int(sys.argv[3])):
    windows += t.manager_save(sys.argv[2], "x%03d" % i, mine)
    mine.append("x%03d" % i)
    time.sleep(float(sys.argv[4]))
print(windows)
"""


@pytest.mark.parametrize("delay_us", [0, 2000])
def test_interleaved_manager_saves_lose_nothing(daemon, delay_us):
    # A StateManager saving flat out in its own process while a client
    # records: with the daemon's renames as they are, and with 2 ms added
    # to its rename(2) of the new file to the swap name, right before its
    # last look at state.json (strace), so that many saves land around
    # it. Every save reads the file the previous one wrote: a save the
    # daemon replaced would lose its marker for good. (Not the exchange
    # itself: that would hold up the swap back as well, and a writer
    # reading state.json in those 2 ms would build its next save on the
    # daemon's uncommitted file: see docs/STATE.md, "The window".)
    n = 200
    # With the delay, a writer saving every 4 ms lands a save in nearly
    # every round of the daemon's (reload, write, fsync, look) on a loaded
    # disk, and after 16 rounds in a row the daemon gives the change up
    # (error 1, nothing applied; docs/STATE.md): 15 ms apart it still lands
    # many saves in the added 2 ms, and the daemon gets its turns.
    pause = "0.015" if delay_us else "0.004"
    c = daemon.client(timeout=60)
    c.call("state.record", record_params("seed"))
    tracer = None
    if delay_us:
        tracer = traced(daemon.proc.pid, "-e", "trace=rename,renameat",
                        "-e", "inject=rename,renameat:delay_enter=%d" % delay_us)
    writer = None
    try:
        writer = subprocess.Popen([sys.executable, "-c", WRITER, os.path.dirname(os.path.abspath(__file__)),
                                   daemon.state_dir, str(n), pause], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        i, refused = 0, 0
        while writer.poll() is None:
            # The writer may land a save in every one of the daemon's 16
            # tries (likely on a loaded machine, where strace's stop at
            # every syscall makes each try far longer than the writer's
            # pause): the change is refused, nothing applied, as
            # docs/STATE.md says ("A conflict"). Not a loss: nothing was
            # acknowledged. A client asks again.
            r, n = record_retrying(c, record_params("d%04d" % i))
            refused += n
            assert "error" not in r, r
            # Each acknowledged record is on disk when answered, unless the
            # writer's own save (which read the file before it) replaced it.
            i += 1
        out, err = writer.communicate(timeout=120)
        # The writer reads state.json at every save and fails on ENOENT:
        # state.json is never absent while the daemon writes.
        assert writer.returncode == 0, err
        windows = int(out)
    finally:
        # The writer must not outlive the test: the fixtures remove the state
        # dir, and a writer still saving would fail its next read with ENOENT
        # (a missing directory, not a missing state.json), after the test.
        if writer is not None and writer.poll() is None:
            writer.kill()
            writer.communicate()
        if tracer:
            tracer.send_signal(signal.SIGTERM)
            tracer.wait(10)
    # The daemon still got its turns: a daemon that refused every change
    # would lose no outside save and pass the count below.
    assert refused <= i, (refused, i)
    c.call("state.record", record_params("last"))
    final = targets_on_disk(daemon)
    lost = [m for m in ("x%03d" % k for k in range(n)) if m not in final]
    print("delay %d us: %d daemon records (%d refused: changed at every try), outside saves lost %d of %d, "
          "%d read in the window" % (delay_us, i, refused, len(lost), n, windows))
    assert lost == [], (lost, sorted(os.listdir(daemon.state_dir)),
                        [l for l in daemon.output().splitlines() if "warn" in l or "error" in l][-20:])
    assert "last" in final
    assert not glob.glob(os.path.join(daemon.state_dir, "*harnesssyncd-*"))


def test_a_legacy_writers_temp_file_survives_a_daemon_start(start, tmp):
    # A HarnessSync save in progress (its tempfile, not yet renamed) when
    # the daemon starts: the start-up sweep removes only the daemon's own
    # names (state.json.harnesssyncd-*), so the save can still land.
    state_dir = os.path.join(tmp, "state")
    os.makedirs(state_dir, mode=0o700)
    doc = {"version": 1, "targets": {"theirs": {"status": "success"}}}
    with tempfile.NamedTemporaryFile(mode="w", dir=state_dir, suffix=".tmp", delete=False) as f:
        json.dump(doc, f)
        theirs = f.name
    ours = os.path.join(state_dir, "state.json.harnesssyncd-new.AbC123")
    with open(ours, "w") as f:
        f.write("{half a wri")
    d = start()
    assert os.path.exists(theirs), d.output()
    assert not os.path.exists(ours)
    os.replace(theirs, os.path.join(state_dir, "state.json"))
    c = d.client()
    assert poll_target(c, "theirs"), d.output()[-2000:]


def poll_target(c, target, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if c.call("state.target", {"target": target}) is not None:
            return True
        time.sleep(0.01)
    return False
