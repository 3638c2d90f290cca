"""The sync lock against the real daemon (docs/PROTOCOL.md, lock.*): FIFO
grants, bounded waits, release when a holder dies (SIGKILL included), a
waiter that disconnects, coalescing, shutdown, bad input; and `hsctl lock`
end to end: exit codes, the coalesced note, signal forwarding."""
import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from conftest import DAEMON, PORTABLE, Client
from conftest import peer_pid as peer

HSCTL = os.environ.get("HS_HSCTL", os.path.join(os.path.dirname(DAEMON), "hsctl"))
ME = peer(os.getpid())
# How hsctl names a holder (this process) in its one-line messages.
ME_TEXT = "a process of unknown pid" if PORTABLE else "pid %d" % os.getpid()


def send_acquire(c, name, wait_ms=None, coalesce=None, id=None):
    """Sends lock.acquire without reading its answer (a waiter)."""
    params = {"name": name}
    if wait_ms is not None:
        params["wait_ms"] = wait_ms
    if coalesce is not None:
        params["coalesce"] = coalesce
    if id is None:
        id = c.next_id
        c.next_id += 1
    c.send({"jsonrpc": "2.0", "id": id, "method": "lock.acquire", "params": params})
    return id


def acquire(c, name, wait_ms=None, coalesce=None):
    send_acquire(c, name, wait_ms, coalesce)
    resp = c.read_line()
    assert "error" not in resp, resp
    return resp["result"]


def has_answer(c, wait=0.0):
    """True when an answer is waiting to be read on c (within `wait` s)."""
    if b"\n" in c.buf:
        return True
    ready, _, _ = select.select([c.sock], [], [], wait)
    return bool(ready)


def locks(daemon):
    c = daemon.client()
    try:
        return {l["name"]: l for l in c.call("lock.list")}
    finally:
        c.close()


