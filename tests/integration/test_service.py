"""Service integration: the systemd units, socket activation, the notify
protocol (READY, STATUS, WATCHDOG, STOPPING), and the launchd plist."""
import os
import plistlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import DAEMON, Client

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BUILD = os.environ.get("HS_BUILD_DIR", os.path.join(ROOT, "build"))
UNITS = os.path.join(BUILD, "systemd", "buildtree")


def verify_units(*paths):
    """systemd-analyze verify --user; warnings such as 'Unknown key' fail too."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: packaging/dev.sh installs systemd"
    with tempfile.TemporaryDirectory(prefix="hs-xdg.") as xdg:
        os.chmod(xdg, 0o700)
        r = subprocess.run([analyze, "verify", "--user", "--man=no", *paths], capture_output=True, text=True,
                           env=dict(os.environ, XDG_RUNTIME_DIR=xdg))
    out = r.stdout + r.stderr
    return r.returncode, out


def test_units_verify_cleanly():
    code, out = verify_units(os.path.join(UNITS, "harnesssyncd.service"), os.path.join(UNITS, "harnesssyncd.socket"))
    assert code == 0, out
    assert not re.search(r"Unknown (key|section|lvalue)|[Ww]arning|is not executable|[Ii]gnoring", out), out


def test_unit_verification_catches_an_unknown_key(tmp):
    """The check above can fail: a unit with a typo is caught."""
    with open(os.path.join(UNITS, "harnesssyncd.service")) as f:
        text = f.read().replace("Restart=on-failure", "Restart=on-failure\nRestartt=always")
    bad = os.path.join(tmp, "harnesssyncd.service")
    with open(bad, "w") as f:
        f.write(text)
    code, out = verify_units(bad)
    assert "Unknown key" in out or code != 0


def test_units_content():
    with open(os.path.join(UNITS, "harnesssyncd.service")) as f:
        service = f.read()
    for line in ["Type=notify", "Restart=on-failure", "WatchdogSec=", "NoNewPrivileges=yes",
                 "RestrictAddressFamilies=AF_UNIX", "LockPersonality=yes", "MemoryDenyWriteExecute=yes",
                 "SystemCallArchitectures=native", "UMask=0077", "ExecStart=" + os.path.realpath(os.path.dirname(DAEMON))]:
        assert line in service, line
    # The layout is the daemon's own rule (STATE.md "Layout 2"): no unit chooses it.
    assert "--schema" not in service and "HARNESSSYNC_SCHEMA" not in service
    with open(os.path.join(UNITS, "harnesssyncd.socket")) as f:
        sock = f.read()
    for line in ["ListenStream=%t/harnesssync/harnesssyncd.sock", "SocketMode=0600", "DirectoryMode=0700"]:
        assert line in sock, line


def test_socket_activation(tmp):
    activate = shutil.which("systemd-socket-activate")
    assert activate, "systemd-socket-activate is missing: packaging/dev.sh installs systemd"
    path = os.path.join(tmp, "act", "hs.sock")
    os.mkdir(os.path.dirname(path), 0o700)
    state = os.path.join(tmp, "state")
    log = open(os.path.join(tmp, "log"), "w+")
    # It binds the socket, and on the first connection execs the daemon with
    # LISTEN_FDS=1 (the same process: its pid is the daemon's).
    env = {k: v for k, v in os.environ.items() if k != "HARNESSSYNC_SCHEMA"}
    p = subprocess.Popen([activate, "-l", path, DAEMON, "--state-dir", state, "--log-level", "debug"],
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env)
    try:
        for _ in range(200):
            if os.path.exists(path):
                break
            time.sleep(0.02)
        c = Client(path)
        info = c.call("daemon.info")
        assert info["socket"] == path
        assert info["pid"] == p.pid
        assert info["schema"] == 2  # started as the unit starts it: the daemon's own layout rule
        c.call("state.record", {"target": "codex", "scope": "all", "file_hashes": {}, "synced": 1, "skipped": 0,
                                "failed": 0})
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
    log.seek(0)
    out = log.read()
    assert "socket-activated" in out, out
    # The socket belongs to the manager: the daemon leaves it in place.
    assert os.path.exists(path)


def test_notify_ready_status_watchdog_stopping(tmp):
    notify_path = os.path.join(tmp, "notify")
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    n.bind(notify_path)
    n.settimeout(10)
    sock = os.path.join(tmp, "hs.sock")
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="200000")
    p = subprocess.Popen([DAEMON, "--state-dir", os.path.join(tmp, "state"), "--socket", sock], env=env,
                         stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first = n.recv(4096).decode()
        assert first.startswith("READY=1\nSTATUS=serving "), first
        assert sock in first
        assert Client(sock).call("daemon.ping") == "pong"  # READY means it is listening
        beats = 0
        t0 = time.monotonic()
        while beats < 3 and time.monotonic() - t0 < 5:
            if n.recv(4096).decode() == "WATCHDOG=1":
                beats += 1
        assert beats == 3
        p.send_signal(signal.SIGTERM)
        msgs = []
        while True:
            m = n.recv(4096).decode()
            if m.startswith("STOPPING=1"):
                msgs.append(m)
                break
        assert msgs[0] == "STOPPING=1\nSTATUS=shutting down (SIGTERM)"
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()


def test_launchd_plist_lints():
    path = os.path.join(BUILD, "packaging", "com.harnesssync.harnesssyncd.plist")
    with open(path, "rb") as f:
        plist = plistlib.load(f)
    assert plist["Label"] == "com.harnesssync.harnesssyncd"
    assert len(plist["ProgramArguments"]) == 1 and plist["ProgramArguments"][0].endswith("/harnesssyncd")
    assert "HARNESSSYNC_SCHEMA" not in plist.get("EnvironmentVariables", {})  # the daemon's own rule
    listener = plist["Sockets"]["Listeners"]
    assert listener["SockPathMode"] == 0o600
    # Filled in from `hsctl socket-path` at install (README.md, "macOS").
    assert listener["SockPathName"] == "__SOCKET__"
    assert plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["RunAtLoad"] is True
    assert plist["StandardOutPath"].startswith("__HOME__/Library/Logs/")
    assert plist["StandardErrorPath"].startswith("__HOME__/Library/Logs/")


def run_activated(tmp, fd3, env_extra, args=()):
    """The daemon exec'd with `fd3` (a file object, or None) as fd 3 and
    LISTEN_PID naming it, as systemd passes a socket; its exit and stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("HARNESSSYNC_SOCKET", "LISTEN_FDNAMES")}
    env.update(env_extra)
    pass_fds = ()
    setup = ""
    if fd3 is not None:
        pass_fds = (fd3.fileno(),)
        setup = "os.dup2(%d, 3); " % fd3.fileno()
    # The wrapper's pid is the daemon's once it execs it.
    wrapper = ("import os, sys; " + setup + "os.environ.setdefault('LISTEN_PID', str(os.getpid())); "
               "os.execv(sys.argv[1], sys.argv[1:])")
    return subprocess.run([sys.executable, "-c", wrapper, DAEMON, "--state-dir", os.path.join(tmp, "state"), *args],
                          capture_output=True, text=True, timeout=20, env=env, stdin=subprocess.DEVNULL,
                          pass_fds=pass_fds)


