"""harnesssync.Client: one connection to harnesssyncd (JSON-RPC 2.0, NDJSON).

Thread safety: one Client may be shared by any number of threads. Requests
are pipelined on the one connection, and answers are matched to callers by
id, so calls from several threads do not wait for each other's round trips.
Reading is leader/follower: one waiting caller reads the socket and hands
every answer it finds to its caller; a lone caller reads its own answer with
no thread switch. With an on_notification callback, a background reader
thread reads instead, so notifications arrive between calls too; subscribe()
starts that thread too when there is no callback, and queues notifications
for notifications() to yield. A Client
must not be used in a child after fork(): it raises ClientClosed there
(StateManager reconnects by itself).
"""
from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import queue
import select
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import paths, spawn
from .errors import (CallTimeout, ClientClosed, ConnectionClosed, HarnessSyncError, LockNotHeld, NoSuchTrigger,
                     ProtocolError, RpcError, WrongDaemon)

log = logging.getLogger("harnesssync")

NotificationHandler = Callable[[str, Dict[str, Any]], None]

DEFAULT_TIMEOUT = 10.0
DEFAULT_SPAWN_TIMEOUT = 30.0


def encode(message: Any) -> bytes:
    """Compact JSON and a newline. NaN and infinities are refused here: they
    are not JSON, and the daemon would answer -32700."""
    try:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError as e:
        raise ValueError("params cannot be sent as JSON: %s" % e) from None
    return text.encode("utf-8") + b"\n"


LOCK_WAIT_FOREVER_MS = 1 << 40  # lock.acquire's wait_ms without bound (about 31 years)


class LockResult:
    """lock.acquire's answer; true when acquired. holder_pid: the holder now
    (this process when acquired), None when the daemon could not read it.
    owed: acquired with a debt, because a waiting caller that covered others
    (answered coalesced) went away without running; this caller must run
    for them (False from daemons that do not report it)."""
    __slots__ = ("acquired", "coalesced", "holder_pid", "owed")

    def __init__(self, acquired: bool, coalesced: bool, holder_pid: Optional[int], owed: bool = False):
        self.acquired = acquired
        self.coalesced = coalesced
        self.holder_pid = holder_pid
        self.owed = owed

    def __bool__(self) -> bool:
        return self.acquired

    def __repr__(self) -> str:
        return "LockResult(acquired=%r, coalesced=%r, holder_pid=%r, owed=%r)" % (
            self.acquired, self.coalesced, self.holder_pid, self.owed)


class _Pending:
    __slots__ = ("answer", "error", "method")

    def __init__(self, method: str):
        self.answer: Optional[Dict[str, Any]] = None
        self.error: Optional[BaseException] = None
        self.method = method


