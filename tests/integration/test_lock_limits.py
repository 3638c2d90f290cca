"""The lock table's bounds and debts against the real daemon (issue 17):
the per-connection cap (-32001 with {"limit"}), a connection's close that
frees exactly what it held, the daemon's memory staying bounded, and
`owed` when a covering follow-up leaves without running."""
import os
import signal
import socket
import subprocess
import sys
import time

from test_lock import ME, acquire, locks, send_acquire, wait_until, waiting

# ASan keeps freed memory in quarantine (256 MB): RSS bounds mean nothing there.
SANITIZED = os.environ.get("HS_SANITIZED", "0") in ("1", "ON", "TRUE", "true")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def pipeline_acquires(c, names, base_id=1000):
    """Sends one lock.acquire per name at once and reads every answer, by id."""
    out = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"lock.acquire","params":{"name":"%s"}}\n'
                   % (base_id + i, n.encode()) for i, n in enumerate(names))
    c.sock.sendall(out)
    answers = {}
    while len(answers) < len(names):
        r = c.read_line()
        answers[r["id"]] = r
    return [answers[base_id + i] for i in range(len(names))]


def test_a_connection_past_its_lock_cap_gets_the_limit_error(start):
    d = start("--max-locks", "8")
    c = d.client()
    got = pipeline_acquires(c, ["n%d" % i for i in range(10)])
    assert all(r["result"]["acquired"] for r in got[:8]), got
    for r in got[8:]:
        assert r["error"]["code"] == -32001, r
        assert r["error"]["data"] == {"limit": 8}, r
    # Waiting counts too: another connection's name, waited for.
    other = d.client()
    acquire(other, "theirs")
    resp = c.request("lock.acquire", {"name": "theirs", "wait_ms": 60000})
    assert resp["error"]["code"] == -32001
    # The connection stays usable: a release makes room again.
    assert c.call("lock.release", {"name": "n0"}) is True
    assert acquire(c, "n9")["acquired"]
    assert d.client().call("daemon.info")["locks"] == {"held": 9, "waiting": 0}
    # Other connections are not limited by it.
    assert acquire(d.client(), "elsewhere")["acquired"]


def test_one_connection_grabbing_names_without_end_cannot_grow_the_daemon(start):
    """Issue 17 item 7: 2 million names took 1.4 GB. Past the cap every
    acquire is refused, so the table, and the daemon, stay small."""
    d = start()
    c = d.client(timeout=120)
    base = rss_kib(d.proc.pid)
    refused = 0
    for batch in range(20):
        got = pipeline_acquires(c, ["g%d-%d" % (batch, i) for i in range(5000)], base_id=batch * 10000)
        refused += sum(1 for r in got if "error" in r)
    assert refused == 20 * 5000 - 1024
    grown = rss_kib(d.proc.pid) - base
    if not SANITIZED:
        assert grown < 64 * 1024, "the daemon grew by %d KiB" % grown
    assert len(locks(d)) == 1024
    # Closing it frees them all at once.
    c.close()
    wait_until(lambda: d.client().call("daemon.info")["locks"] == {"held": 0, "waiting": 0})
    assert locks(d) == {}


def test_a_covering_follow_up_that_times_out_leaves_the_lock_owed(daemon):
    holder = daemon.client()
    acquire(holder, "sync")
    follow = daemon.client()
    send_acquire(follow, "sync", wait_ms=400, coalesce=True)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    covered = daemon.client()
    assert acquire(covered, "sync", wait_ms=60000, coalesce=True)["coalesced"] is True
    assert follow.read_line()["result"] == {"acquired": False, "coalesced": False, "holder_pid": ME, "owed": False}
    entry = locks(daemon)["sync"]
    assert entry["owed"] is True
    # The next caller granted it is told so, once.
    nxt = daemon.client()
    send_acquire(nxt, "sync", wait_ms=60000)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    holder.call("lock.release", {"name": "sync"})
    assert nxt.read_line()["result"] == {"acquired": True, "coalesced": False, "holder_pid": ME, "owed": True}
    assert locks(daemon)["sync"]["owed"] is False
    assert nxt.call("lock.release", {"name": "sync"}) is True
    assert locks(daemon) == {}


def test_a_covering_follow_up_that_is_killed_leaves_a_debt_that_outlives_the_holder(daemon, tmp):
    holder = daemon.client()
    acquire(holder, "sync")
    # The follow-up is another process, killed while it waits.
    script = ("import socket,sys,time\n"
              "s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
              "s.sendall(b'{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"lock.acquire\","
              "\"params\":{\"name\":\"sync\",\"wait_ms\":600000,\"coalesce\":true}}\\n')\n"
              "time.sleep(600)\n")
    p = subprocess.Popen([sys.executable, "-c", script, daemon.socket])
    try:
        wait_until(lambda: waiting(daemon, "sync") == 1)
        assert acquire(daemon.client(), "sync", wait_ms=60000, coalesce=True)["coalesced"] is True
        p.send_signal(signal.SIGKILL)
        p.wait()
        wait_until(lambda: locks(daemon)["sync"]["owed"], what="the debt")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    holder.close()
    # Free, but owed: shown until someone takes it.
    wait_until(lambda: locks(daemon)["sync"]["holder_pid"] is None)
    entry = locks(daemon)["sync"]
    assert entry["owed"] is True and entry["waiting"] == 0
    assert daemon.client().call("daemon.info")["locks"] == {"held": 0, "waiting": 0}
    assert acquire(daemon.client(), "sync") == {"acquired": True, "coalesced": False, "holder_pid": ME, "owed": True}


def test_hsctl_locks_and_lock_list_say_owed(daemon):
    holder = daemon.client()
    acquire(holder, "sync")
    follow = daemon.client()
    send_acquire(follow, "sync", wait_ms=300, coalesce=True)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    acquire(daemon.client(), "sync", wait_ms=60000, coalesce=True)
    follow.read_line()
    listed = daemon.client().call("lock.list")
    assert [(l["name"], l["owed"]) for l in listed] == [("sync", True)]
    from test_lock import hsctl
    holder.close()
    wait_until(lambda: locks(daemon)["sync"]["holder_pid"] is None)
    r = hsctl(daemon, "locks")
    assert r.returncode == 0, r
    assert r.stdout.splitlines()[1].split() == ["sync", "-", "0.0s", "0", "yes"], r.stdout
