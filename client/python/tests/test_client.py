"""harnesssync.Client against the real daemon, and against a tiny fake peer
for what the daemon cannot be made to do (stay silent, push notifications)."""
import json
import math
import os
import socket
import threading
import time

import pytest

from harnesssync import (CallTimeout, Client, ClientClosed, ConnectionClosed, DaemonUnavailable, InvalidParams,
                         MethodNotFound, RpcError, WrongDaemon)
from harnesssync.errors import InvalidRequest, ShuttingDown


@pytest.fixture
def daemon(start, env):
    return start()


class FakePeer:
    """A Unix socket server that runs `script(conn, lines)` on one connection;
    `lines()` yields the requests it receives, parsed."""

    def __init__(self, path, script):
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.script = script
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        conn, _ = self.server.accept()
        buf = [b""]

        def lines():
            while True:
                while b"\n" not in buf[0]:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf[0] += chunk
                line, buf[0] = buf[0].split(b"\n", 1)
                yield json.loads(line)

        try:
            self.script(conn, lines)
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            conn.close()

    def close(self):
        self.thread.join(10)
        self.server.close()
        assert self.error is None, self.error


def send(conn, obj):
    conn.sendall((json.dumps(obj) + "\n").encode())


def test_call_info_and_ping(daemon):
    with Client(daemon.socket, autostart=False) as c:
        info = c.call("daemon.info")
        assert info["name"] == "harnesssyncd" and info["pid"] == daemon.proc.pid
        assert c.call("daemon.ping") == "pong"
        assert c.info()["socket"] == daemon.socket
        c.ping()
        assert not c.started_daemon


def test_errors_are_typed_with_code_message_and_data(daemon):
    c = Client(daemon.socket, autostart=False)
    with pytest.raises(MethodNotFound) as e:
        c.call("no.such_method")
    assert e.value.code == -32601 and e.value.data == {"method": "no.such_method"}
    assert isinstance(e.value, RpcError) and "no.such_method" in str(e.value)
    with pytest.raises(InvalidParams) as e:
        c.call("state.record", {"target": "bad name!", "scope": "all", "file_hashes": {},
                                "synced": 0, "skipped": 0, "failed": 0})
    assert e.value.code == -32602 and e.value.field == "target" and e.value.reason
    assert "target" in str(e.value) and "(error -32602)" in str(e.value)
    with pytest.raises(InvalidParams):
        c.call("state.target", {})
    # An error leaves the connection usable.
    assert c.call("daemon.ping") == "pong"
    c.close()


def test_nan_is_refused_before_sending(daemon):
    c = Client(daemon.socket, autostart=False)
    with pytest.raises(ValueError, match="JSON"):
        c.call("state.target", {"target": math.nan})
    assert c.call("daemon.ping") == "pong"
    c.close()


def test_non_ascii_round_trips(daemon):
    c = Client(daemon.socket, autostart=False)
    path = "/home/ü/日本/CLAUDE.md"
    c.call("state.record", {"target": "codex", "scope": "all", "file_hashes": {path: "h"},
                            "synced": 1, "skipped": 0, "failed": 0})
    assert c.call("state.target", {"target": "codex"})["file_hashes"] == {path: "h"}
    c.close()


def test_batch(daemon):
    c = Client(daemon.socket, autostart=False)
    out = c.batch([("daemon.ping", None), ("no.such", {}), ("state.target", {"target": "codex"})])
    assert out[0] == "pong" and isinstance(out[1], MethodNotFound) and out[2] is None
    assert c.batch([]) == []
    c.close()


def test_many_threads_share_one_client(daemon):
    c = Client(daemon.socket, autostart=False)
    errors = []

    def work(i):
        try:
            for j in range(40):
                target = "t%d" % i
                c.call("state.record", {"target": target, "scope": "all", "file_hashes": {"/f": "h%d" % j},
                                        "synced": j, "skipped": 0, "failed": 0})
                assert c.call("state.target", {"target": target})["items_synced"] == j
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(c.call("state.all")["targets"]) == 8
    c.close()


def test_timeout_then_a_late_answer_is_dropped(tmp):
    path = os.path.join(tmp, "fake.sock")
    release = threading.Event()

    def script(conn, lines):
        it = lines()
        slow = next(it)
        fast = next(it)
        send(conn, {"jsonrpc": "2.0", "id": fast["id"], "result": "fast"})
        release.wait(10)
        send(conn, {"jsonrpc": "2.0", "id": slow["id"], "result": "late"})
        third = next(it)
        send(conn, {"jsonrpc": "2.0", "id": third["id"], "result": "third"})

    peer = FakePeer(path, script)
    c = Client(path, autostart=False)
    with pytest.raises(CallTimeout, match="slow.method: no answer from harnesssyncd within 0.2 s"):
        c.call("slow.method", timeout=0.2)
    assert c.call("fast.method") == "fast"
    release.set()
    assert c.call("third.method", timeout=10) == "third"
    c.close()
    peer.close()


