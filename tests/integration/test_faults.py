"""A directory fsync that fails after the rename (the one write failure that
cannot be made real here, so it is injected with LD_PRELOAD): the caller is
told nothing was applied, and that must be true on disk and in memory."""
import json
import os
import signal
import stat
import time

import pytest

from conftest import PORTABLE, record_params

SHIM = os.environ.get("HS_FAULT_FSYNC", "")


@pytest.mark.skipif(not os.path.exists(SHIM), reason="build hs_fault_fsync (ctest sets HS_FAULT_FSYNC)")
def test_failed_directory_fsync_after_rename_restores_the_file(start, tmp):
    flag = os.path.join(tmp, "fail-dir-fsync")
    env = {"LD_PRELOAD": SHIM, "HS_FAULT_DIR_FSYNC": flag,
           # ASan wants to be first in the library list; the shim only wraps fsync.
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    d = start(env=env)
    c = d.client()
    c.call("state.record", record_params("before"))
    state = os.path.join(d.state_dir, "state.json")
    with open(state, "rb") as f:
        durable = f.read()

    open(flag, "w").close()
    resp = c.request("state.record", record_params("during"))
    assert resp["error"]["code"] == 1
    assert resp["error"]["data"]["errno"] == 5  # EIO
    assert "fsync" in resp["error"]["message"]
    with open(state, "rb") as f:
        assert f.read() == durable  # the replaced file was put back
    assert set(c.call("state.all")["targets"]) == {"before"}  # and memory agrees
    assert sorted(os.listdir(d.state_dir)) == ["harnesssyncd.lock", "state.json"]

    os.unlink(flag)
    c.call("state.record", record_params("after"))
    assert set(d.state()["targets"]) == {"before", "after"}
    assert d.proc.poll() is None


@pytest.mark.skipif(not os.path.exists(SHIM), reason="build hs_fault_fsync (ctest sets HS_FAULT_FSYNC)")
def test_failed_directory_fsync_with_another_save_landing_before_the_undo(start, tmp):
    # Issue 17 on the portable build (the check, no RENAME_EXCHANGE): the
    # directory fsync after the rename fails, and before the daemon puts
    # its last durable file back, another process's save replaces
    # state.json. The undo then found "changed by another process", was
    # taken for a double fault, and the daemon exited (status 1). That save
    # must stand, never be written over; the change is answered with error
    # 1; the daemon serves on and reloads the save.
    from test_rename_writers import manager_save
    flag = os.path.join(tmp, "fail-dir-fsync")
    d = start(env=_preload_env(HS_FAULT_DIR_FSYNC=flag))
    c = d.client(timeout=30)
    c.call("state.record", record_params("before"))
    with open(flag, "w") as f:
        f.write("hold")  # the failing fsync waits until <flag>.held is removed
    c.send({"jsonrpc": "2.0", "id": 7, "method": "state.record", "params": record_params("during")})
    held = flag + ".held"
    deadline = time.monotonic() + 10
    while not os.path.exists(held):
        assert time.monotonic() < deadline and d.proc.poll() is None, d.output()[-3000:]
        time.sleep(0.005)
    # In the window: our file, holding "during", is state.json, not durable;
    # the save copies it (an outside writer may: the oracle excuses that).
    manager_save(d.state_dir, "theirs")
    os.unlink(flag)
    os.unlink(held)
    try:
        resp = c.read_line()
    except EOFError:
        raise AssertionError("no answer: " + d.output()[-3000:])
    assert resp["id"] == 7 and resp["error"]["code"] == 1, resp
    assert d.proc.poll() is None, d.output()[-3000:]
    c.call("state.record", record_params("after"))
    final = set(d.state()["targets"])
    assert {"before", "theirs", "after"} <= final, (final, d.output()[-3000:])
    assert set(c.call("state.all")["targets"]) == final
    assert d.proc.poll() is None


def _preload_env(**extra):
    env = {"LD_PRELOAD": SHIM,
           # ASan wants to be first in the library list; the shim only wraps fsync and rename.
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    env.update(extra)
    return env


@pytest.mark.skipif(not os.path.exists(SHIM), reason="build hs_fault_fsync (ctest sets HS_FAULT_FSYNC)")
def test_failed_write_is_not_counted_in_writes(start, tmp):
    flag = os.path.join(tmp, "fail-dir-fsync")
    d = start(env=_preload_env(HS_FAULT_DIR_FSYNC=flag))
    c = d.client()
    c.call("state.record", record_params("before"))
    assert c.call("daemon.info")["writes"] == {"count": 1, "changes": 1}
    open(flag, "w").close()
    assert c.request("state.record", record_params("during"))["error"]["code"] == 1
    assert c.call("daemon.info")["writes"] == {"count": 1, "changes": 1}
    os.unlink(flag)
    c.call("state.record", record_params("after"))
    assert c.call("daemon.info")["writes"] == {"count": 2, "changes": 2}


@pytest.mark.skipif(not os.path.exists(SHIM), reason="build hs_fault_fsync (ctest sets HS_FAULT_FSYNC)")
def test_a_write_is_temp_fsync_then_rename_then_directory_fsync(start, tmp):
    """A SIGKILL cannot show a missing fsync (the page cache survives it); the
    order of the calls can. Each of the three steps is needed: without the
    first a crash may leave an empty state.json, without the last the old one."""
    trace = os.path.join(tmp, "trace")
    d = start(env=_preload_env(HS_TRACE_FILE=trace))
    state_dir = os.path.realpath(d.state_dir)
    state = os.path.join(state_dir, "state.json")
    d.client().call("state.record", record_params("first"))  # state.json exists from here
    open(trace, "w").close()  # only the calls of this write
    d.client().call("state.record", record_params("codex"))
    with open(trace) as f:
        calls = [line.split() for line in f.read().splitlines()]
    # The step that puts the new file at state.json: an exchange of it
    # (under its swap name) with state.json, or where there is none yet, a
    # rename that never replaces (STATE.md, "Other writers").
    renames = [i for i, c in enumerate(calls)
               if c[0] in ("rename", "renameat2") and os.path.realpath(c[2]) == state]
    assert len(renames) == 1, calls
    r = renames[0]
    if PORTABLE:
        # No exchange in this build: the check, then rename(2) of the new
        # file, written and fsynced under its first name, over state.json
        # (STATE.md, "Saves by rename: check").
        assert calls[r][0] == "rename", calls
        temp = [os.path.realpath(calls[r][1])]
    else:
        assert calls[r][0] == "renameat2" and calls[r][3] == "2", calls  # RENAME_EXCHANGE
        swap = os.path.realpath(calls[r][1])
        assert os.path.basename(swap).startswith("state.json.harnesssyncd-swap."), calls
        # The new file was written and fsynced under its first name, then
        # took the swap name.
        temp = [os.path.realpath(c[1]) for c in calls[:r] if c[0] == "rename" and os.path.realpath(c[2]) == swap]
    assert len(temp) == 1 and os.path.basename(temp[0]).startswith("state.json.harnesssyncd-new."), calls
    temp_fsyncs = [i for i, c in enumerate(calls) if c == ["fsync", temp[0]]]
    dir_fsyncs = [i for i, c in enumerate(calls) if c == ["fsync", state_dir]]
    assert temp_fsyncs and temp_fsyncs[-1] < r, calls
    assert any(i > r for i in dir_fsyncs), calls


def test_a_fifo_at_state_json_is_refused_at_once(start, tmp):
    state_dir = os.path.join(tmp, "state")
    os.makedirs(state_dir, mode=0o700)
    fifo = os.path.join(state_dir, "state.json")
    os.mkfifo(fifo, 0o600)
    d = start(ready=False)
    rc = d.wait(timeout=30)  # it used to block in open(2) forever, holding the lock
    out = d.output()
    # 66 (EX_NOINPUT): a state.json that is not a regular file.
    assert rc == 66, out
    assert fifo + ": is a FIFO, not a regular file" in out, out
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(state_dir)) == ["harnesssyncd.lock", "state.json"]


@pytest.mark.parametrize("version", ["300000000000000000000", "1e400", "2.5"])
def test_a_version_above_2_however_written_is_refused_and_untouched(start, tmp, version):
    state_dir = os.path.join(tmp, "state")
    os.makedirs(state_dir, mode=0o700)
    path = os.path.join(state_dir, "state.json")
    text = b'{"version": ' + version.encode() + b', "targets": {"codex": {}}}'
    with open(path, "wb") as f:
        f.write(text)
    d = start(ready=False)
    assert d.wait(timeout=30) == 78, d.output()
    assert "version" in d.output()
    with open(path, "rb") as f:
        assert f.read() == text
    assert sorted(os.listdir(state_dir)) == ["harnesssyncd.lock", "state.json"]


def _strict(text):
    def no_constant(name):
        raise ValueError("not JSON: " + name)
    return json.loads(text, parse_constant=no_constant)


def _raw_state_all(c):
    c.send({"jsonrpc": "2.0", "id": 1, "method": "state.all"})
    while b"\n" not in c.buf:
        c._fill()
    line, c.buf = c.buf.split(b"\n", 1)
    return _strict(line)["result"]


def test_numbers_out_of_double_range_stay_valid_json(start, tmp):
    """A member we do not know holds 1e400: state.all must still be JSON, and
    the file must round-trip (written as ±1e999, read back the same)."""
    state_dir = os.path.join(tmp, "state")
    os.makedirs(state_dir, mode=0o700)
    path = os.path.join(state_dir, "state.json")
    with open(path, "w") as f:
        f.write('{"version": 1, "targets": {}, "big": 1e400, "small": -1e400}')
    d = start()
    c = d.client()
    doc = _raw_state_all(c)
    assert doc["big"] == float("inf") and doc["small"] == float("-inf")
    c.call("state.record", record_params("codex"))
    with open(path) as f:
        written = f.read()
    assert '"big": 1e999' in written and '"small": -1e999' in written
    assert _strict(written)["big"] == float("inf")
    c.close()
    d.proc.send_signal(signal.SIGTERM)
    d.wait()
    d2 = start()
    assert "unreadable" not in d2.output()
    assert _raw_state_all(d2.client())["big"] == float("inf")
    assert not [n for n in os.listdir(state_dir) if ".bak." in n]
