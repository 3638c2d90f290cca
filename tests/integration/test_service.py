"""Service integration: the systemd units, socket activation, the notify
protocol (READY, STATUS, WATCHDOG, STOPPING), and the launchd plist."""
import os
import plistlib
import re
import shutil
import signal
import socket
import subprocess
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
