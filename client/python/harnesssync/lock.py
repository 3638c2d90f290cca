"""harnesssync.lock: HarnessSync 0.1.4's src/lock.py, backed by harnesssyncd's `sync` lock.

A drop-in: the same names (sync_lock, should_debounce, LOCK_FILE_DEFAULT,
DEBOUNCE_SECONDS) and signatures. HarnessSync adopts it with one line in its
src/lock.py (docs/HARNESSSYNC.md):

    from harnesssync.lock import DEBOUNCE_SECONDS, LOCK_FILE_DEFAULT, should_debounce, sync_lock  # noqa: F401

Why: the original skips a sync when a non-blocking flock is busy (a sync
runs) or when the last sync is under 3 s old, so an edit made then is not
synced until some later edit. Here nothing is skipped unless a run that
will see the edit is already queued:

- sync_lock() takes the daemon's lock as a coalescing caller, waiting
  without bound. Free: it is held at once. Held by a running sync with
  nobody queued: this caller waits as the one follow-up and runs after it,
  so it reads every edit made before it was queued. Held, with a follow-up
  already queued: that follow-up has not started, so it will read this
  caller's edit too; this caller raises BlockingIOError, as the original
  does when the lock is busy, and its sync is covered. A caller granted the
  lock with a debt (`owed`: a queued follow-up went away without running)
  runs, as every caller granted the lock does.
- should_debounce() is true only when such a follow-up is queued, i.e.
  exactly when sync_lock() would raise BlockingIOError; it no longer looks
  at the time of the last sync.

"Covers" is the lock's model (PROTOCOL.md, coalesce): any queued sync
covers any other, including one of another project or a narrower scope.

The lock is the daemon's (PROTOCOL.md, lock.*), shared with manual syncs
(`hsctl lock sync --coalesce -- ...`) and the daemon's triggers. It belongs
to a connection: a caller that dies releases it at once.
"""
from __future__ import annotations

import errno
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, List, Optional

from .client import Client, LockResult
from .errors import ClientClosed, ConnectionClosed, HarnessSyncError, ShuttingDown
from .state_manager import StateManager

LOCK_FILE_DEFAULT = Path.home() / ".harnesssync" / "sync.lock"
DEBOUNCE_SECONDS = 3.0

LOCK_NAME = "sync"

__all__ = ["sync_lock", "should_debounce", "LOCK_FILE_DEFAULT", "DEBOUNCE_SECONDS", "LOCK_NAME"]


def _where(lock_path: Optional[Path]) -> "tuple[Optional[Path], str]":
    """(state dir, lock name) for a lock file path: the default lock file is
    the default state dir's `sync` lock (the state dir StateManager() uses,
    $HARNESSSYNC_HOME included); <dir>/<name>.lock is <dir>'s lock <name>."""
    if lock_path is None or Path(lock_path) == LOCK_FILE_DEFAULT:
        return None, LOCK_NAME
    p = Path(lock_path)
    return p.parent, p.stem or LOCK_NAME


def _acquire(state_dir: Optional[Path], name: str) -> "tuple[Client, LockResult]":
    """A connection and its answer: acquired, or covered (coalesced).

    With an unbounded wait, any other answer means the daemon is stopping
    (an upgrade's `hsctl shutdown`, a restart): the wait ended unanswered,
    refused with -32000, or "not acquired" at once. Nothing was granted and
    nothing covers us, so we ask once more, on a new connection (starting
    the next daemon when needed)."""
    last: Optional[BaseException] = None
    for _ in (0, 1):
        client = Client(state_dir=state_dir)
        try:
            got = client.lock_acquire(name, wait=None, coalesce=True)
        except (ConnectionClosed, ClientClosed, ShuttingDown) as e:
            client.close()
            last = e
            continue
        except BaseException:
            client.close()
            raise
        if got.acquired or got.coalesced:
            return client, got
        client.close()
        last = ShuttingDown(-32000, "harnesssyncd did not grant lock %r and nothing covers this sync "
                                    "(it is stopping)" % name, None)
    assert last is not None
    raise last


@contextmanager
def sync_lock(lock_path: Optional[Path] = None) -> Iterator[LockResult]:
    """Holds the daemon's sync lock for the block, waiting as the one
    coalescing follow-up while another sync runs.

    Args:
        lock_path: the original's lock file; its directory names the state
            dir (default: the default state dir) and its stem the lock
            (default: "sync"). No file is made.

    Yields:
        The LockResult (acquired; `owed` when a covered run is owed).

    Raises:
        BlockingIOError: a follow-up run is already queued; it starts after
            this call was made, so it covers this caller's sync.
        harnesssync.HarnessSyncError: the daemon cannot be reached.
    """
    state_dir, name = _where(lock_path)
    client, got = _acquire(state_dir, name)
    try:
        if not got.acquired:  # coalesced: a queued run covers this one
            raise BlockingIOError(errno.EWOULDBLOCK,
                                  "sync covered by the run already queued for lock %r (held by pid %s)"
                                  % (name, got.holder_pid))
        try:
            yield got
        finally:
            try:
                client.lock_release(name)
            except (ConnectionClosed, ClientClosed):
                pass  # the connection's end released it
    finally:
        client.close()


def _lock_list(state_manager: Any) -> List[Any]:
    if isinstance(state_manager, StateManager):
        return state_manager._call("should_debounce", "lock.list")  # its own connection
    # Another StateManager (HarnessSync's own): ask the daemon of its state
    # dir, if one runs; never start one just to ask.
    with Client(state_dir=getattr(state_manager, "state_dir", None), autostart=False) as c:
        return c.lock_list()


def should_debounce(state_manager: Any, debounce_seconds: float = DEBOUNCE_SECONDS) -> bool:
    """True when a sync would be redundant: a follow-up run is queued for
    the sync lock (lock.list shows a coalescing waiter), and it will read
    every edit made until now. False otherwise, including when the daemon
    cannot be asked: then the caller syncs, as it would without a daemon.

    Args:
        state_manager: the StateManager of the sync (None: False, as the
            original); its daemon is asked.
        debounce_seconds: accepted for compatibility, unused: a time window
            is what skipped edits.
    """
    del debounce_seconds
    if state_manager is None:
        return False
    try:
        locks = _lock_list(state_manager)
    except HarnessSyncError:
        return False
    for lock in locks if isinstance(locks, list) else []:
        if not isinstance(lock, dict) or lock.get("name") != LOCK_NAME:
            continue
        waiters = lock.get("waiters")
        if isinstance(waiters, list) and any(isinstance(w, dict) and w.get("coalesce") is True for w in waiters):
            return True
    return False