def wait_until(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError("timed out waiting for " + what)


def waiting(daemon, name):
    return locks(daemon).get(name, {}).get("waiting", 0)


# ---- the protocol ----------------------------------------------------------


def test_acquire_list_info_release(daemon):
    c = daemon.client()
    got = acquire(c, "sync")
    assert got == {"acquired": True, "coalesced": False, "holder_pid": ME, "owed": False}
    l = locks(daemon)["sync"]
    assert l["holder_pid"] == ME and l["waiting"] == 0 and l["waiters"] == [] and l["held_ms"] >= 0
    assert daemon.client().call("daemon.info")["locks"] == {"held": 1, "waiting": 0}
    # Busy, try once (the default wait_ms is 0): at once, naming the holder.
    other = daemon.client()
    assert acquire(other, "sync") == {"acquired": False, "coalesced": False, "holder_pid": ME, "owed": False}
    assert acquire(other, "deploy")["acquired"]  # names are independent
    assert c.call("lock.release", {"name": "sync"}) is True
    assert set(locks(daemon)) == {"deploy"}
    methods = daemon.client().call("daemon.info")["methods"]
    assert {"lock.acquire", "lock.release", "lock.list"} <= set(methods)


def test_fifo_order_with_10_waiters(daemon):
    holder = daemon.client()
    assert acquire(holder, "sync")["acquired"]
    waiters = []
    for i in range(10):
        w = daemon.client()
        send_acquire(w, "sync", wait_ms=120000)
        # Each request reaches the daemon before the next is sent: that is
        # the order they asked in.
        wait_until(lambda: waiting(daemon, "sync") == i + 1, what="waiter %d queued" % i)
        waiters.append(w)
    assert [x["pid"] for x in locks(daemon)["sync"]["waiters"]] == [ME] * 10
    holder.call("lock.release", {"name": "sync"})
    for i, w in enumerate(waiters):
        resp = w.read_line()
        assert resp["result"] == {"acquired": True, "coalesced": False, "holder_pid": ME, "owed": False}, (i, resp)
        for later in waiters[i + 1:]:
            assert not has_answer(later), "waiter %d answered before waiter %d" % (waiters.index(later), i)
        assert w.call("lock.release", {"name": "sync"}) is True
    assert locks(daemon) == {}


def test_a_wait_times_out_with_acquired_false(daemon):
    holder = daemon.client()
    acquire(holder, "sync")
    w = daemon.client()
    t0 = time.monotonic()
    got = acquire(w, "sync", wait_ms=300)
    assert time.monotonic() - t0 >= 0.29
    assert got == {"acquired": False, "coalesced": False, "holder_pid": ME, "owed": False}
    assert locks(daemon)["sync"]["waiting"] == 0
    # The connection goes on working, and may wait again.
    holder.call("lock.release", {"name": "sync"})
    assert acquire(w, "sync", wait_ms=300)["acquired"]


HOLDER = r"""
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"lock.acquire","params":{"name":"sync"}}\n')
buf = b""
while b"\n" not in buf:
    buf += s.recv(4096)
assert json.loads(buf)["result"]["acquired"], buf
print("held", flush=True)
time.sleep(600)
"""


def test_sigkill_of_the_holder_hands_the_lock_on_at_once(daemon):
    """The hand-off time is measured in tests/bench/lock_bench.py (under
    100 ms); here only generously, so that a loaded machine cannot fail it."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, daemon.socket], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert locks(daemon)["sync"]["holder_pid"] == peer(holder.pid)  # the kernel's view of the peer
        w = daemon.client()
        send_acquire(w, "sync", wait_ms=120000)
        wait_until(lambda: waiting(daemon, "sync") == 1)
        t0 = time.monotonic()
        holder.send_signal(signal.SIGKILL)
        resp = w.read_line()
        elapsed = time.monotonic() - t0
        assert resp["result"] == {"acquired": True, "coalesced": False, "holder_pid": ME, "owed": False}, resp
        assert elapsed < 5.0, elapsed
        assert locks(daemon)["sync"]["holder_pid"] == ME
    finally:
        holder.kill()
        holder.wait()


def test_a_waiter_that_disconnects_leaves_the_queue(daemon):
    holder = daemon.client()
    acquire(holder, "sync")
    gone = daemon.client()
    send_acquire(gone, "sync", wait_ms=120000)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    stays = daemon.client()
    send_acquire(stays, "sync", wait_ms=120000)
    wait_until(lambda: waiting(daemon, "sync") == 2)
    gone.close()
    wait_until(lambda: waiting(daemon, "sync") == 1, what="the closed waiter to leave")
    holder.call("lock.release", {"name": "sync"})
    assert stays.read_line()["result"]["acquired"]
    assert locks(daemon)["sync"]["waiting"] == 0
    assert daemon.client().call("daemon.info")["locks"] == {"held": 1, "waiting": 0}


def test_coalesce_one_follow_up_waits_the_rest_are_covered(daemon):
    holder = daemon.client()
    acquire(holder, "sync")
    follow = daemon.client()
    send_acquire(follow, "sync", wait_ms=120000, coalesce=True)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    late = daemon.client()
    assert acquire(late, "sync", wait_ms=120000, coalesce=True) == {"acquired": False, "coalesced": True,
                                                                   "holder_pid": ME, "owed": False}
    # Not coalescing: queues as usual, behind the follow-up.
    plain = daemon.client()
    send_acquire(plain, "sync", wait_ms=120000)
    wait_until(lambda: waiting(daemon, "sync") == 2)
    holder.call("lock.release", {"name": "sync"})
    assert follow.read_line()["result"]["acquired"]
    assert not has_answer(plain, 0.1)
    # The follow-up runs now: a new coalescing caller becomes the next one.
    nxt = daemon.client()
    send_acquire(nxt, "sync", wait_ms=120000, coalesce=True)
    wait_until(lambda: waiting(daemon, "sync") == 2)
    assert not has_answer(nxt, 0.1)


def test_a_connection_asking_again_for_its_lock_is_refused(daemon):
    c = daemon.client()
    acquire(c, "sync")
    resp = c.request("lock.acquire", {"name": "sync", "wait_ms": 1000})
    assert resp["error"]["code"] == -32602 and resp["error"]["data"]["field"] == "name", resp
    assert "already holds" in resp["error"]["data"]["reason"]
    # Still held once: one release frees it.
    assert c.call("lock.release", {"name": "sync"}) is True
    assert locks(daemon) == {}


def test_release_of_a_lock_not_held_is_error_2(daemon):
    c = daemon.client()
    resp = c.request("lock.release", {"name": "sync"})
    assert resp["error"]["code"] == 2 and resp["error"]["data"] == {"name": "sync"}, resp
    other = daemon.client()
    acquire(other, "sync")
    resp = c.request("lock.release", {"name": "sync"})
    assert resp["error"]["code"] == 2 and resp["error"]["data"] == {"name": "sync"}, resp
    assert locks(daemon)["sync"]["holder_pid"] == ME


@pytest.mark.parametrize("method,params,field", [
    ("lock.acquire", {}, "name"),
    ("lock.acquire", {"name": ""}, "name"),
    ("lock.acquire", {"name": "a b"}, "name"),
    ("lock.acquire", {"name": "x" * 65}, "name"),
    ("lock.acquire", {"name": "../sync"}, "name"),
    ("lock.acquire", {"name": 5}, "name"),
    ("lock.acquire", {"name": "sync", "wait_ms": -1}, "wait_ms"),
    ("lock.acquire", {"name": "sync", "wait_ms": 1.5}, "wait_ms"),
    ("lock.acquire", {"name": "sync", "coalesce": "yes"}, "coalesce"),
    ("lock.acquire", {"name": "sync", "owner": "me"}, "owner"),
    ("lock.release", {"name": "a/b"}, "name"),
    ("lock.release", {}, "name"),
    ("lock.list", {"name": "sync"}, "name"),
])
def test_bad_params_are_32602(daemon, method, params, field):
    resp = daemon.client().request(method, params)
    assert resp["error"]["code"] == -32602 and resp["error"]["data"]["field"] == field, resp
    assert locks(daemon) == {}


def test_shutdown_answers_waiters_32000_and_closes_holders(start):
    d = start()
    holder = d.client()
    acquire(holder, "sync")
    w1 = d.client()
    send_acquire(w1, "sync", wait_ms=120000)
    w2 = d.client()
    send_acquire(w2, "sync", wait_ms=120000, coalesce=True)
    wait_until(lambda: waiting(d, "sync") == 2)
    assert d.client().call("daemon.shutdown") is True
    for w in (w1, w2):
        resp = w.read_line()
        assert resp["error"]["code"] == -32000, resp
        assert w.is_closed()
    assert holder.is_closed()
    assert d.wait() == 0
    d.stop()
    # A new daemon starts with no locks.
    d2 = start()
    assert d2.client().call("lock.list") == []
    assert d2.client().call("daemon.info")["locks"] == {"held": 0, "waiting": 0}


# ---- hsctl lock ------------------------------------------------------------


def hsctl(daemon, *args, **kw):
    env = dict(os.environ, HARNESSSYNC_SOCKET=daemon.socket, HARNESSSYNC_NO_SPAWN="1")
    env.pop("HARNESSSYNC_HOME", None)
    return subprocess.run([HSCTL, *args], capture_output=True, text=True, env=env, timeout=60, **kw)


def hsctl_popen(daemon, *args, **kw):
    env = dict(os.environ, HARNESSSYNC_SOCKET=daemon.socket, HARNESSSYNC_NO_SPAWN="1")
    env.pop("HARNESSSYNC_HOME", None)
    return subprocess.Popen([HSCTL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            **kw)


def test_hsctl_lock_runs_the_command_holding_the_lock_and_exits_with_its_status(daemon, tmp):
    out = os.path.join(tmp, "out")
    # While the command runs, the lock is hsctl's (the command's own hsctl
    # finds the socket in the environment it inherits).
    r = hsctl(daemon, "lock", "sync", "--", "sh", "-c", "%s locks --json > %s; exit 7" % (HSCTL, out))
    assert r.returncode == 7, (r.returncode, r.stderr)
    with open(out) as f:
        listed = json.loads(f.read())
    assert [l["name"] for l in listed] == ["sync"], listed
    # hsctl's pid, not ours (unknown in the portable build).
    assert listed[0]["holder_pid"] is None if PORTABLE else listed[0]["holder_pid"] not in (None, ME), listed
    assert locks(daemon) == {}  # released once the command ended
    assert hsctl(daemon, "lock", "sync", "--", "true").returncode == 0
    assert hsctl(daemon, "lock", "sync", "--", "false").returncode == 1
    r = hsctl(daemon, "lock", "sync", "--", "sh", "-c", "kill -KILL $$")
    assert r.returncode == 128 + signal.SIGKILL, r
    r = hsctl(daemon, "lock", "sync", "--", "/nonexistent/cmd")
    assert r.returncode == 127 and "cannot run /nonexistent/cmd" in r.stderr, r
    assert locks(daemon) == {}


def test_hsctl_lock_busy_exits_5_naming_the_holder(daemon, tmp):
    marker = os.path.join(tmp, "ran")
    holder = daemon.client()
    acquire(holder, "sync")
    r = hsctl(daemon, "lock", "sync", "--wait", "0", "--", "touch", marker)
    assert r.returncode == 5, r
    assert r.stderr.count("\n") == 1 and ME_TEXT in r.stderr and "sync" in r.stderr, r.stderr
    t0 = time.monotonic()
    r = hsctl(daemon, "lock", "sync", "--wait", "0.3", "--", "touch", marker)
    assert r.returncode == 5 and time.monotonic() - t0 >= 0.29, r
    assert not os.path.exists(marker)
    # Released while hsctl waits: it runs then.
    p = hsctl_popen(daemon, "lock", "sync", "--wait", "60", "--", "touch", marker)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    holder.call("lock.release", {"name": "sync"})
    assert p.wait(60) == 0 and os.path.exists(marker)


def test_hsctl_lock_usage_errors_exit_2(daemon):
    for args in (["lock"], ["lock", "sync"], ["lock", "a b", "--", "true"], ["lock", "sync", "--wait", "-1", "--",
                                                                                "true"],
                 ["lock", "sync", "--wait", "x", "--", "true"]):
        r = hsctl(daemon, *args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, (args, r)


def test_hsctl_lock_unreachable_exits_3_without_running(tmp):
    marker = os.path.join(tmp, "ran")
    env = dict(os.environ, HARNESSSYNC_SOCKET=os.path.join(tmp, "none.sock"), HARNESSSYNC_NO_SPAWN="1")
    r = subprocess.run([HSCTL, "lock", "sync", "--", "touch", marker], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 3, r
    assert not os.path.exists(marker)


def test_hsctl_lock_coalesced_exits_0_with_a_note(daemon, tmp):
    marker = os.path.join(tmp, "ran")
    holder = daemon.client()
    acquire(holder, "sync")
    follow = daemon.client()
    send_acquire(follow, "sync", wait_ms=120000, coalesce=True)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    r = hsctl(daemon, "lock", "sync", "--coalesce", "--", "touch", marker)
    assert r.returncode == 0, r
    assert r.stderr.count("\n") == 1 and "covers" in r.stderr and ME_TEXT in r.stderr, r.stderr
    assert not os.path.exists(marker)


def test_hsctl_lock_coalesce_storm_runs_once_more(daemon, tmp):
    out = os.path.join(tmp, "runs")
    holder = daemon.client()
    acquire(holder, "sync")
    procs = [hsctl_popen(daemon, "lock", "sync", "--coalesce", "--", "sh", "-c", "echo run >> " + out)
             for _ in range(50)]
    try:
        # One waits as the follow-up; the other 49 are covered by it and exit.
        wait_until(lambda: sum(p.poll() is not None for p in procs) == 49, timeout=60, what="49 coalesced")
        assert waiting(daemon, "sync") == 1
        assert not os.path.exists(out)
        for p in procs:
            if p.poll() is not None:
                assert p.returncode == 0 and "covers" in p.stderr.read()
        holder.call("lock.release", {"name": "sync"})
        for p in procs:
            assert p.wait(60) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdout.close()
            p.stderr.close()
    with open(out) as f:
        assert f.read() == "run\n"
    assert locks(daemon) == {}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_hsctl_lock_forwards_signals_to_the_command(daemon, tmp, sig):
    log = os.path.join(tmp, "log")
    script = ('trap "echo got-term >> %s; exit 3" %s; echo ready >> %s; '
              'while :; do sleep 0.05; done') % (log, sig.name[3:], log)
    # Its own process group, so that a failure cannot leave the loop running.
    p = hsctl_popen(daemon, "lock", "sync", "--", "sh", "-c", script, start_new_session=True)
    try:
        wait_until(lambda: os.path.exists(log) and "ready" in open(log).read(), what="the command to start")
        assert locks(daemon)["sync"]["holder_pid"] == peer(p.pid)
        p.send_signal(sig)
        assert p.wait(30) == 3, p.stderr.read()
        with open(log) as f:
            assert f.read() == "ready\ngot-term\n"
        assert locks(daemon) == {}
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        p.stdout.close()
        p.stderr.close()


def test_hsctl_locks_lists_them(daemon):
    r = hsctl(daemon, "locks")
    assert r.returncode == 0 and r.stdout == "no locks\n", r
    holder = daemon.client()
    acquire(holder, "sync")
    w = daemon.client()
    send_acquire(w, "sync", wait_ms=120000)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    r = hsctl(daemon, "locks")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "HOLDER", "HELD", "WAITING", "OWED"]
    row = lines[1].split()
    assert row[0] == "sync" and row[1] == ("?" if PORTABLE else str(ME)) and row[3] == "1" and row[4] == "no", lines
    assert "1 held, 1 waiting" in hsctl(daemon, "info").stdout
    r = hsctl(daemon, "--json", "locks")
    listed = json.loads(r.stdout)
    assert listed[0]["name"] == "sync" and listed[0]["waiting"] == 1


def test_hsctl_lock_when_the_daemon_stops_while_the_command_runs(daemon):
    """The lock ends with the daemon: the command still runs to its end and
    gives hsctl its status, and hsctl says the lock went with the daemon."""
    r = hsctl(daemon, "lock", "sync", "--", "sh", "-c", "%s shutdown >/dev/null; exit 4" % HSCTL)
    assert r.returncode == 4, r
    assert "warning" in r.stderr and "ended while sh ran" in r.stderr, r.stderr
    assert daemon.wait() == 0


# ---- hsctl --json lock: the outcome for programs ----------------------------


def test_hsctl_json_lock_prints_one_object_for_a_run_and_its_status(daemon, tmp):
    r = hsctl(daemon, "--json", "lock", "sync", "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3")
    assert r.returncode == 3, r
    # stdout holds the object alone: COMMAND's stdout went to stderr.
    got = json.loads(r.stdout)
    assert r.stdout.count("\n") == 1, r.stdout
    assert got["name"] == "sync" and got["acquired"] is True and got["coalesced"] is False, got
    assert got["ran"] is True and got["exit_status"] == 3 and isinstance(got["holder_pid"], int) != PORTABLE, got
    assert "owed" not in got or isinstance(got["owed"], bool), got
    assert r.stderr == "to-stdout\nto-stderr\n", r.stderr
    r = hsctl(daemon, "--json", "lock", "sync", "--", "sh", "-c", "kill -KILL $$")
    assert r.returncode == 128 + signal.SIGKILL and json.loads(r.stdout)["exit_status"] == 128 + signal.SIGKILL, r
    # Without --json, COMMAND's stdout is hsctl's stdout, as before.
    r = hsctl(daemon, "lock", "sync", "--", "echo", "plain")
    assert r.returncode == 0 and r.stdout == "plain\n", r


def test_hsctl_json_lock_says_coalesced_and_busy(daemon, tmp):
    marker = os.path.join(tmp, "ran")
    holder = daemon.client()
    acquire(holder, "sync")
    r = hsctl(daemon, "--json", "lock", "sync", "--wait", "0", "--", "touch", marker)
    assert r.returncode == 5, r
    assert json.loads(r.stdout) == {"name": "sync", "acquired": False, "coalesced": False, "holder_pid": ME,
                                    "ran": False, "exit_status": None, "owed": False}, r.stdout
    follow = daemon.client()
    send_acquire(follow, "sync", wait_ms=120000, coalesce=True)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    # The global option may come after the command, as everywhere.
    r = hsctl(daemon, "lock", "sync", "--coalesce", "--json", "--", "touch", marker)
    assert r.returncode == 0, r
    assert json.loads(r.stdout) == {"name": "sync", "acquired": False, "coalesced": True, "holder_pid": ME,
                                    "ran": False, "exit_status": None, "owed": False}, r.stdout
    assert not os.path.exists(marker)


def test_hsctl_json_lock_prints_no_object_when_the_daemon_cannot_answer(tmp):
    env = dict(os.environ, HARNESSSYNC_SOCKET=os.path.join(tmp, "none.sock"), HARNESSSYNC_NO_SPAWN="1")
    r = subprocess.run([HSCTL, "--json", "lock", "sync", "--", "true"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 3 and r.stdout == "" and r.stderr.count("\n") == 1, r


def test_hsctl_json_lock_passes_owed_on(tmp):
    """A daemon that says owed (docs/PROTOCOL.md, lock.acquire): the object
    carries it. A scripted daemon: owed needs a covering caller that died."""
    import socket as sk
    import threading
    path = os.path.join(tmp, "fake.sock")
    listener = sk.socket(sk.AF_UNIX, sk.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)

    def serve():
        conn, _ = listener.accept()
        with conn, conn.makefile("rwb") as f:
            for line in f:
                msg = json.loads(line)
                result = {"lock.acquire": {"acquired": True, "coalesced": False, "holder_pid": 7, "owed": True},
                          "daemon.info": {"name": "harnesssyncd", "version": "0"}}.get(msg["method"], True)
                f.write((json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}) + "\n").encode())
                f.flush()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    env = dict(os.environ, HARNESSSYNC_SOCKET=path, HARNESSSYNC_NO_SPAWN="1")
    env.pop("HARNESSSYNC_HOME", None)
    r = subprocess.run([HSCTL, "--json", "lock", "sync", "--", "true"], capture_output=True, text=True, env=env,
                       timeout=60)
    listener.close()
    assert r.returncode == 0, r
    assert json.loads(r.stdout) == {"name": "sync", "acquired": True, "coalesced": False, "holder_pid": 7,
                                    "ran": True, "exit_status": 0, "owed": True}, r.stdout
