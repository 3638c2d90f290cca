"""The connection limit (PROTOCOL.md, "Limits"; issue 17, defect 8): at the
limit, the connection heard from least recently that holds nothing (no lock,
no subscription, no work, nothing unsent) and has been quiet for the grace
is closed to let a new one in: at once if it never sent a byte, after 1 s of
quiet if it did. Connections that hold something are never closed for it; a
client refused anyway reads one -32001 line."""
import json
import os
import socket
import subprocess
import time

from conftest import DAEMON, record_params

HSCTL = os.environ.get("HS_HSCTL", os.path.join(os.path.dirname(DAEMON), "hsctl"))
GRACE = 1.0  # Server::kIdleGrace, for a connection that has talked


def hsctl(d, *args):
    env = dict(os.environ, HARNESSSYNC_SOCKET=d.socket, HARNESSSYNC_HOME=d.state_dir, HARNESSSYNC_NO_SPAWN="1")
    return subprocess.run([HSCTL, *args], capture_output=True, text=True, timeout=30, env=env)


def raw(d):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(d.socket)
    return s


def closed_by_daemon(s, wait=5.0):
    s.settimeout(wait)
    try:
        while s.recv(1 << 16):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_520_idle_connections_never_keep_hsctl_out(start):
    d = start()
    leaked = [raw(d) for _ in range(520)]  # one leaking script: connects, never sends
    for _ in range(5):
        r = hsctl(d, "ping")
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    # A state change from a real client goes through too.
    c = d.client()
    assert c.call("state.record", record_params("in"))["target"] == "in"
    assert "to let a new one in at the limit of 512" in d.output()
    # Those closed were the oldest: the newest leaked ones are still open.
    assert not closed_by_daemon(leaked[-1], wait=0.2)
    assert closed_by_daemon(leaked[0], wait=5)
    for s in leaked:
        s.close()


def test_connections_that_hold_something_are_never_closed_and_the_refused_client_is_told(start):
    d = start("--max-connections", "6")
    holders = []
    for i in range(3):
        c = d.client()
        assert c.call("lock.acquire", {"name": "l%d" % i})["acquired"] is True
        holders.append(c)
    for _ in range(3):
        c = d.client()
        assert "subscription" in c.call("state.subscribe", {"targets": ["nothing-here"]})
        holders.append(c)
    time.sleep(GRACE * 1.5)  # quiet, but each holds something
    refused = raw(d)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = refused.recv(4096)
        assert chunk, "closed without the error line: %r" % buf
        buf += chunk
    err = json.loads(buf)
    assert err["id"] is None and err["error"]["code"] == -32001 and err["error"]["data"] == {"limit": 6}, err
    assert closed_by_daemon(refused)
    # hsctl says why too (its send may fail first: the line is still there).
    for _ in range(5):
        r = hsctl(d, "ping")
        assert r.returncode == 4, (r.returncode, r.stderr)
        assert r.stderr.startswith("hsctl: Too many connections: the limit is 6") and "(error -32001)" in r.stderr, r.stderr
    for c in holders:
        assert c.call("daemon.ping") == "pong"
    assert [l["name"] for l in holders[0].call("lock.list")] == ["l0", "l1", "l2"]


def test_a_quiet_connection_past_the_grace_makes_room_but_a_busy_one_does_not(start):
    d = start("--max-connections", "2")
    busy = d.client()
    assert busy.call("lock.acquire", {"name": "mine"})["acquired"] is True
    quiet = d.client()
    assert quiet.call("daemon.ping") == "pong"  # heard from once, then quiet
    time.sleep(GRACE * 1.5)
    newcomer = d.client()
    assert newcomer.call("daemon.ping") == "pong"
    assert closed_by_daemon(quiet.sock)
    assert busy.call("daemon.ping") == "pong"
