"""The process: single instance, sockets, permissions, exit codes, signals,
peers of another uid."""
import ctypes
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import DAEMON, Client, record_params

ROOT = os.geteuid() == 0
NOBODY = 65534


def run_daemon(*args, env=None, preexec=None, timeout=20):
    full_env = dict(os.environ)
    full_env.pop("HARNESSSYNC_SOCKET", None)
    full_env.update(env or {})
    return subprocess.run([DAEMON, *args], capture_output=True, text=True, timeout=timeout, env=full_env,
                          stdin=subprocess.DEVNULL, preexec_fn=preexec)


def test_help_and_version():
    r = run_daemon("--help")
    assert r.returncode == 0
    for word in ["--state-dir", "--socket", "--log-level", "--max-message-bytes", "--max-connections",
                 "--message-timeout-ms", "--max-batch", "--max-output-bytes", "Exit status", "75", "78"]:
        assert word in r.stdout
    r = run_daemon("--version")
    assert r.returncode == 0 and r.stdout.startswith("harnesssyncd ")
    for bad in (["--bogus"], ["--max-batch", "0"], ["--log-level", "loud"], ["--socket"]):
        r = run_daemon(*bad)
        assert r.returncode == 64, bad
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("harnesssyncd: "), r.stderr


def test_second_daemon_on_the_same_state_dir_exits_75_naming_the_pid(daemon, tmp):
    r = run_daemon("--state-dir", daemon.state_dir, "--socket", os.path.join(tmp, "other.sock"))
    assert r.returncode == 75
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "pid %d" % daemon.proc.pid in lines[0]
    assert daemon.client().call("daemon.ping") == "pong"


def test_second_daemon_on_a_live_socket_exits_75_and_leaves_it(daemon, tmp):
    r = run_daemon("--state-dir", os.path.join(tmp, "state2"), "--socket", daemon.socket)
    assert r.returncode == 75 and "pid %d) serves this socket" % daemon.proc.pid in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert os.path.exists(daemon.socket)
    assert daemon.client().call("daemon.ping") == "pong"


def test_daemons_on_other_state_dirs_racing_for_one_socket_leave_exactly_one(start, tmp):
    """The state dir lock cannot keep two daemons with different state dirs off
    one socket path: without <socket>.lock both probed the path, found nobody,
    and the second replaced the first one's live socket (9 races in 30)."""
    path = os.path.join(tmp, "run", "hs.sock")
    for n in range(30):
        pair = [start(state_dir=os.path.join(tmp, "s%d-%d" % (n, k)), socket_path=path, ready=False)
                for k in range(2)]
        deadline = time.monotonic() + 20
        while all(d.proc.poll() is None for d in pair) and time.monotonic() < deadline:
            time.sleep(0.005)
        losers = [d for d in pair if d.proc.poll() is not None]
        assert len(losers) == 1, "race %d: %s" % (n, [d.output()[-500:] for d in pair])
        loser = losers[0]
        winner = pair[1] if loser is pair[0] else pair[0]
        assert loser.proc.returncode == 75, loser.output()
        assert "pid %d" % winner.proc.pid in loser.output(), loser.output()
        winner.wait_ready()
        c = winner.client()
        assert c.call("daemon.info")["pid"] == winner.proc.pid
        c.close()
        winner.stop()
        assert not os.path.exists(path)
        assert os.stat(path + ".lock").st_mode & 0o777 == 0o600


def test_a_live_socket_whose_owner_holds_no_lock_is_left_alone(tmp):
    """A server that answers on the path without <socket>.lock (a daemon of an
    older version) is found by the probe, taken under the lock."""
    path = os.path.join(tmp, "run", "hs.sock")
    os.makedirs(os.path.dirname(path), mode=0o700)
    live = socket.socket(socket.AF_UNIX)
    live.bind(path)
    live.listen(8)
    r = run_daemon("--state-dir", os.path.join(tmp, "state"), "--socket", path)
    assert r.returncode == 75 and "already serving this socket" in r.stderr, r.stderr
    assert os.path.exists(path)
    live.close()


def test_stale_socket_is_replaced(start, tmp):
    path = os.path.join(tmp, "run", "hs.sock")
    os.makedirs(os.path.dirname(path), mode=0o700)
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(path)
    dead.close()  # the file stays; nobody listens
    d = start(socket_path=path)
    assert d.client().call("daemon.ping") == "pong"
    assert "removed stale socket" in d.output()


