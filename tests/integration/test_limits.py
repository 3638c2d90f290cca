"""Each limit is answered as documented while everyone else is still served."""
import json
import os
import socket
import threading
import time

from conftest import Client

SANITIZED = os.environ.get("HS_SANITIZED", "0") in ("1", "ON", "TRUE", "true")


def test_message_too_large_ndjson(start):
    d = start("--max-message-bytes", "1024")
    other = d.client()
    c = d.client()
    c.send_raw(b'{"jsonrpc": "2.0", "id": 1, "method": "daemon.ping", "params": {"pad": "' + b"x" * 2000)
    resp = c.read_line()
    assert resp["error"]["code"] == -32001 and resp["error"]["data"] == {"limit": 1024} and resp["id"] is None
    assert c.is_closed()
    assert other.call("daemon.ping") == "pong"
    # Just under the limit is fine.
    ok = d.client()
    msg = {"jsonrpc": "2.0", "id": 1, "method": "daemon.ping", "params": {}}
    assert len(json.dumps(msg)) < 1024
    assert ok.request("daemon.ping")["result"] == "pong"


def test_message_too_large_lsp_refused_before_the_body(start):
    d = start("--max-message-bytes", "1024")
    c = d.client()
    c.send_raw(b"Content-Length: 999999999\r\n\r\n")  # no body sent at all
    resp = c.read_lsp()
    assert resp["error"]["code"] == -32001 and resp["error"]["data"]["limit"] == 1024
    assert c.is_closed()
    assert d.client().call("daemon.ping") == "pong"


def test_max_connections(start):
    d = start("--max-connections", "4")
    clients = [d.client() for _ in range(4)]
    for i, c in enumerate(clients):
        assert c.call("daemon.ping") == "pong"
        # Each holds something, so none is idle enough to make room
        # (test_idle_connections.py covers those that are).
        assert c.call("lock.acquire", {"name": "held-%d" % i})["acquired"] is True
    extra = d.client()
    assert extra.is_closed(), "the fifth connection must be closed at once"
    assert clients[0].call("daemon.ping") == "pong"
    clients[0].close()
    time.sleep(0.2)
    assert d.client().call("daemon.ping") == "pong"
    assert "refused a connection" in d.output()


def test_partial_message_timeout(start):
    d = start("--message-timeout-ms", "300")
    slow = d.client()
    slow.send_raw(b'{"jsonrpc": "2.0", "id": 1, "meth')
    idle = d.client()  # an idle connection (nothing started) is not timed out
    t0 = time.monotonic()
    assert d.client().call("daemon.ping") == "pong"
    assert slow.is_closed(wait=5)
    assert time.monotonic() - t0 >= 0.25
    assert idle.call("daemon.ping") == "pong"
    assert "not completed within 300 ms" in d.output()


def test_slow_but_progressing_messages_are_not_cut(start):
    d = start("--message-timeout-ms", "500")
    c = d.client()
    for i in range(3):
        msg = json.dumps({"jsonrpc": "2.0", "id": i, "method": "daemon.ping"}).encode() + b"\n"
        c.send_raw(msg[:10])
        time.sleep(0.3)
        c.send_raw(msg[10:])
        assert c.read_line()["id"] == i


def test_batch_limit(start):
    d = start("--max-batch", "3")
    c = d.client()
    ping = {"jsonrpc": "2.0", "method": "daemon.ping"}
    c.send([dict(ping, id=i) for i in range(4)])
    resp = c.read_line()
    assert isinstance(resp, dict) and resp["error"]["code"] == -32600 and resp["error"]["data"] == {"limit": 3}
    c.send([dict(ping, id=i) for i in range(3)])
    assert len(c.read_line()) == 3


def test_client_that_never_reads_is_closed_and_memory_stays_bounded(start):
    d = start("--max-output-bytes", "65536")
    hog = socket.socket(socket.AF_UNIX)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.connect(d.socket)
    req = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "daemon.info"}) + "\n").encode()
    hog.settimeout(10)
    closed = False
    try:
        for _ in range(200000):  # ~100 MB of answers if nobody stopped it
            hog.sendall(req * 64)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    assert closed, "the daemon must close a connection that never reads"
    assert "of output unread; closing it" in d.output()
    assert d.client().call("daemon.ping") == "pong"
    with open("/proc/%d/status" % d.proc.pid) as f:
        rss_kb = int(next(l for l in f if l.startswith("VmRSS")).split()[1])
    assert rss_kb < 64 * 1024


def test_one_slow_client_does_not_stall_the_others(start):
    d = start()
    stuck = d.client()
    stuck.send_raw(b'{"jsonrpc": "2.0", "id": 1, "method": "daemon.ping"')  # never finished
    results = []

    def worker():
        c = d.client()
        for _ in range(50):
            results.append(c.call("daemon.ping"))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == ["pong"] * 200


def test_pipelined_work_is_bounded_per_connection(start, tmp):
    """A client that pipelines big requests faster than they are answered:
    the daemon stops reading it instead of queueing without bound."""
    d = start()
    slow = os.path.join(tmp, "slow")
    with open(slow, "wb") as f:
        f.truncate(256 << 20)  # sparse: free on disk, but each hash of it takes a while
    paths = [slow] + [os.path.join(tmp, "missing-%d-" % i + "x" * 3900) for i in range(1000)]  # ~4 MB per request
    msg = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "hash.files", "params": {"paths": paths}}) + "\n").encode()
    hog = socket.socket(socket.AF_UNIX)
    hog.connect(d.socket)
    hog.settimeout(0.5)
    sent = 0
    try:
        for _ in range(150):
            hog.sendall(msg)
            sent += 1
    except (socket.timeout, BrokenPipeError, ConnectionResetError):
        pass  # the daemon stopped reading us (or closed us at the output cap)
    with open("/proc/%d/status" % d.proc.pid) as f:
        rss_mb = int(next(l for l in f if l.startswith("VmRSS")).split()[1]) // 1024
    assert rss_mb < 300, "RSS %d MB after %d pipelined 4 MB requests" % (rss_mb, sent)
    assert d.client().call("daemon.ping") == "pong"
    hog.close()


