"""Race-free autostart of harnesssyncd, the way hsctl does it.

connect; when nobody answers: take the spawn lock (<state dir>/harnesssyncd.spawn.lock,
the same file hsctl locks, so hsctl and Python starters exclude each other),
connect again (someone may have started it while we waited), and only then
start the daemon with --ready-fd and wait for "READY" or "ERROR <reason>".
"""
from __future__ import annotations

import errno
import fcntl
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import List, Optional

from .errors import CallTimeout, DaemonUnavailable, SpawnError

DAEMON_NAME = "harnesssyncd"


def _installed_daemon() -> Optional[str]:
    """The harnesssyncd installed with this package by `cmake --install`
    (its bin dir relative to the package, written at install time)."""
    try:
        from ._install import DAEMON_RELDIR  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), DAEMON_RELDIR, DAEMON_NAME))
    return path if os.access(path, os.X_OK) else None


def find_daemon(explicit: Optional[str] = None) -> str:
    """The daemon to start: `explicit`, else $HARNESSSYNC_DAEMON, else the
    harnesssyncd installed beside this package, else harnesssyncd on $PATH."""
    for candidate in (explicit, os.environ.get("HARNESSSYNC_DAEMON") or None):
        if candidate:
            return candidate
    found = _installed_daemon() or shutil.which(DAEMON_NAME)
    if found is None:
        raise SpawnError("cannot start harnesssyncd: it is not installed beside the harnesssync package nor on "
                         "$PATH (set HARNESSSYNC_DAEMON to its path)")
    return found


def spawn_disabled_by_env() -> bool:
    value = os.environ.get("HARNESSSYNC_NO_SPAWN", "")
    return value not in ("", "0")


def connect_socket(path: str) -> socket.socket:
    """A connected socket; raises OSError (ENOENT, ECONNREFUSED, ...)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


def _nobody_listens(e: OSError) -> bool:
    return e.errno in (errno.ENOENT, errno.ECONNREFUSED)


def _take_lock(path: Path, deadline: float) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        except OSError:
            os.close(fd)
            raise
        if time.monotonic() >= deadline:
            os.close(fd)
            raise CallTimeout("timed out waiting for another client to start harnesssyncd (lock %s)" % path)
        time.sleep(0.005)


def _wait_until_state_dir_free(state_dir: Path, deadline: float) -> None:
    """Waits (bounded) while a daemon holds the state dir's instance lock but
    nobody answers on our socket: a daemon that is shutting down (after
    daemon.shutdown it stops answering before it exits). Starting a new one
    then would fail with "another harnesssyncd runs". Whatever still holds it
    at the end (a daemon serving another socket) the new daemon reports."""
    try:
        fd = os.open(state_dir / "harnesssyncd.lock", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        until = min(deadline, time.monotonic() + 5.0)
        while True:
            try:
                # A shared lock for an instant: we hold the spawn lock, so
                # no starter of ours can be taking the exclusive one now.
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= until:
                    return
                time.sleep(0.01)
            except OSError:
                return
    finally:
        os.close(fd)  # releases the shared lock


def _read_ready_line(fd: int, deadline: float) -> Optional[str]:
    """The first line the daemon writes on its readiness pipe, "" when it
    closed the pipe without a line (it died), None on timeout."""
    import select

    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 512)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace")


def _last_log_line(log_path: Path) -> str:
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1].strip() if lines else ""
    except OSError:
        return ""


def start_daemon(daemon: str, state_dir: Path, socket_path: str, extra_args: List[str], deadline: float) -> None:
    """Starts the daemon detached (its own session, not our child: /bin/sh
    puts it in the background and exits, so it outlives us and never becomes
    our zombie), logging to <state dir>/harnesssyncd.log, and waits until it
    is ready. Raises SpawnError with the daemon's own reason."""
    if os.sep in daemon and not os.access(daemon, os.X_OK):
        raise SpawnError("cannot run harnesssyncd: %s: not an executable file" % daemon)
    if os.sep not in daemon and shutil.which(daemon) is None:
        raise SpawnError("cannot run harnesssyncd: %s: not found on $PATH" % daemon)
    log_path = state_dir / "harnesssyncd.log"
    rd, wr = os.pipe()
    try:
        args = [daemon, "--state-dir", os.fspath(state_dir), "--socket", socket_path,
                "--ready-fd", str(wr)] + list(extra_args)
        try:
            log = open(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600), "ab")
        except OSError:
            log = open(os.devnull, "wb")
        with log:
            shell = subprocess.Popen(["/bin/sh", "-c", '"$@" &', "sh"] + args, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, pass_fds=(wr,), start_new_session=True,
                                     close_fds=True)
        os.close(wr)
        wr = -1  # only the daemon holds the write end now: EOF means it is gone
        shell.wait()
        line = _read_ready_line(rd, deadline)
    finally:
        os.close(rd)
        if wr >= 0:
            os.close(wr)
    if line == "READY":
        return
    if line is None:
        raise CallTimeout("timed out waiting for harnesssyncd to start (see %s)" % log_path)
    if line.startswith("ERROR "):
        raise SpawnError("harnesssyncd could not start: " + line[len("ERROR "):])
    last = _last_log_line(log_path)
    raise SpawnError("harnesssyncd exited during start-up: %s (see %s)" % (last or "no reason given", log_path))


def connect_spawning(socket_path: str, state_dir: Path, daemon: Optional[str], extra_args: List[str],
                     autostart: bool, spawn_timeout: float) -> "tuple[socket.socket, bool]":
    """(connected socket, whether we started the daemon)."""
    try:
        return connect_socket(socket_path), False
    except OSError as e:
        if not _nobody_listens(e):
            raise DaemonUnavailable("cannot connect to harnesssyncd at %s: %s" % (socket_path, e.strerror)) from e
        first = e
    if not autostart or spawn_disabled_by_env():
        why = "HARNESSSYNC_NO_SPAWN is set" if autostart else "autostart is off"
        raise DaemonUnavailable("cannot connect to harnesssyncd at %s: %s (not starting it: %s)"
                                % (socket_path, first.strerror, why)) from first
    deadline = time.monotonic() + spawn_timeout
    try:
        os.makedirs(state_dir, 0o700, exist_ok=True)
    except OSError as e:
        raise SpawnError("cannot start harnesssyncd: cannot create the state dir %s: %s"
                         % (state_dir, e.strerror)) from e
    try:
        lock = _take_lock(state_dir / "harnesssyncd.spawn.lock", deadline)
    except OSError as e:
        raise SpawnError("cannot start harnesssyncd: cannot lock %s: %s"
                         % (state_dir / "harnesssyncd.spawn.lock", e.strerror)) from e
    try:
        try:
            return connect_socket(socket_path), False
        except OSError as e:
            if not _nobody_listens(e):
                raise DaemonUnavailable("cannot connect to harnesssyncd at %s: %s" % (socket_path, e.strerror)) from e
            # A socket file nobody listens on: we hold the spawn lock, so no
            # other client is starting a daemon on it right now (and the
            # daemon probes again under its own lock before it binds).
            if e.errno == errno.ECONNREFUSED:
                try:
                    os.unlink(socket_path)
                except OSError:
                    pass
        _wait_until_state_dir_free(state_dir, deadline)
        start_daemon(find_daemon(daemon), state_dir, socket_path, extra_args, deadline)
        try:
            return connect_socket(socket_path), True
        except OSError as e:
            raise DaemonUnavailable("harnesssyncd started but %s does not answer: %s"
                                    % (socket_path, e.strerror)) from e
    finally:
        os.close(lock)

