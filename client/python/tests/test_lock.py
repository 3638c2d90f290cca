"""Client.lock() and the lock_* calls against the real daemon."""
import threading
import time

import pytest

from conftest import MY_PEER_PID
from harnesssync import Client, InvalidParams, LockNotHeld, LockResult
from harnesssync.errors import ClientClosed

pytestmark = pytest.mark.daemon_method("lock.acquire", "lock.release", "lock.list")


@pytest.fixture
def daemon(start, env):
    return start()


def test_lock_context_manager_holds_and_releases(daemon):
    a = Client(daemon.socket, autostart=False)
    b = Client(daemon.socket, autostart=False)
    with a.lock("sync") as got:
        assert isinstance(got, LockResult) and got and got.acquired and not got.coalesced
        assert got.holder_pid == MY_PEER_PID
        [row] = b.lock_list()
        assert row["name"] == "sync" and row["holder_pid"] == got.holder_pid and row["waiting"] == 0
        busy = b.lock_acquire("sync")
        assert not busy and busy.holder_pid == got.holder_pid
        with b.lock("sync", wait=0) as other:
            assert not other  # the block runs; the caller decides what to do
    assert b.lock_list() == []
    # An exception in the block still releases.
    with pytest.raises(RuntimeError):
        with a.lock("sync"):
            raise RuntimeError("boom")
    assert b.lock_list() == []


def test_lock_waits_for_the_holder_beyond_the_client_timeout(daemon):
    a = Client(daemon.socket, autostart=False)
    b = Client(daemon.socket, autostart=False, timeout=0.2)
    a.lock_acquire("sync")
    threading.Timer(0.6, lambda: a.lock_release("sync")).start()
    t0 = time.monotonic()
    with b.lock("sync", wait=30) as got:  # 30 s of wait, 0.2 s of timeout: the wait counts
        assert got.acquired
        assert time.monotonic() - t0 >= 0.5
    with b.lock("sync") as got:  # wait=None: no bound (free here)
        assert got.acquired


def test_lock_timeout_and_coalesce(daemon):
    a = Client(daemon.socket, autostart=False)
    b = Client(daemon.socket, autostart=False)
    c = Client(daemon.socket, autostart=False)
    a.lock_acquire("sync")
    t0 = time.monotonic()
    got = b.lock_acquire("sync", wait=0.3)
    assert not got.acquired and not got.coalesced and time.monotonic() - t0 >= 0.29
    follow = []
    t = threading.Thread(target=lambda: follow.append(b.lock_acquire("sync", wait=30, coalesce=True)))
    t.start()
    deadline = time.monotonic() + 20
    while c.lock_list()[0]["waiting"] != 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    covered = c.lock_acquire("sync", wait=30, coalesce=True)
    assert covered.coalesced and not covered.acquired
    a.lock_release("sync")
    t.join(30)
    assert follow and follow[0].acquired


def test_lock_errors(daemon):
    a = Client(daemon.socket, autostart=False)
    with pytest.raises(LockNotHeld) as e:
        a.lock_release("sync")
    assert e.value.code == 2 and e.value.data == {"name": "sync"}
    with pytest.raises(InvalidParams):
        a.lock_acquire("not a name")
    with pytest.raises(ValueError):
        a.lock_acquire("sync", wait=-1)
    a.lock_acquire("sync")
    with pytest.raises(InvalidParams):
        a.lock_acquire("sync")  # this connection holds it already


def test_closing_the_client_releases_its_locks(daemon):
    a = Client(daemon.socket, autostart=False)
    b = Client(daemon.socket, autostart=False)
    a.lock_acquire("sync")
    a.close()
    assert b.lock_acquire("sync", wait=10).acquired
    with pytest.raises(ClientClosed):
        a.lock_acquire("sync")