def test_distinct_document_versions_count_toward_the_output_cap(start):
    """A batch that alternates state.record and state.all holds a new version
    of the document per pair. Only the largest shared text goes uncounted:
    a client that never reads such a batch is closed at the cap, not left
    holding every version."""
    d = start("--max-output-bytes", str(2 << 20))
    c = d.client()
    hashes = {"/f/%04d" % i: "ab" * 32 for i in range(2000)}  # ~150 KB of document
    c.call("state.record", {"target": "big", "scope": "all", "file_hashes": hashes,
                            "synced": 1, "skipped": 0, "failed": 0})
    batch = []
    for i in range(60):  # 60 versions x ~150 KB = ~9 MB, past the 2 MiB cap
        batch.append({"jsonrpc": "2.0", "id": 2 * i, "method": "state.record",
                      "params": {"target": "t%d" % i, "scope": "all", "file_hashes": {},
                                 "synced": 1, "skipped": 0, "failed": 0}})
        batch.append({"jsonrpc": "2.0", "id": 2 * i + 1, "method": "state.all"})
    hog = socket.socket(socket.AF_UNIX)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.connect(d.socket)
    hog.sendall((json.dumps(batch) + "\n").encode())
    deadline = time.time() + 20
    while "of output unread; closing it" not in d.output() and time.time() < deadline:
        time.sleep(0.1)
    assert "of output unread; closing it" in d.output()
    hog.close()
    assert d.client().call("daemon.ping") == "pong"
    # Every change in the batch was applied and is durable all the same.
    assert d.client().call("state.target", {"target": "t59"}) is not None


def vmrss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(l for l in f if l.startswith("VmRSS")).split()[1])


def test_pipelined_notifications_are_paused_like_requests(start, tmp):
    """Issue 17, defect 6: notifications (no id) get no answer, so only the
    work they started can hold the client back. Each counts as pending until
    its work is done: the daemon stops reading a client that pipelines them
    without end, and its memory stays bounded."""
    d = start()
    f = os.path.join(tmp, "f")
    with open(f, "wb") as out:
        out.truncate(64 << 20)  # sparse; each hash of it takes a while
    note = (json.dumps({"jsonrpc": "2.0", "method": "hash.files", "params": {"paths": [f]}}) + "\n").encode()
    burst = note * 1000
    hog = socket.socket(socket.AF_UNIX)
    hog.connect(d.socket)
    hog.settimeout(1.0)
    sent = 0
    paused = False
    try:
        while sent < (96 << 20):
            hog.sendall(burst)
            sent += len(burst)
    except socket.timeout:
        paused = True  # the daemon stopped reading us
    rss_mb = vmrss_kb(d.proc.pid) // 1024
    assert paused, "the daemon read %d MB of pipelined notifications without pausing (RSS %d MB)" % (
        sent >> 20, rss_mb)
    if not SANITIZED:  # ASan keeps freed memory in quarantine: RSS means nothing there
        assert rss_mb < 64, "RSS %d MB after %d MB of pipelined notifications" % (rss_mb, sent >> 20)
    assert d.client().call("daemon.ping") == "pong"
    hog.close()


def take_locks(c, n, step=100):
    for start in range(0, n, step):
        c.sock.sendall(b"".join(
            b'{"jsonrpc":"2.0","id":%d,"method":"lock.acquire","params":{"name":"lock-%06d"}}\n' % (i, i)
            for i in range(start, min(n, start + step))))
        for _ in range(start, min(n, start + step)):
            assert c.read_line()["result"]["acquired"] is True


def test_an_owned_answer_past_the_output_cap_reaches_a_client_that_reads(start):
    """Issue 17, defect 10: lock.list is owned text, not the shared document;
    a client that reads gets it whole, however far past the cap."""
    d = start("--max-output-bytes", "65536", "--max-locks", "4096")
    holder = d.client()
    take_locks(holder, 4000)  # lock.list: ~500 KB, eight times the cap
    reader = d.client()
    listed = reader.call("lock.list")
    assert len(listed) == 4000
    assert reader.call("daemon.ping") == "pong"
    assert "of output unread; closing it" not in d.output()


def test_a_client_that_leaves_owned_answers_unread_is_still_closed_at_the_cap(start):
    d = start("--max-output-bytes", "65536", "--max-locks", "4096")
    holder = d.client()
    take_locks(holder, 4000)
    hog = socket.socket(socket.AF_UNIX)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.connect(d.socket)
    batch = [{"jsonrpc": "2.0", "id": i, "method": "lock.list"} for i in range(8)]  # ~4 MB, never read
    hog.sendall((json.dumps(batch) + "\n").encode())
    deadline = time.time() + 20
    while "of output unread; closing it" not in d.output() and time.time() < deadline:
        time.sleep(0.05)
    assert "of output unread; closing it" in d.output()
    assert holder.call("daemon.ping") == "pong"