def test_notifications_reach_the_callback(tmp):
    path = os.path.join(tmp, "fake.sock")

    def script(conn, lines):
        it = lines()
        req = next(it)
        send(conn, {"jsonrpc": "2.0", "method": "state.changed",
                    "params": {"subscription": 1, "target": "codex", "kind": "recorded", "last_sync": "t"}})
        send(conn, {"jsonrpc": "2.0", "method": "state.drifted", "params": {"subscription": 1, "target": "codex",
                                                                           "changed": ["/a"], "removed": [],
                                                                           "errors": []}})
        # One notification and the answer in a single write, split mid-line.
        data = (json.dumps({"jsonrpc": "2.0", "method": "bad.handler", "params": {}}) + "\n" +
                json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": {"subscription": 1}}) + "\n").encode()
        conn.sendall(data[:17])
        time.sleep(0.05)
        conn.sendall(data[17:])
        for _ in it:
            pass

    peer = FakePeer(path, script)
    got = []

    def on_notification(method, params):
        if method == "bad.handler":
            raise RuntimeError("a buggy callback must not break the client")
        got.append((method, params))

    c = Client(path, autostart=False, on_notification=on_notification)
    assert c.call("state.subscribe") == {"subscription": 1}
    assert [m for m, _ in got] == ["state.changed", "state.drifted"]
    assert got[1][1]["changed"] == ["/a"]
    c.close()
    peer.close()


def test_connection_closed_before_the_answer(tmp):
    path = os.path.join(tmp, "fake.sock")

    def script(conn, lines):
        next(lines())

    peer = FakePeer(path, script)
    c = Client(path, autostart=False)
    with pytest.raises(ConnectionClosed, match="closed the connection before answering"):
        c.call("state.all")
    with pytest.raises(ClientClosed):
        c.call("state.all")
    assert c.closed
    c.close()
    peer.close()


def test_null_id_error_reaches_the_waiting_call(tmp):
    path = os.path.join(tmp, "fake.sock")

    def script(conn, lines):
        next(lines())
        send(conn, {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request"}})

    peer = FakePeer(path, script)
    c = Client(path, autostart=False)
    with pytest.raises(InvalidRequest):
        c.call("x")
    c.close()
    peer.close()


def test_shutdown_answers(daemon):
    c = Client(daemon.socket, autostart=False)
    c.shutdown()
    assert daemon.proc.wait(20) == 0
    with pytest.raises((ConnectionClosed, ClientClosed, ShuttingDown)):
        c.call("daemon.ping")
    c.close()


def test_no_autostart_and_no_spawn(env, monkeypatch):
    path = os.path.join(env["tmp"], "nobody.sock")
    with pytest.raises(DaemonUnavailable, match="autostart is off"):
        Client(path, autostart=False)
    monkeypatch.setenv("HARNESSSYNC_NO_SPAWN", "1")
    with pytest.raises(DaemonUnavailable, match="HARNESSSYNC_NO_SPAWN is set"):
        Client(path)
    assert not os.path.exists(path)


def test_wrong_daemon_fails_clearly(daemon, tmp):
    other = os.path.join(tmp, "other")
    with pytest.raises(WrongDaemon) as e:
        Client(daemon.socket, state_dir=other)
    msg = str(e.value)
    assert daemon.socket in msg and os.path.join(daemon.state_dir, "state.json") in msg
    assert os.path.join(other, "state.json") in msg and "\n" not in msg
    # Named the right way, through a symlink, it is fine.
    link = os.path.join(tmp, "link")
    os.symlink(daemon.state_dir, link)
    Client(daemon.socket, state_dir=link).close()


def test_harnesssync_home_names_the_state_dir(daemon, tmp, monkeypatch):
    monkeypatch.setenv("HARNESSSYNC_HOME", os.path.join(tmp, "elsewhere"))
    with pytest.raises(WrongDaemon):
        Client(daemon.socket)
    monkeypatch.setenv("HARNESSSYNC_HOME", daemon.state_dir)
    Client(daemon.socket).close()


def test_notifications_between_calls_and_without_a_callback(tmp):
    path = os.path.join(tmp, "fake.sock")
    first_answered = threading.Event()

    def script(conn, lines):
        it = lines()
        req = next(it)
        send(conn, {"jsonrpc": "2.0", "id": req["id"], "result": 1})
        first_answered.wait(10)
        send(conn, {"jsonrpc": "2.0", "method": "state.changed", "params": {"kind": "reloaded"}})
        req = next(it)
        send(conn, {"jsonrpc": "2.0", "method": "dropped.without.callback", "params": {}})
        send(conn, {"jsonrpc": "2.0", "id": req["id"], "result": 2})
        for _ in it:
            pass

    peer = FakePeer(path, script)
    got = threading.Event()
    c = Client(path, autostart=False, on_notification=lambda m, p: got.set() if m == "state.changed" else None)
    assert c.call("a") == 1
    first_answered.set()
    assert got.wait(10), "a notification with no call in flight still reaches the callback"
    assert c.call("b") == 2
    c.close()
    peer.close()

    peer = FakePeer(path + "2", script)
    c = Client(path + "2", autostart=False)
    assert c.call("a") == 1
    first_answered.set()
    assert c.call("b") == 2  # notifications are skipped when nobody listens
    c.close()
    peer.close()


@pytest.mark.daemon_method("state.subscribe")
def test_real_notifications_from_a_subscription(daemon, tmp):
    """Once the daemon serves subscriptions: state.drifted and state.changed
    reach the callback (docs/PROTOCOL.md, notifications)."""
    f = os.path.join(tmp, "tracked.md")
    with open(f, "w") as fh:
        fh.write("one")
    got = []
    cond = threading.Condition()

    def on_notification(method, params):
        with cond:
            got.append((method, params))
            cond.notify_all()

    def wait_for(pred):
        with cond:
            assert cond.wait_for(lambda: any(pred(m, p) for m, p in got), 20), got

    c = Client(daemon.socket, autostart=False, on_notification=on_notification)
    c.call("state.record", {"target": "codex", "scope": "all", "file_hashes": {f: ""}, "synced": 1,
                            "skipped": 0, "failed": 0})
    c.call("state.accept", {"target": "codex", "paths": [f]})
    sub = c.call("state.subscribe", {"targets": ["codex"]})["subscription"]
    wait_for(lambda m, p: m == "state.drifted" and p.get("changed") == [])
    if c.info()["watch"]["paths"] > 0:
        # With a file watcher backend: an edit on disk is seen by itself.
        with open(f, "w") as fh:
            fh.write("two")
    else:
        # Without one: a record that says the file should hold other bytes.
        c.call("state.record", {"target": "codex", "scope": "all", "file_hashes": {f: "0" * 64}, "synced": 1,
                                "skipped": 0, "failed": 0})
    wait_for(lambda m, p: m == "state.drifted" and p.get("changed") == [f] and p["subscription"] == sub)
    c.call("state.clear", {"target": "codex"})
    wait_for(lambda m, p: m == "state.changed" and p.get("kind") == "cleared")
    c.close()


@pytest.mark.daemon_method("state.subscribe")
def test_subscribe_and_notifications_iterator(daemon, tmp):
    """Client.subscribe() without a callback queues notifications for
    Client.notifications(); calls keep working meanwhile."""
    f = os.path.join(tmp, "tracked.md")
    with open(f, "w") as fh:
        fh.write("one")
    c = Client(daemon.socket, autostart=False)
    with pytest.raises(ValueError):
        next(c.notifications(0))
    c.call("state.record", {"target": "codex", "scope": "all", "file_hashes": {f: "0" * 64}, "synced": 1,
                            "skipped": 0, "failed": 0})
    sub = c.subscribe(["codex"])
    method, params = next(c.notifications(20))
    assert method == "state.drifted" and params == {"subscription": sub, "target": "codex", "changed": [f],
                                                    "removed": [], "errors": []}
    c.call("state.accept", {"target": "codex", "paths": [f]})  # calls still answered, from the reader thread
    got = []
    for method, params in c.notifications(20):
        got.append((method, params.get("kind"), params.get("changed")))
        if method == "state.drifted":
            break
    assert got == [("state.changed", "accepted", None), ("state.drifted", None, [])]
    assert list(c.notifications(0.3)) == []
    c.unsubscribe(sub)
    with pytest.raises(RpcError) as e:
        c.unsubscribe(sub)
    assert e.value.code == -32602
    everything = c.subscribe()
    assert next(c.notifications(20))[1]["subscription"] == everything
    c.close()
    assert list(c.notifications(5)) == []  # the end of the connection ends the iterator
