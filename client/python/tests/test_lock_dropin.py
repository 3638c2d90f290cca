"""harnesssync.lock, the drop-in for HarnessSync's src/lock.py, against the
real daemon (and a fake one for answers today's daemon does not give)."""
import inspect
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import MY_PEER_PID, raw_call
from harnesssync import Client, StateManager, lock, paths

pytestmark = pytest.mark.daemon_method("lock.acquire", "lock.list")


@pytest.fixture
def user(env):
    return env


def sync_lock_row(sock):
    rows = [r for r in raw_call(sock, "lock.list")["result"] if r["name"] == "sync"]
    return rows[0] if rows else None


def default_socket(user):
    return paths.socket_path(os.path.join(user["home"], ".harnesssync"))


def test_same_names_and_signatures_as_harnesssyncs_lock():
    """What HarnessSync's callers import and how they call it (src/lock.py 0.1.4)."""
    assert lock.LOCK_FILE_DEFAULT == Path.home() / ".harnesssync" / "sync.lock"
    assert lock.DEBOUNCE_SECONDS == 3.0
    sig = inspect.signature(lock.sync_lock)
    assert list(sig.parameters) == ["lock_path"] and sig.parameters["lock_path"].default is None
    sig = inspect.signature(lock.should_debounce)
    assert list(sig.parameters) == ["state_manager", "debounce_seconds"]
    assert sig.parameters["debounce_seconds"].default == 3.0
    assert issubclass(BlockingIOError, OSError)


def test_a_free_lock_is_held_for_the_block_and_released(user):
    with lock.sync_lock() as got:
        assert got.acquired and not got.owed
        row = sync_lock_row(default_socket(user))
        assert row["holder_pid"] == MY_PEER_PID and row["waiting"] == 0
    assert sync_lock_row(default_socket(user)) is None
    with pytest.raises(RuntimeError):
        with lock.sync_lock(lock.LOCK_FILE_DEFAULT):
            raise RuntimeError("the sync failed")
    assert sync_lock_row(default_socket(user)) is None  # released on the way out


def test_it_waits_as_the_follow_up_then_covers_later_callers(user):
    """Held by a running sync: the first caller waits and runs next; a caller
    that comes while it waits is covered (BlockingIOError at once), and
    should_debounce says so; once the follow-up runs, nobody is covered."""
    holder = Client()
    assert holder.lock_acquire("sync").acquired
    sm = StateManager()
    assert not lock.should_debounce(sm)  # a sync runs, but none is queued: this edit must run
    ran = threading.Event()
    errors = []

    def follow_up():
        try:
            with lock.sync_lock():
                ran.set()
        except BaseException as e:  # reported below
            errors.append(e)

    t = threading.Thread(target=follow_up)
    t.start()
    sock = default_socket(user)
    deadline = time.monotonic() + 30
    while not (sync_lock_row(sock) or {}).get("waiting"):
        assert time.monotonic() < deadline, "the follow-up never queued"
        time.sleep(0.01)
    assert not ran.is_set()
    assert lock.should_debounce(sm)
    with pytest.raises(BlockingIOError) as info:
        with lock.sync_lock():
            pytest.fail("a covered caller must not run")
    assert "queued" in str(info.value)
    holder.lock_release("sync")
    t.join(30)
    assert ran.is_set() and not errors
    assert not lock.should_debounce(sm)
    holder.close()
    sm.close()


def test_should_debounce_without_a_daemon_to_ask_is_false(user, tmp):
    assert lock.should_debounce(None) is False

    class OriginalStateManager:  # HarnessSync's own, for a state dir no daemon serves
        state_dir = Path(tmp) / "nobody"
        last_sync = "2999-01-01T00:00:00"
    assert lock.should_debounce(OriginalStateManager()) is False
    assert not os.path.exists(OriginalStateManager.state_dir)  # nothing was started there


def test_a_lock_path_names_the_state_dir_and_the_lock(user, tmp):
    state = Path(tmp) / "other-state"
    with lock.sync_lock(state / "sync.lock"):
        with Client(state_dir=state) as c:
            [row] = c.lock_list()
            assert row["name"] == "sync" and row["holder_pid"] == MY_PEER_PID
    with lock.sync_lock(state / "deploy.lock"):
        with Client(state_dir=state) as c:
            assert [r["name"] for r in c.lock_list()] == ["deploy"]
    assert not (state / "sync.lock").exists()  # no lock file: the daemon keeps the lock


# -- answers today's daemon does not give: a fake daemon --------------------

class FakeDaemon:
    """Serves daemon.info for `state_dir`, and answers each connection's
    lock.acquire with the next of `answers` (dicts, or None to close the
    connection unanswered). Records every request."""

    def __init__(self, tmp, state_dir, answers):
        self.path = os.path.join(tmp, "fake.sock")
        self.state_dir = state_dir
        self.answers = list(answers)
        self.requests = []
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.path)
        self.server.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _conn(self, conn):
        f = conn.makefile("rwb")
        for line in f:
            req = json.loads(line)
            self.requests.append(req["method"])
            if req["method"] == "daemon.info":
                # No pid: the clean-up of `tmp` stops daemons by the pid they report.
                result = {"state_file": os.path.join(self.state_dir, "state.json")}
            elif req["method"] == "lock.acquire":
                answer = self.answers.pop(0)
                if answer is None:
                    break
                result = answer
            else:
                result = True
            f.write((json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}) + "\n").encode())
            f.flush()
        conn.close()

    def close(self):
        self.server.close()
        os.unlink(self.path)


def test_owed_the_caller_runs_and_sees_the_debt(user, tmp, monkeypatch):
    state = os.path.join(tmp, "s")
    fake = FakeDaemon(tmp, state, [{"acquired": True, "coalesced": False, "holder_pid": 7, "owed": True}])
    monkeypatch.setenv("HARNESSSYNC_SOCKET", fake.path)
    ran = []
    with lock.sync_lock(Path(state) / "sync.lock") as got:
        ran.append(got.owed)
    assert ran == [True]
    assert fake.requests.count("lock.release") == 1
    fake.close()


@pytest.mark.parametrize("first", [None, {"acquired": False, "coalesced": False, "holder_pid": 9}],
                         ids=["connection-closed", "refused-while-stopping"])
def test_a_daemon_that_stops_while_we_wait_is_asked_again(user, tmp, monkeypatch, first):
    """An unbounded wait ends without a grant only when the daemon stops:
    nothing covers this sync, so it must not be skipped (BlockingIOError
    would); it asks again, on a new connection."""
    state = os.path.join(tmp, "s")
    fake = FakeDaemon(tmp, state, [first, {"acquired": True, "coalesced": False, "holder_pid": 7}])
    monkeypatch.setenv("HARNESSSYNC_SOCKET", fake.path)
    with lock.sync_lock(Path(state) / "sync.lock") as got:
        assert got.acquired
    assert fake.requests.count("lock.acquire") == 2
    fake.close()


def test_a_daemon_that_never_grants_is_an_error_not_a_skip(user, tmp, monkeypatch):
    state = os.path.join(tmp, "s")
    stopping = {"acquired": False, "coalesced": False, "holder_pid": 9}
    fake = FakeDaemon(tmp, state, [stopping, stopping])
    monkeypatch.setenv("HARNESSSYNC_SOCKET", fake.path)
    from harnesssync import ShuttingDown
    with pytest.raises(ShuttingDown, match="nothing covers this sync"):
        with lock.sync_lock(Path(state) / "sync.lock"):
            pytest.fail("not granted")
    fake.close()