def listening_socket(tmp, name="act.sock"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(os.path.join(tmp, name))
    s.listen(1)
    return s


@pytest.mark.parametrize("fds,why", [("2", "expected one socket, got 2"),
                                     ("1x", "\"1x\" is not a count of descriptors"),
                                     ("-1", "\"-1\" is not a count of descriptors")])
def test_socket_activation_refuses_what_it_cannot_use(tmp, fds, why):
    """LISTEN_FDS read by the daemon itself (no libsystemd): anything but one
    descriptor is a usage error (exit 64) that says what was wrong."""
    s = listening_socket(tmp)
    r = run_activated(tmp, s, {"LISTEN_FDS": fds})
    s.close()
    assert r.returncode == 64, r.stderr
    assert why in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("kind", ["file", "unlistened", "datagram"])
def test_socket_activation_refuses_fd3_that_is_not_a_listening_stream_socket(tmp, kind):
    if kind == "file":
        fd3 = open(os.path.join(tmp, "f"), "w")
    elif kind == "unlistened":
        fd3 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        fd3.bind(os.path.join(tmp, "u.sock"))
    else:
        fd3 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        fd3.bind(os.path.join(tmp, "d.sock"))
    r = run_activated(tmp, fd3, {"LISTEN_FDS": "1"})
    fd3.close()
    assert r.returncode == 64, r.stderr
    assert "fd 3 is not a listening Unix stream socket" in r.stderr, r.stderr


def test_socket_activation_for_another_pid_is_not_ours(tmp):
    """LISTEN_PID names the process the manager started; a daemon that
    inherited the variables through another exec ignores them and listens
    on its own socket."""
    s = listening_socket(tmp)
    sock = os.path.join(tmp, "own.sock")
    env = {k: v for k, v in os.environ.items() if k != "HARNESSSYNC_SOCKET"}
    env.update(LISTEN_FDS="1", LISTEN_PID="1", LISTEN_FDNAMES="x")
    p = subprocess.Popen([DAEMON, "--state-dir", os.path.join(tmp, "state"), "--socket", sock],
                         env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         pass_fds=(s.fileno(),))
    try:
        for _ in range(500):
            if os.path.exists(sock):
                break
            time.sleep(0.02)
        info = Client(sock).call("daemon.info")
        assert info["socket"] == sock
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
        s.close()
    assert "socket-activated" not in p.stderr.read().decode()


def notify_daemon(tmp, env_extra, address):
    """A daemon with NOTIFY_SOCKET=address and `env_extra`; its socket path."""
    sock = os.path.join(tmp, "hs.sock")
    env = dict(os.environ, NOTIFY_SOCKET=address, **env_extra)
    env.pop("HARNESSSYNC_SOCKET", None)
    p = subprocess.Popen([DAEMON, "--state-dir", os.path.join(tmp, "state"), "--socket", sock], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return p, sock


def test_notify_to_an_abstract_socket(tmp):
    """NOTIFY_SOCKET=@name is an abstract address (what systemd hands out
    for some units): READY arrives there."""
    name = "hs-notify-%d-%s" % (os.getpid(), os.path.basename(tmp))
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    n.bind("\0" + name)
    n.settimeout(10)
    p, sock = notify_daemon(tmp, {}, "@" + name)
    try:
        first = n.recv(4096).decode()
        assert first.startswith("READY=1\nSTATUS=serving "), first
        p.send_signal(signal.SIGTERM)
        assert n.recv(4096).decode() == "STOPPING=1\nSTATUS=shutting down (SIGTERM)"
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
        n.close()


@pytest.mark.parametrize("extra,warning", [({"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"}, None),
                                           ({"WATCHDOG_USEC": "2s"}, "WATCHDOG_USEC=2s is not a positive count"),
                                           ({"WATCHDOG_USEC": "0"}, "WATCHDOG_USEC=0 is not a positive count")])
def test_no_watchdog_unless_it_is_ours_and_well_formed(tmp, extra, warning):
    """WATCHDOG_PID naming another process, or a WATCHDOG_USEC that is not a
    positive count: no keep-alives (the daemon still says READY and
    STOPPING)."""
    notify_path = os.path.join(tmp, "notify")
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    n.bind(notify_path)
    n.settimeout(10)
    p, sock = notify_daemon(tmp, extra, notify_path)
    try:
        assert n.recv(4096).decode().startswith("READY=1\n")
        # Three keep-alive periods of quiet after READY (the daemon answers
        # in between, so it is running, not stalled).
        n.settimeout(0.1)
        for _ in range(3):
            assert Client(sock).call("daemon.ping") == "pong"
            with pytest.raises(socket.timeout):
                n.recv(4096)
        n.settimeout(10)
        p.send_signal(signal.SIGTERM)
        assert n.recv(4096).decode().startswith("STOPPING=1\n")
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
        n.close()
    err = p.stderr.read().decode()
    if warning:
        assert warning in err, err
    assert "watchdog: keep-alive" not in err, err


def test_the_daemon_does_not_load_libsystemd(daemon):
    """systemd's protocols are the daemon's own code: libsystemd (and the
    five libraries it brings) cost every start (docs/PERFORMANCE.md)."""
    with open("/proc/%d/maps" % daemon.proc.pid) as f:
        maps = f.read()
    assert "/libsystemd.so" not in maps
    libs = subprocess.run(["ldd", DAEMON], capture_output=True, text=True, check=True).stdout
    assert "libsystemd" not in libs, libs
