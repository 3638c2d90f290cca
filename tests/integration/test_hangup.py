"""Hang-up (PROTOCOL.md): a client that sends and closes at once has every
complete message it sent handled, whatever came before on the connection.
Each case is made deterministic by stopping the daemon (SIGSTOP) around the
client's sendall + close: the daemon finds the bytes and the hang-up
together, as a shell hook's daemon does under load."""
import contextlib
import fcntl
import json
import os
import signal
import socket
import struct
import termios
import time

from conftest import peer_pid, record_params

N = 200


@contextlib.contextmanager
def stopped(d):
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)


def line(obj):
    return (json.dumps(obj) + "\n").encode()


def records(prefix, n=N, requests=False):
    out = b""
    for i in range(n):
        msg = {"jsonrpc": "2.0", "method": "state.record", "params": record_params("%s%d" % (prefix, i))}
        if requests:
            msg["id"] = i + 1
        out += line(msg)
    return out


def applied(d, prefix, n=N, timeout=10.0):
    """How many of the `n` records named `prefix…` are in the state, waiting
    up to `timeout` s for all of them."""
    c = d.client()
    deadline = time.monotonic() + timeout
    while True:
        count = sum(1 for t in c.call("state.all")["targets"] if t.startswith(prefix))
        if count == n or time.monotonic() > deadline:
            c.close()
            return count
        time.sleep(0.05)


def connect(d):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(d.socket)
    return s


def send_and_hang_up(d, s, data):
    with stopped(d):
        s.sendall(data)
        s.close()


def ping(i=1):
    return line({"jsonrpc": "2.0", "id": i, "method": "daemon.ping"})


def test_notifications_alone_are_all_applied(daemon):
    s = connect(daemon)
    send_and_hang_up(daemon, s, records("alone"))
    assert applied(daemon, "alone") == N


def test_a_request_first_does_not_lose_what_follows(daemon):
    # The ping's answer meets a closed peer (EPIPE): that must end the
    # output, not the input.
    s = connect(daemon)
    send_and_hang_up(daemon, s, ping() + records("afterping"))
    assert applied(daemon, "afterping") == N


def test_a_bad_line_first_does_not_lose_what_follows(daemon):
    s = connect(daemon)
    send_and_hang_up(daemon, s, b"{this is not json}\n" + records("afterbad"))
    assert applied(daemon, "afterbad") == N


def test_requests_after_an_undeliverable_answer_are_applied_too(daemon):
    s = connect(daemon)
    send_and_hang_up(daemon, s, ping() + records("requests", requests=True))
    assert applied(daemon, "requests") == N


def test_an_answer_left_unread_does_not_lose_what_follows(daemon):
    # The client closes with the pong unread in its queue: Linux then gives
    # the daemon ECONNRESET after the data, not EOF.
    s = connect(daemon)
    s.sendall(ping())
    assert s.recv(1, socket.MSG_PEEK)  # the answer is there, unread
    send_and_hang_up(daemon, s, records("unread"))
    assert applied(daemon, "unread") == N


def big_state(d, mib=3):
    """Makes state.all about `mib` MiB: more than a socket buffer and the
    1 MiB output watermark, so a client that does not read pauses its
    connection."""
    c = d.client()
    per = 20000
    for k in range(mib * (1 << 20) // (per * 100) + 1):
        hashes = {"/big/%d/%06d" % (k, i): "%064x" % i for i in range(per)}
        c.call("state.record", record_params("big%d" % k, hashes))
    c.close()


def unread_by_daemon(s):
    """Bytes this client sent that the daemon has not read yet (SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]


def test_a_reader_that_once_paused_for_backpressure_loses_nothing(daemon):
    big_state(daemon)
    s = connect(daemon)
    s.sendall(line({"jsonrpc": "2.0", "id": 1, "method": "state.all"}))
    # The answer has started, and most of it waits in the daemon: this
    # client does not read yet.
    assert s.recv(1, socket.MSG_PEEK)
    s.sendall(ping(2))
    # Once the daemon has read the ping, it finds too much output unsent and
    # pauses reading this connection (watching for a hang-up meanwhile).
    deadline = time.monotonic() + 10
    while unread_by_daemon(s) != 0:
        assert time.monotonic() < deadline, "the daemon never read the ping"
        time.sleep(0.01)
    buf = b""
    while buf.count(b"\n") < 2:
        chunk = s.recv(1 << 20)
        assert chunk
        buf += chunk
    first, second = buf.split(b"\n")[:2]
    assert "targets" in json.loads(first)["result"] and json.loads(second)["result"] == "pong"
    send_and_hang_up(daemon, s, records("afterpause"))
    assert applied(daemon, "afterpause") == N


def test_a_lock_taken_after_the_hang_up_is_not_left_held(daemon):
    s = connect(daemon)
    acquire = line({"jsonrpc": "2.0", "id": 2, "method": "lock.acquire", "params": {"name": "hook"}})
    send_and_hang_up(daemon, s, ping() + records("lockhook", 20) + acquire)
    assert applied(daemon, "lockhook", 20) == 20
    other = daemon.client()
    got = other.call("lock.acquire", {"name": "hook", "wait_ms": 5000})
    assert got["acquired"] is True
    assert other.call("lock.list")[0]["holder_pid"] == peer_pid(os.getpid())


def test_a_subscription_made_after_the_hang_up_is_not_left_behind(daemon):
    s = connect(daemon)
    subscribe = line({"jsonrpc": "2.0", "id": 2, "method": "state.subscribe"})
    send_and_hang_up(daemon, s, ping() + subscribe + records("subhook", 20))
    assert applied(daemon, "subhook", 20) == 20
    c = daemon.client()
    deadline = time.monotonic() + 10
    while c.call("daemon.info")["subscriptions"]["count"] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert c.call("daemon.info")["subscriptions"]["count"] == 0


def test_a_lock_is_released_when_a_client_that_sent_a_bad_frame_is_killed(daemon, tmp):
    """Issue 17, defect 5: holding `a`, waiting for `b`, a framing error
    switches the connection to drain-and-close; the client is then killed.
    Its hang-up must still release `a`."""
    holder = daemon.client()
    assert holder.call("lock.acquire", {"name": "b"})["acquired"] is True
    victim = daemon.client()
    assert victim.call("lock.acquire", {"name": "a"})["acquired"] is True
    victim.send({"jsonrpc": "2.0", "id": 9, "method": "lock.acquire", "params": {"name": "b", "wait_ms": 600000}})
    waiting = daemon.client()
    deadline = time.monotonic() + 10
    while not any(l["name"] == "b" and l["waiting"] == 1 for l in waiting.call("lock.list")):
        assert time.monotonic() < deadline, "the wait for b never started"
        time.sleep(0.02)
    victim.send_raw(b"Content-Length: nonsense\r\n\r\n")  # cannot be resynchronised
    assert victim.read_lsp()["error"]["code"] == -32700
    victim.close()  # the process is killed: the kernel closes its socket
    got = waiting.call("lock.acquire", {"name": "a", "wait_ms": 5000})
    assert got["acquired"] is True, got
    assert all(l["waiting"] == 0 for l in waiting.call("lock.list") if l["name"] == "b")