class Client:
    """A connection to harnesssyncd, started on demand.

    Client(socket_path=None, *, state_dir=None, autostart=True, timeout=10.0,
           spawn_timeout=30.0, daemon=None, daemon_args=(), on_notification=None,
           check_state_dir=None)

    socket_path: --socket; else $HARNESSSYNC_SOCKET; else the rule of
      docs/PROTOCOL.md for state_dir (harnesssync.paths.socket_path).
    state_dir: the state dir (else $HARNESSSYNC_HOME, else ~/.harnesssync).
      When it is named (here or by $HARNESSSYNC_HOME), or the socket is
      derived from it (no socket_path, no $HARNESSSYNC_SOCKET), the daemon
      reached must serve it (daemon.info state_file), else WrongDaemon.
    autostart: start harnesssyncd when nobody answers (unless
      $HARNESSSYNC_NO_SPAWN is set), as hsctl does.
    daemon: the harnesssyncd to start (else $HARNESSSYNC_DAEMON, else the one
      installed beside this package, else $PATH); daemon_args are added to its
      command line (e.g. ["--log-level", "debug"]).
    timeout: default seconds to wait for each answer (per call overridable).
    on_notification(method, params): called on a background reader thread
      for every message without an id (state.changed, state.drifted, ...).
      Without it, messages without an id are dropped.
    check_state_dir: force (True) or skip (False) the state dir check above.
    """

    def __init__(self, socket_path: Optional[Union[str, os.PathLike]] = None, *,
                 state_dir: Optional[Union[str, os.PathLike]] = None, autostart: bool = True,
                 timeout: Optional[float] = DEFAULT_TIMEOUT, spawn_timeout: float = DEFAULT_SPAWN_TIMEOUT,
                 daemon: Optional[str] = None, daemon_args: Sequence[str] = (),
                 on_notification: Optional[NotificationHandler] = None, check_state_dir: Optional[bool] = None):
        # As hsctl: a socket derived from the state dir belongs to it, so the
        # daemon found there must serve it; a socket chosen by hand is
        # checked only when a state dir is named too.
        named = state_dir is not None or bool(os.environ.get("HARNESSSYNC_HOME"))
        derived = not (socket_path is not None and os.fspath(socket_path)) and \
            not os.environ.get("HARNESSSYNC_SOCKET")
        self.state_dir: Path = paths.resolve_state_dir(state_dir)
        self.socket_path: str = paths.socket_path(self.state_dir, socket_path)
        self.timeout = timeout
        self.on_notification = on_notification
        self._pid = os.getpid()
        self._ids = itertools.count(1)
        self._pending: Dict[Any, _Pending] = {}
        self._lock = threading.Lock()  # _pending, _closed, _reading
        self._cv = threading.Condition(self._lock)  # an answer came, or the reader left
        self._reading = False  # a caller (the leader) is reading the socket
        self._send_lock = threading.Lock()
        self._buf = b""  # only the reader touches it
        self._closed: Optional[BaseException] = None
        absolute = Path(os.path.abspath(os.fspath(self.state_dir)))
        self._sock, self.started_daemon = spawn.connect_spawning(
            self.socket_path, absolute, daemon, list(daemon_args), autostart, spawn_timeout)
        self._reader: Optional[threading.Thread] = None
        self._queue: Optional["queue.Queue[Optional[Tuple[str, Dict[str, Any]]]]"] = None
        if on_notification is not None:
            self._reading = True  # the background thread is the reader, for good
            self._reader = threading.Thread(target=self._read_loop, name="harnesssync-reader", daemon=True)
            self._reader.start()
        if check_state_dir if check_state_dir is not None else (named or derived):
            try:
                self.check_serves(self.state_dir)
            except BaseException:
                self.close()
                raise

    # -- public API -------------------------------------------------------

    def call(self, method: str, params: Optional[Dict[str, Any]] = None, *, timeout: Optional[float] = None) -> Any:
        """The result of `method`; raises RpcError (a subclass per code) on
        an error answer, CallTimeout, ConnectionClosed, ProtocolError."""
        request_id = next(self._ids)
        message: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        pending = _Pending(method)
        answer = self._exchange(encode(message), [(request_id, pending)], timeout)[0]
        return self._result(answer, method)

    def batch(self, calls: Iterable[Tuple[str, Optional[Dict[str, Any]]]], *,
              timeout: Optional[float] = None) -> List[Any]:
        """Sends (method, params) pairs as one JSON-RPC batch; returns, in the
        order given, each result, or the RpcError instance for an error
        answer (errors are returned, not raised)."""
        messages = []
        waits = []
        for method, params in calls:
            request_id = next(self._ids)
            m: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
            if params is not None:
                m["params"] = params
            messages.append(m)
            waits.append((request_id, _Pending(method)))
        if not messages:
            return []
        answers = self._exchange(encode(messages), waits, timeout)
        out: List[Any] = []
        for (_, p), answer in zip(waits, answers):
            try:
                out.append(self._result(answer, p.method))
            except RpcError as e:
                out.append(e)
        return out

    def notify(self, method: str, params: Optional[Dict[str, Any]] = None) -> None:
        """A request without an id: the daemon answers nothing."""
        message: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._send(encode(message))

    def info(self) -> Dict[str, Any]:
        return self.call("daemon.info")

    def subscribe(self, targets: Optional[Iterable[str]] = None, account: Optional[str] = None,
                  triggers: bool = False) -> int:
        """state.subscribe: returns the subscription id. targets None: every
        target of the scope (top level, or `account`'s), now and later.
        Notifications (state.drifted at once for each tracked target, then
        state.changed / state.drifted; with triggers, trigger.started and
        trigger.finished too) go to on_notification when the Client has one,
        else they are queued for notifications()."""
        if self.on_notification is None:
            self._collect()
        params: Dict[str, Any] = {}
        if targets is not None:
            params["targets"] = list(targets)
        if account is not None:
            params["account"] = account
        if triggers:
            params["triggers"] = True
        return self.call("state.subscribe", params or None)["subscription"]

    def unsubscribe(self, subscription: int) -> None:
        """state.unsubscribe; RpcError (-32602) for an id this connection does not hold."""
        self.call("state.unsubscribe", {"subscription": subscription})

    def notifications(self, timeout: Optional[float] = None) -> Iterator[Tuple[str, Dict[str, Any]]]:
        """Yields (method, params) of each notification, in order, as they
        arrive (after subscribe() on a Client without on_notification).
        Stops when `timeout` s pass without one (None: waits for ever) or
        when the connection ends. The queue is unbounded: read it, or
        unsubscribe (the daemon itself keeps a slow reader bounded)."""
        if self._queue is None:
            raise ValueError("notifications() needs subscribe() on a Client without on_notification")
        while True:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                return
            if item is None:
                self._queue.put(None)  # the end stays visible to the next call
                return
            yield item

    def ping(self) -> None:
        self.call("daemon.ping")

    def shutdown(self) -> None:
        """Asks the daemon to stop (daemon.shutdown)."""
        self.call("daemon.shutdown")

    # -- locks (docs/PROTOCOL.md, lock.*) ---------------------------------
    # A lock belongs to this Client's connection: every thread using this
    # Client shares it, and closing the Client (or the process dying)
    # releases it.

    def lock_acquire(self, name: str, wait: Optional[float] = 0, coalesce: bool = False) -> "LockResult":
        """lock.acquire: wait up to `wait` seconds (0: try once; None: no
        bound) for the lock, in FIFO order. The answer is awaited for the
        wait plus this Client's timeout. A lock this connection already holds
        or waits for raises InvalidParams. If no answer comes in time the
        connection is closed (ClientClosed for later calls), so that a grant
        arriving late cannot leave a lock held that nobody knows of."""
        wait_ms = LOCK_WAIT_FOREVER_MS if wait is None else int(round(wait * 1000))
        if wait_ms < 0:
            raise ValueError("wait must be None or >= 0 seconds")
        params: Dict[str, Any] = {"name": name, "wait_ms": min(wait_ms, LOCK_WAIT_FOREVER_MS)}
        if coalesce:
            params["coalesce"] = True
        timeout = None if wait is None or self.timeout is None else self.timeout + wait
        try:
            r = self.call("lock.acquire", params, timeout=timeout) if timeout is not None else \
                self._call_unbounded("lock.acquire", params)
        except CallTimeout:
            self.close()
            raise
        if not isinstance(r, dict) or not isinstance(r.get("acquired"), bool):
            raise ProtocolError("lock.acquire: the answer has no \"acquired\"")
        pid = r.get("holder_pid")
        return LockResult(r["acquired"], r.get("coalesced") is True, pid if isinstance(pid, int) else None,
                          r.get("owed") is True)

    def lock_release(self, name: str) -> None:
        """lock.release; LockNotHeld (error 2) when this connection does not hold it."""
        self.call("lock.release", {"name": name})

    def lock_list(self) -> List[Dict[str, Any]]:
        """lock.list: [{"name", "holder_pid", "held_ms", "waiting", "waiters", "owed"?}], by name."""
        return self.call("lock.list")

    @contextlib.contextmanager
    def lock(self, name: str, wait: Optional[float] = None, coalesce: bool = False) -> Iterator["LockResult"]:
        """with client.lock("sync") as got: ... holds the lock for the block
        when got (a LockResult) is true, and releases it on the way out.
        wait: seconds (None, the default: no bound; 0: try once). When the
        lock stays busy the block still runs, with got false: got.coalesced
        says another waiting caller's run covers this one, got.holder_pid
        who holds it."""
        got = self.lock_acquire(name, wait=wait, coalesce=coalesce)
        try:
            yield got
        finally:
            if got.acquired and not self.closed:
                try:
                    self.lock_release(name)
                except (ConnectionClosed, ClientClosed):
                    pass  # the connection's end released it

    # -- triggers (docs/PROTOCOL.md, "Triggers") ---------------------------
    # Commands the daemon runs when watched files change. Answers are the
    # daemon's JSON, as dicts: see the protocol for their members.

    def trigger_set(self, name: str, watch: Sequence[Union[str, os.PathLike]], command: Sequence[str], *,
                    cwd: Optional[Union[str, os.PathLike]] = None, env: Optional[Dict[str, str]] = None,
                    settle_ms: Optional[int] = None, max_wait_ms: Optional[int] = None,
                    lock: Optional[str] = None, no_lock: bool = False,
                    timeout_ms: Optional[int] = None, enabled: Optional[bool] = None) -> Dict[str, Any]:
        """trigger.set: creates or replaces trigger `name`, and returns it as
        trigger.list shows it, once durable. `watch`: absolute paths (a
        directory covers its whole tree); `command`: argv, command[0]
        absolute or a name on the daemon's PATH. `lock`: the lock a run holds
        (None: the daemon's default, "sync"); `no_lock=True`: none. A bad
        param raises InvalidParams (its .field names it); nothing is saved."""
        params: Dict[str, Any] = {"name": name, "watch": [os.fspath(p) for p in watch], "command": list(command)}
        if cwd is not None:
            params["cwd"] = os.fspath(cwd)
        if env:
            params["env"] = dict(env)
        for key, value in (("settle_ms", settle_ms), ("max_wait_ms", max_wait_ms), ("timeout_ms", timeout_ms),
                           ("enabled", enabled)):
            if value is not None:
                params[key] = value
        if no_lock:
            params["lock"] = None
        elif lock is not None:
            params["lock"] = lock
        return self.call("trigger.set", params)

    def trigger_remove(self, name: str) -> None:
        """trigger.remove; NoSuchTrigger (error 2) when there is none of that name."""
        try:
            self.call("trigger.remove", {"name": name})
        except LockNotHeld as e:  # code 2 means "no such trigger" here
            raise NoSuchTrigger(e.code, e.message, e.data, "trigger.remove") from None

    def trigger_list(self) -> List[Dict[str, Any]]:
        """trigger.list: every trigger, sorted by name."""
        return self.call("trigger.list")

    def trigger_run(self, name: str) -> int:
        """trigger.run: runs it now (or once more after the run in progress);
        returns the number of the run that covers this request."""
        r = self.call("trigger.run", {"name": name})
        if not isinstance(r, dict) or not isinstance(r.get("run"), int):
            raise ProtocolError("trigger.run: the answer has no run number")
        return r["run"]

    def trigger_log(self, name: str, runs: Optional[int] = None) -> List[Dict[str, Any]]:
        """trigger.log: the last `runs` (1 to 100, default 10) runs, oldest first, with output."""
        params: Dict[str, Any] = {"name": name}
        if runs is not None:
            params["runs"] = runs
        return self.call("trigger.log", params)

    def trigger_pause(self, name: Optional[str] = None) -> None:
        """trigger.pause of `name`, or (None) of every trigger."""
        self.call("trigger.pause", {"name": name} if name is not None else None)

    def trigger_resume(self, name: Optional[str] = None) -> None:
        """trigger.resume of `name`, or (None) of every trigger."""
        self.call("trigger.resume", {"name": name} if name is not None else None)

    def _call_unbounded(self, method: str, params: Dict[str, Any]) -> Any:
        request_id = next(self._ids)
        message: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        answer = self._exchange(encode(message), [(request_id, _Pending(method))], None, unbounded=True)[0]
        return self._result(answer, method)

    def check_serves(self, state_dir: Union[str, os.PathLike]) -> None:
        """Raises WrongDaemon unless the daemon serves `state_dir`."""
        info = self.info()
        served = info.get("state_file") if isinstance(info, dict) else None
        if not isinstance(served, str):
            raise ProtocolError("daemon.info has no state_file")
        want = os.path.realpath(os.fspath(state_dir))
        if os.path.realpath(os.path.dirname(served)) != want:
            raise WrongDaemon("harnesssyncd at %s serves %s, not %s" % (
                self.socket_path, served, os.path.join(os.fspath(state_dir), "state.json")))

    @property
    def closed(self) -> bool:
        return self._closed is not None or os.getpid() != self._pid

    def close(self) -> None:
        """Closes the connection; calls still waiting get ClientClosed."""
        self._fail_all(ClientClosed("the harnesssync Client was closed"))
        if os.getpid() != self._pid:
            return  # the parent's socket and reader thread are the parent's
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self._reader is not None and threading.current_thread() is not self._reader:
            self._reader.join(5)
        self._sock.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- internals --------------------------------------------------------

    def _collect(self) -> None:
        """Queues notifications for notifications(): a background reader
        takes over reading for good, once the caller reading now (if any)
        has handed over."""
        with self._cv:
            if self._queue is not None:
                return
            self._usable()
            q: "queue.Queue[Optional[Tuple[str, Dict[str, Any]]]]" = queue.Queue()
            self._queue = q
            self.on_notification = lambda method, params: q.put((method, params))
            while self._reading:
                self._cv.wait()
            self._reading = True
        self._reader = threading.Thread(target=self._read_loop, name="harnesssync-reader", daemon=True)
        self._reader.start()

    def _usable(self) -> None:
        if os.getpid() != self._pid:
            raise ClientClosed("a harnesssync Client cannot be used in a child process after fork(); "
                               "make a new one there")
        if self._closed is not None:
            raise ClientClosed("the connection to harnesssyncd is closed: %s" % self._closed)

    def _send(self, data: bytes) -> None:
        self._usable()
        with self._send_lock:
            try:
                self._sock.sendall(data)
            except OSError as e:
                error = ConnectionClosed("cannot send to harnesssyncd at %s: %s"
                                         % (self.socket_path, e.strerror or e))
                self._fail_all(error)  # the connection is dead for every caller
                raise error from e

    def _exchange(self, data: bytes, waits: List[Tuple[Any, _Pending]], timeout: Optional[float],
                  unbounded: bool = False) -> List[Dict]:
        with self._lock:
            self._usable()
            for request_id, p in waits:
                self._pending[request_id] = p
        try:
            self._send(data)
            wait = None if unbounded else self.timeout if timeout is None else timeout
            deadline = None if wait is None else time.monotonic() + wait
            for _, p in waits:
                self._await(p, deadline, wait)
            return [p.answer for _, p in waits]  # type: ignore[misc]
        finally:
            with self._lock:
                for request_id, _ in waits:
                    self._pending.pop(request_id, None)

    @staticmethod
    def _result(answer: Dict[str, Any], method: str) -> Any:
        error = answer.get("error")
        if error is not None:
            if not isinstance(error, dict):
                raise ProtocolError("%s: the error answer is not an object" % method)
            raise RpcError.from_error(error, method)
        if "result" not in answer:
            raise ProtocolError("%s: harnesssyncd sent an answer with neither result nor error" % method)
        return answer["result"]

    def _fail_all(self, error: BaseException) -> None:
        with self._lock:
            if self._closed is None:
                self._closed = error
            pending = list(self._pending.values())
            self._pending.clear()
            if self._queue is not None:
                self._queue.put(None)  # notifications() ends
        for p in pending:
            if p.answer is not None or p.error is not None:
                continue  # answered just before the end: the answer stands
            p.error = type(error)("%s: %s" % (p.method, error) if isinstance(error, ConnectionClosed) else str(error))
        with self._cv:
            self._cv.notify_all()

    def _await(self, p: _Pending, deadline: Optional[float], wait: Optional[float]) -> None:
        """Until p is answered: follow while someone else reads, else lead
        (read the socket, handing out every answer found) until p is done."""
        while True:
            with self._cv:
                while p.answer is None and p.error is None and self._reading:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise CallTimeout("%s: no answer from harnesssyncd within %g s" % (p.method, wait))
                    self._cv.wait(left)
                if p.answer is not None:
                    return
                if p.error is not None:
                    raise p.error
                self._reading = True
            try:
                while p.answer is None and p.error is None:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise CallTimeout("%s: no answer from harnesssyncd within %g s" % (p.method, wait))
                    self._read_once(left)
            finally:
                with self._cv:
                    self._reading = False
                    self._cv.notify_all()  # a follower takes over

    def _read_once(self, timeout: Optional[float]) -> None:
        """Reads what arrives within `timeout` and dispatches every complete
        message; the end of the connection fails every waiting call."""
        try:
            if timeout is not None:
                ready, _, _ = select.select([self._sock], [], [], timeout)
                if not ready:
                    return
            chunk = self._sock.recv(1 << 16)
        except OSError as e:
            self._fail_all(ConnectionClosed("harnesssyncd connection failed: %s" % (e.strerror or e)))
            return
        if not chunk:
            self._fail_all(ConnectionClosed("harnesssyncd closed the connection before answering"))
            return
        self._buf += chunk
        try:
            while True:
                nl = self._buf.find(b"\n")
                if nl < 0:
                    break
                line, self._buf = self._buf[:nl], self._buf[nl + 1:]
                if line.strip():
                    self._dispatch(line)
        except HarnessSyncError as e:
            self._fail_all(e)

    def _read_loop(self) -> None:
        try:
            while self._closed is None:
                self._read_once(None)
        except BaseException as e:  # a bug here must not leave callers hanging
            self._fail_all(ProtocolError("the harnesssync reader failed: %r" % (e,)))

    def _dispatch(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError as e:
            raise ProtocolError("harnesssyncd sent a line that is not JSON: %s" % e) from None
        for m in message if isinstance(message, list) else [message]:
            if not isinstance(m, dict):
                raise ProtocolError("harnesssyncd sent a message that is not a JSON object")
            if "id" not in m:
                self._notify(m)
                continue
            request_id = m["id"]
            if request_id is None:
                # An error about a message the daemon could not read: it
                # cannot be matched to one call, so every waiting call gets it
                # (this client only sends valid JSON; -32001 closes anyway).
                with self._cv:
                    for p in self._pending.values():
                        p.answer = m
                    self._cv.notify_all()
                continue
            with self._cv:
                p = self._pending.get(request_id)
                if p is not None:  # else: a call that timed out; drop its late answer
                    p.answer = m
                    self._cv.notify_all()

    def _notify(self, m: Dict[str, Any]) -> None:
        method = m.get("method")
        handler = self.on_notification
        if not isinstance(method, str) or handler is None:
            return
        params = m.get("params")
        try:
            handler(method, params if isinstance(params, dict) else {})
        except Exception:  # the callback's bug must not stop answers reaching callers
            log.exception("harnesssync notification handler failed on %s", method)