def test_a_non_socket_file_in_the_way_is_not_removed(tmp):
    os.makedirs(os.path.join(tmp, "run"), mode=0o700)
    path = os.path.join(tmp, "run", "hs.sock")
    with open(path, "w") as f:
        f.write("precious")
    r = run_daemon("--state-dir", os.path.join(tmp, "state"), "--socket", path)
    assert r.returncode == 71
    assert open(path).read() == "precious"


def test_socket_and_dirs_are_private(daemon):
    assert os.stat(daemon.socket).st_mode & 0o777 == 0o600
    # Bound under a temporary name and renamed into place: nothing else is left
    # but the socket's lock.
    assert sorted(os.listdir(os.path.dirname(daemon.socket))) == ["hs.sock", "hs.sock.lock"]
    assert os.stat(daemon.socket + ".lock").st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(daemon.socket)).st_mode & 0o777 == 0o700
    assert os.stat(daemon.state_dir).st_mode & 0o777 == 0o700
    daemon.client().call("state.record", record_params("codex"))
    assert os.stat(os.path.join(daemon.state_dir, "state.json")).st_mode & 0o777 == 0o600


def test_socket_dir_open_to_others_is_refused(tmp):
    d = os.path.join(tmp, "open")
    os.mkdir(d)
    os.chmod(d, 0o755)
    r = run_daemon("--state-dir", os.path.join(tmp, "state"), "--socket", os.path.join(d, "hs.sock"))
    assert r.returncode == 77
    assert "0755" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_socket_path_too_long(tmp):
    long_path = "/tmp/" + "x" * 120 + "/hs.sock"
    r = run_daemon("--state-dir", os.path.join(tmp, "state"), "--socket", long_path, timeout=5)
    assert r.returncode == 64
    assert "longer than the 107" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_socket_path_resolution_from_the_environment(tmp):
    state = os.path.join(tmp, "state")
    xdg = os.path.join(tmp, "xdg")
    os.mkdir(xdg, 0o700)
    env = {"XDG_RUNTIME_DIR": xdg}
    p = subprocess.Popen([DAEMON, "--state-dir", state], env=dict(os.environ, **env), stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    try:
        # A state dir other than ~/.harnesssync: a name of its own (docs/PROTOCOL.md).
        digest = hashlib.sha256(os.path.realpath(state).encode()).hexdigest()[:16]
        path = os.path.join(xdg, "harnesssync", "harnesssyncd-%s.sock" % digest)
        for _ in range(200):
            if os.path.exists(path):
                break
            time.sleep(0.02)
        assert Client(path).call("daemon.info")["socket"] == path
    finally:
        p.terminate()
        assert p.wait(10) == 0
    env = {"HARNESSSYNC_SOCKET": os.path.join(tmp, "env.sock"), "XDG_RUNTIME_DIR": xdg}
    p = subprocess.Popen([DAEMON, "--state-dir", state], env=dict(os.environ, **env), stdin=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(env["HARNESSSYNC_SOCKET"]):
                break
            time.sleep(0.02)
        assert Client(env["HARNESSSYNC_SOCKET"]).call("daemon.ping") == "pong"
    finally:
        p.terminate()
        p.wait(10)


def test_state_version_3_exits_78_and_is_untouched(tmp):
    state = os.path.join(tmp, "state")
    os.mkdir(state, 0o700)
    text = '{"version": 3, "targets": {}}'
    with open(os.path.join(state, "state.json"), "w") as f:
        f.write(text)
    r = run_daemon("--state-dir", state, "--socket", os.path.join(tmp, "s.sock"))
    assert r.returncode == 78
    assert "version 3" in r.stderr and "state.json" in r.stderr
    assert open(os.path.join(state, "state.json")).read() == text


def drop_to_nobody():
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def test_state_dir_not_writable_exits_73(tmp):
    state = os.path.join(tmp, "ro")
    os.mkdir(state, 0o500)
    sock_dir = os.path.join(tmp, "sockdir")
    os.mkdir(sock_dir, 0o700)
    preexec = None
    if ROOT:
        # Root writes anywhere: run the daemon as an unprivileged user, for
        # whom this root-owned 0500 dir is really read-only.
        os.chmod(tmp, 0o711)
        os.chown(sock_dir, NOBODY, NOBODY)
        os.chown(state, NOBODY, NOBODY)  # theirs (another owner is refused, 77), but 0500
        preexec = drop_to_nobody
    r = run_daemon("--state-dir", state, "--socket", os.path.join(sock_dir, "s.sock"), preexec=preexec)
    assert r.returncode == 73, r.stderr
    assert "harnesssyncd.lock" in r.stderr and "Permission denied" in r.stderr


def test_sigterm_removes_our_socket_only(daemon):
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.wait() == 0
    assert not os.path.exists(daemon.socket)


def test_socket_replaced_by_someone_else_is_left_alone(daemon):
    os.unlink(daemon.socket)
    other = socket.socket(socket.AF_UNIX)
    other.bind(daemon.socket)
    daemon.proc.send_signal(signal.SIGINT)
    assert daemon.wait() == 0
    assert os.path.exists(daemon.socket)
    other.close()


def test_shutdown_method(daemon):
    c = daemon.client()
    assert c.call("daemon.shutdown") is True
    assert daemon.wait() == 0
    assert not os.path.exists(daemon.socket)


def test_requests_after_shutdown_get_32000(daemon):
    c = daemon.client()
    c.send([
        {"jsonrpc": "2.0", "id": 1, "method": "state.record", "params": record_params("before")},
        {"jsonrpc": "2.0", "id": 2, "method": "daemon.shutdown"},
        {"jsonrpc": "2.0", "id": 3, "method": "state.record", "params": record_params("after")},
    ])
    resp = {r["id"]: r for r in c.read_line()}
    assert resp[1]["result"]["target"] == "before"
    assert resp[2]["result"] is True
    assert resp[3]["error"]["code"] == -32000
    assert daemon.wait() == 0
    assert set(daemon.state()["targets"]) == {"before"}


def test_sigterm_during_a_burst_of_writes_loses_no_acknowledged_record(daemon):
    acked = []
    lock = threading.Lock()

    def writer(n):
        c = daemon.client()
        i = 0
        try:
            while True:
                resp = c.request("state.record", record_params("w%d" % n, synced=i))
                if "error" in resp:
                    assert resp["error"]["code"] == -32000
                    return
                with lock:
                    acked.append(("w%d" % n, i))
                i += 1
        except (EOFError, ConnectionResetError, BrokenPipeError):
            return

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    daemon.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(30)
    assert daemon.wait() == 0
    state = daemon.state()  # parses: valid JSON
    assert len(acked) > 0
    for target, i in acked:
        assert state["targets"][target]["items_synced"] >= i


def test_write_failure_is_error_1_and_nothing_is_lost(start):
    import resource

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    d = start(preexec=limit)
    c = d.client()
    c.call("state.record", record_params("small"))
    before = open(os.path.join(d.state_dir, "state.json"), "rb").read()
    big = {"/f/%d" % i: "a" * 64 for i in range(100)}
    resp = c.request("state.record", record_params("big", big))
    err = resp["error"]
    assert err["code"] == 1
    assert err["data"]["errno"] == 27  # EFBIG
    assert err["data"]["path"].startswith(os.path.join(d.state_dir, "state.json.harnesssyncd-new."))
    assert err["data"]["reason"]
    assert open(os.path.join(d.state_dir, "state.json"), "rb").read() == before
    assert c.call("state.target", {"target": "big"}) is None  # memory rolled back
    assert sorted(os.listdir(d.state_dir)) == ["harnesssyncd.lock", "state.json"]
    assert c.call("state.record", record_params("next"))["target"] == "next"  # and it goes on
    assert set(d.state()["targets"]) == {"small", "next"}


def test_kill_9_then_restart_keeps_every_acknowledged_record(start, tmp):
    d = start()
    c = d.client()
    for i in range(50):
        c.call("state.record", record_params("t%d" % i, synced=i))
    d.proc.kill()
    d.proc.wait()
    d2 = start()  # same state dir and socket: the stale socket is replaced
    assert len(d2.client().call("state.all")["targets"]) == 50


@pytest.mark.skipif(not ROOT, reason="needs root to act as another uid")
def test_peer_of_another_uid_is_refused_before_reading(daemon):
    """A child switches its effective uid to nobody and connects. It keeps
    fsuid 0 (allowed: it equals the real uid) so that it can reach the 0700
    socket dir; SO_PEERCRED reports the effective uid, which is foreign."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            os.setegid(NOBODY)
            os.seteuid(NOBODY)
            libc.setfsuid(0)
            libc.setfsgid(0)
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(daemon.socket)
            try:
                s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"daemon.ping"}\n')
                data = s.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            os.write(w, b"closed" if data == b"" else b"answered:" + data)
            code = 0
        except Exception as e:  # reported to the parent below
            os.write(w, ("error: %r" % e).encode())
        os._exit(code)
    os.close(w)
    out = os.read(r, 4096)
    os.waitpid(pid, 0)
    assert out == b"closed"
    assert "refused a connection from uid %d" % NOBODY in daemon.output()
    assert daemon.client().call("daemon.ping") == "pong"


def sparse_file(path, size=1 << 30):
    """A big file that costs nothing on disk but takes a while to hash."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def test_shutdown_does_not_wait_for_an_accept_still_hashing(daemon, tmp):
    """Hashing is cancelled at shutdown (tests/integration/test_hashing.py):
    an accept still hashing when SIGTERM arrives is not applied, and the
    daemon exits without reading the rest of the file."""
    big = sparse_file(os.path.join(tmp, "big"), 1 << 40)
    c = daemon.client()
    c.call("state.record", record_params("codex", {big: "a" * 64}))
    c.send({"jsonrpc": "2.0", "method": "state.accept", "params": {"target": "codex", "paths": [big]}})
    c.close()
    time.sleep(0.05)
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.wait(60) == 0
    assert daemon.state()["targets"]["codex"]["file_hashes"][big] == "a" * 64


def test_shutdown_answers_work_in_progress_on_the_pool(daemon, tmp):
    big = sparse_file(os.path.join(tmp, "big"))
    c = daemon.client(timeout=60)
    c.send([{"jsonrpc": "2.0", "id": 1, "method": "hash.files", "params": {"paths": [big]}},
            {"jsonrpc": "2.0", "id": 2, "method": "daemon.shutdown"}])
    resp = {r["id"]: r for r in c.read_line()}
    # Answered, not dropped: hashing is cancelled at shutdown, so -32000.
    assert resp[1]["error"]["code"] == -32000
    assert resp[2]["result"] is True
    assert daemon.wait(60) == 0


def test_a_passed_in_socket_without_a_path_is_a_usage_error_not_an_unsafe_dir(tmp):
    """A socket-activated daemon given an abstract socket reported it as
    'socket dir not 0700' with exit 77; it is its own error, exit 64."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\0hs-test-abstract-%d" % os.getpid())
    s.listen(1)
    env = dict(os.environ, LISTEN_FDS="1")
    env.pop("HARNESSSYNC_SOCKET", None)
    # The wrapper's pid is the daemon's once it execs it.
    wrapper = ("import os, sys; os.dup2(%d, 3); os.environ['LISTEN_PID'] = str(os.getpid()); "
               "os.execv(sys.argv[1], sys.argv[1:])" % s.fileno())
    r = subprocess.run([sys.executable, "-c", wrapper, DAEMON, "--state-dir", os.path.join(tmp, "state")],
                       capture_output=True, text=True, timeout=20, env=env, stdin=subprocess.DEVNULL,
                       pass_fds=(s.fileno(),))
    s.close()
    assert r.returncode == 64, r.stderr
    assert "not a Unix socket with a path" in r.stderr and "0700" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_worker_threads_start_with_their_first_job(daemon, tmp):
    """A daemon started for one call (hsctl's cold start) starts no hashing,
    watching or trigger thread it does not use: each starts with its first
    job (docs/PERFORMANCE.md, "hsctl cold start")."""
    def threads():
        return len(os.listdir("/proc/%d/task" % daemon.proc.pid))

    c = daemon.client()
    c.call("daemon.ping")
    idle = threads()
    path = os.path.join(tmp, "f")
    with open(path, "w") as f:
        f.write("x\n")
    assert c.call("hash.files", {"paths": [path]}) == {path: hashlib.sha256(b"x\n").hexdigest()}
    hashing = threads()
    assert hashing > idle, (idle, hashing)
    c.call("trigger.set", {"name": "t", "watch": [tmp], "command": ["/bin/true"]})
    assert threads() > hashing, hashing
    c.close()
