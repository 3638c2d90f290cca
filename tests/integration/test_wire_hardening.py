"""The wire under stock tools and hostile clients: end of input (socat,
nc -N, shutdown(SHUT_WR)), multi-line messages, params null, ids and
state members out of a double's range, big answers, a huge batch of
state.all, and clients that pipeline or never read."""
import json
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from conftest import record_params

HSCTL = os.environ.get("HS_HSCTL", os.path.join(os.path.dirname(__file__), "../../build/bin/hsctl"))
SANITIZED = os.environ.get("HS_SANITIZED", "0") in ("1", "ON", "TRUE", "true")


def req(id, method, params=None):
    m = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        m["params"] = params
    return m


def strict_loads(text):
    """json.loads that refuses Infinity and NaN, as every strict reader does."""
    def bad(token):
        raise ValueError("not JSON: " + token)
    return json.loads(text, parse_constant=bad)


def read_to_eof(sock, timeout=60):
    sock.settimeout(timeout)
    out = bytearray()
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return bytes(out)
        out += chunk


def lines(data):
    return [strict_loads(l) for l in data.split(b"\n") if l.strip()]


def hsctl(d, *args, timeout=60):
    env = dict(os.environ, HARNESSSYNC_HOME=d.state_dir, HARNESSSYNC_SOCKET=d.socket, HARNESSSYNC_NO_SPAWN="1")
    return subprocess.run([HSCTL, *args], capture_output=True, text=True, timeout=timeout, env=env)


def fill(d, targets, hashes_per_target=2):
    """`targets` recorded targets (~280 bytes each in state.json)."""
    c = d.client(timeout=120)
    for start in range(0, targets, 1024):
        batch = [req(i, "state.record", record_params(
            "t%05d" % i, {"/home/u/.config/agent/file-%d.md" % k: "%064x" % (i * 7 + k) for k in range(hashes_per_target)}))
            for i in range(start, min(targets, start + 1024))]
        c.send(batch)
        assert all("result" in r for r in c.read_line())
    c.close()
    return os.path.getsize(os.path.join(d.state_dir, "state.json"))


# ---- end of input -----------------------------------------------------------

def test_half_close_answers_a_record_python(daemon):
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.socket)
    s.sendall(json.dumps(req(1, "state.record", record_params("codex"))).encode())  # no newline
    s.shutdown(socket.SHUT_WR)
    got = lines(read_to_eof(s))
    assert len(got) == 1 and got[0]["result"]["target"] == "codex"


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed")
def test_half_close_socat_default(daemon):
    line = json.dumps(req(1, "state.record", record_params("codex"))) + "\n"
    r = subprocess.run(["socat", "-", "UNIX-CONNECT:" + daemon.socket], input=line.encode(), capture_output=True,
                       timeout=60)
    got = lines(r.stdout)
    assert len(got) == 1 and got[0]["result"]["target"] == "codex", r


@pytest.mark.skipif(shutil.which("nc") is None, reason="netcat-openbsd not installed")
def test_half_close_nc_N(daemon):
    data = (json.dumps(req(1, "state.record", record_params("claude"))) + "\n" +
            json.dumps(req(2, "state.all"))).encode()  # the last one without a newline
    r = subprocess.run(["nc", "-N", "-U", daemon.socket], input=data, capture_output=True, timeout=60)
    got = {m["id"]: m for m in lines(r.stdout)}
    assert got[1]["result"]["target"] == "claude", r
    assert "claude" in got[2]["result"]["targets"]


def test_half_close_large_answers_arrive_whole(daemon):
    size = fill(daemon, 2048)
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.socket)
    s.sendall(b"".join((json.dumps(req(i, "state.all")) + "\n").encode() for i in range(8)) +
              json.dumps([req(100, "state.all"), req(101, "state.record", record_params("x"))]).encode())
    s.shutdown(socket.SHUT_WR)
    got = lines(read_to_eof(s, timeout=120))
    assert len(got) == 9
    for m in got[:8]:
        assert len(m["result"]["targets"]) == 2048
    batch = {m["id"]: m for m in got[8]}
    assert len(batch[100]["result"]["targets"]) in (2048, 2049)
    assert batch[101]["result"]["target"] == "x"
    assert size > 500_000


def test_unfinished_message_at_end_of_input_is_a_parse_error(daemon):
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.socket)
    s.sendall(b'{"jsonrpc": "2.0", "id": 1, "method": "daemon.ping"}{"jsonrpc": "2.0", "id": 2,')
    s.shutdown(socket.SHUT_WR)
    got = lines(read_to_eof(s))
    assert got[0] == {"jsonrpc": "2.0", "id": 1, "result": "pong"}
    assert got[1]["error"]["code"] == -32700 and got[1]["id"] is None


# ---- stock clients ------------------------------------------------------------

def test_params_null_is_absent(daemon):
    c = daemon.client()
    assert c.request("daemon.ping", None) == {"jsonrpc": "2.0", "id": 1, "result": "pong"}
    c.send({"jsonrpc": "2.0", "id": 2, "method": "daemon.ping", "params": None})
    assert c.read_line() == {"jsonrpc": "2.0", "id": 2, "result": "pong"}


def test_pretty_printed_and_several_per_line(daemon):
    c = daemon.client()
    c.send_raw(json.dumps(req(1, "daemon.ping"), indent=2).encode() + b"\n" +
               json.dumps(req(2, "daemon.ping")).encode() + json.dumps([req(3, "daemon.ping")], indent=4).encode() +
               b"\n")
    assert c.read_line()["id"] == 1
    assert c.read_line()["id"] == 2
    assert c.read_line()[0]["id"] == 3


