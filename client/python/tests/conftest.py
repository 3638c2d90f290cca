"""Fixtures for the Python client's tests: the real harnesssyncd (HS_DAEMON),
isolated environments under /tmp (socket paths must fit in 107 bytes), and
clean-up of every daemon a test started through autostart."""
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_DIR = os.path.dirname(HERE)
sys.path.insert(0, PKG_DIR)

DAEMON = os.path.abspath(os.environ.get("HS_DAEMON", os.path.join(PKG_DIR, "../../build/bin/harnesssyncd")))
# The portable build (-DHS_PORTABLE=ON) asks getpeereid(3) for a peer,
# which has no pid: lock holders' pids are unknown (None) there.
PORTABLE = os.environ.get("HS_PORTABLE") == "1"
MY_PEER_PID = None if PORTABLE else os.getpid()


def raw_call(path, method, params=None, timeout=10.0):
    """One request on a fresh connection, without the package under test."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        msg = {"jsonrpc": "2.0", "id": 1, "method": method}
        if params is not None:
            msg["params"] = params
        s.sendall((json.dumps(msg) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError("closed")
            buf += chunk
        return json.loads(buf.split(b"\n", 1)[0])
    finally:
        s.close()


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_daemon_at(path):
    """daemon.shutdown on `path`; SIGKILL when it is not gone within 10 s.
    Returns the daemon's pid, or None when nobody answered."""
    try:
        pid = raw_call(path, "daemon.info", timeout=5)["result"]["pid"]
    except (OSError, EOFError, KeyError, ValueError):
        return None
    try:
        raw_call(path, "daemon.shutdown", timeout=5)
    except (OSError, EOFError, ValueError):
        pass
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("harnesssyncd %d ignored daemon.shutdown for 10 s" % pid)
    return pid


def sanitizer_report(root):
    for log in glob.glob(os.path.join(root, "**", "harnesssyncd.log"), recursive=True):
        with open(log, errors="replace") as f:
            text = f.read()
        if "Sanitizer" in text or "runtime error" in text:
            return log + ":\n" + text[-4000:]
    return None


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="hs-py.", dir="/tmp")
    os.chmod(d, 0o700)
    try:
        yield d
    finally:
        for sock in glob.glob(os.path.join(d, "**", "*.sock"), recursive=True):
            stop_daemon_at(sock)
        report = sanitizer_report(d)
        shutil.rmtree(d, ignore_errors=True)
        assert report is None, report


@pytest.fixture
def env(tmp, monkeypatch):
    """An isolated user: HOME, XDG_RUNTIME_DIR and TMPDIR inside `tmp`, the
    daemon under test as HARNESSSYNC_DAEMON, layout 1 (today's daemon)."""
    home = os.path.join(tmp, "home")
    run = os.path.join(tmp, "run")
    os.mkdir(home, 0o700)
    os.mkdir(run, 0o700)
    for name in ("HARNESSSYNC_SOCKET", "HARNESSSYNC_HOME", "HARNESSSYNC_NO_SPAWN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", home)
    monkeypatch.setenv("XDG_RUNTIME_DIR", run)
    monkeypatch.setenv("TMPDIR", tmp)
    monkeypatch.setenv("HARNESSSYNC_DAEMON", DAEMON)
    monkeypatch.setenv("HARNESSSYNC_SCHEMA", "1")
    return {"tmp": tmp, "home": home, "run": run}


class Daemon:
    """A harnesssyncd we run ourselves (not through autostart)."""

    def __init__(self, state_dir, socket_path, args=()):
        self.state_dir = state_dir
        self.socket = socket_path
        self.log = tempfile.TemporaryFile(mode="w+")
        env = {k: v for k, v in os.environ.items() if k not in ("HARNESSSYNC_SOCKET", "HARNESSSYNC_HOME")}
        self.proc = subprocess.Popen([DAEMON, "--state-dir", state_dir, "--socket", socket_path, *args],
                                     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("daemon exited %s: %s" % (self.proc.returncode, self.output()))
            try:
                raw_call(socket_path, "daemon.ping")
                return
            except (OSError, EOFError):
                if time.monotonic() > deadline:
                    raise AssertionError("daemon not ready: " + self.output())
                time.sleep(0.02)

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)
        out = self.output()
        assert "Sanitizer" not in out and "runtime error" not in out, out[-4000:]


@pytest.fixture
def start(tmp):
    daemons = []

    def _start(state_dir=None, socket_path=None, args=()):
        d = Daemon(state_dir or os.path.join(tmp, "state"), socket_path or os.path.join(tmp, "d.sock"), args)
        daemons.append(d)
        return d

    yield _start
    for d in daemons:
        d.stop()


# -- tests of methods the daemon may not serve yet ---------------------------

_INFO = {}


def daemon_info():
    """daemon.info of the daemon under test (once per session)."""
    if not _INFO:
        d = tempfile.mkdtemp(prefix="hs-py-info.", dir="/tmp")
        os.chmod(d, 0o700)
        try:
            daemon = Daemon(os.path.join(d, "state"), os.path.join(d, "s.sock"))
            try:
                _INFO.update(raw_call(daemon.socket, "daemon.info")["result"])
            finally:
                daemon.stop()
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return _INFO


def pytest_configure(config):
    config.addinivalue_line("markers", "daemon_method(name, ...): skipped while daemon.info's methods lack a name")
    config.addinivalue_line("markers", "daemon_info(key): skipped while daemon.info has no such member")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("daemon_method"):
        missing = [m for m in mark.args if m not in daemon_info().get("methods", [])]
        if missing:
            pytest.skip("harnesssyncd does not serve %s yet" % ", ".join(missing))
    for mark in item.iter_markers("daemon_info"):
        for key in mark.args:
            if key not in daemon_info():
                pytest.skip("harnesssyncd's daemon.info has no %r yet" % key)