def test_invalid_json_gets_one_error_and_its_line_is_skipped(daemon):
    c = daemon.client()
    c.send_raw(b'{"jsonrpc": x} {"jsonrpc": "2.0", "id": 9, "method": "daemon.ping"}\n' +
               json.dumps(req(1, "daemon.ping")).encode() + b"\n")
    err = c.read_line()
    assert err["error"]["code"] == -32700 and err["id"] is None
    assert c.read_line() == {"jsonrpc": "2.0", "id": 1, "result": "pong"}


# ---- valid JSON out, whatever came in -----------------------------------------

def test_id_out_of_range_is_invalid_request_with_null_id(daemon):
    c = daemon.client()
    c.send_raw(b'{"jsonrpc": "2.0", "id": 1e400, "method": "daemon.ping"}\n')
    raw = b""
    while b"\n" not in raw:
        raw += c.sock.recv(65536)
    resp = strict_loads(raw.split(b"\n")[0])
    assert resp["id"] is None and resp["error"]["code"] == -32600


def test_state_member_out_of_range_stays_valid_json(start, tmp):
    state = os.path.join(tmp, "state")
    os.makedirs(state, mode=0o700)
    with open(os.path.join(state, "state.json"), "w") as f:
        f.write('{"version": 2, "targets": {}, "x_unknown": 1e400, "x_neg": [-1e400]}')
    d = start(state_dir=state)
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.socket)
    s.sendall((json.dumps(req(1, "state.all")) + "\n").encode())
    s.shutdown(socket.SHUT_WR)
    doc = lines(read_to_eof(s))[0]["result"]
    assert doc["x_unknown"] == float("inf") and doc["x_neg"] == [float("-inf")]
    r = hsctl(d, "status")
    assert r.returncode in (0, 1), r


# ---- big answers, huge batches, clients that never read ------------------------

def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(l for l in f if l.startswith("VmHWM")).split()[1])


class Pinger(threading.Thread):
    """Another client pinging all along; records every round trip."""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.c = d.client(timeout=60)
        self.stop = threading.Event()
        self.times = []
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                t0 = time.monotonic()
                assert self.c.call("daemon.ping") == "pong"
                self.times.append(time.monotonic() - t0)
                time.sleep(0.005)
        except Exception as e:  # reported by finish()
            self.error = e

    def finish(self):
        self.stop.set()
        self.join(60)
        assert self.error is None, self.error
        return self.times


def test_batch_of_1024_state_all_is_answered_whole_with_bounded_memory(daemon):
    size = fill(daemon, 2048, hashes_per_target=1)  # ~600 KB
    pinger = Pinger(daemon)
    pinger.start()
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.socket)
    s.sendall((json.dumps([req(i, "state.all") for i in range(1024)]) + "\n").encode())
    s.settimeout(300)
    # ~600 MB of answers: stream through them, counting the answers and
    # keeping only the start and the end to parse strictly.
    head = b'{"jsonrpc":"2.0","id":'
    first, tail, count, carry = bytearray(), b"", 0, b""
    while not tail.endswith(b"\n"):
        chunk = s.recv(1 << 22)
        assert chunk, "connection closed after %d answers" % count
        count += (carry + chunk).count(head)
        carry = (carry + chunk)[-(len(head) - 1):]
        if len(first) < (4 << 20):
            first += chunk
        tail = (tail + chunk)[-(4 << 20):]
    assert count == 1024
    assert first.startswith(b"[{") and tail.endswith(b"}]\n")
    second = first.index(b"," + head)
    last = tail.rindex(b"," + head)
    for text in (first[1:second], tail[last + 1:-2]):
        assert len(strict_loads(bytes(text))["result"]["targets"]) == 2048
    times = pinger.finish()
    assert len(times) > 0  # pings went through while the batch was being sent
    if not SANITIZED:
        assert vm_hwm_kb(daemon.proc.pid) * 1024 < 4 * size + (32 << 20)


def test_hsctl_status_reads_a_big_state(daemon):
    fill(daemon, 4096, hashes_per_target=8)
    r = hsctl(daemon, "--json", "status")
    assert r.returncode in (0, 1), r.stderr
    assert len(json.loads(r.stdout)["targets"]) == 4096


def test_pipelined_state_all_burst_and_non_readers_do_not_stall_others(daemon):
    fill(daemon, 1024)
    pinger = Pinger(daemon)
    pinger.start()
    burst = socket.socket(socket.AF_UNIX)
    burst.connect(daemon.socket)
    burst.sendall(b"".join((json.dumps(req(i, "state.all")) + "\n").encode() for i in range(200)))
    hogs = []
    for _ in range(8):
        h = socket.socket(socket.AF_UNIX)
        h.connect(daemon.socket)
        h.settimeout(2)
        try:
            for _ in range(50):
                h.sendall((json.dumps(req(1, "state.all")) + "\n").encode() * 20)
        except (socket.timeout, BrokenPipeError, ConnectionResetError):
            pass  # the daemon stopped reading it: backpressure
        hogs.append(h)
    got = 0
    burst.settimeout(120)
    while got < 200:
        chunk = burst.recv(1 << 22)
        assert chunk
        got += chunk.count(b"\n")
    times = pinger.finish()
    assert len(times) > 0
    assert daemon.client().call("daemon.ping") == "pong"
    for h in hogs:
        h.close()
