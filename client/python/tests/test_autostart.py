"""Autostart: the socket rule end to end, the spawn race, and start-up
failures reported with the daemon's own reason."""
import hashlib
import json
import os
import stat
import subprocess
import sys

import pytest

from conftest import DAEMON, PKG_DIR, raw_call
from harnesssync import Client, DaemonUnavailable, SpawnError, StateManager, WrongDaemon, paths


def test_first_use_starts_the_daemon_on_the_rule_socket(env):
    state = os.path.join(env["tmp"], "state")
    c = Client(state_dir=state)
    assert c.started_daemon
    assert c.socket_path == paths.socket_path(state)
    assert c.socket_path.startswith(env["run"] + "/harnesssync/harnesssyncd-")
    info = c.info()
    assert info["socket"] == c.socket_path and info["state_file"] == os.path.join(state, "state.json")
    # It outlives the client, and the next client finds it.
    c.close()
    c2 = Client(state_dir=state)
    assert not c2.started_daemon and c2.info()["pid"] == info["pid"]
    c2.close()
    assert os.path.exists(os.path.join(state, "harnesssyncd.log"))


RACER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from harnesssync import Client
c = Client(state_dir=sys.argv[2])
print(json.dumps({"pid": c.info()["pid"], "started": c.started_daemon}))
"""


def test_racing_starters_get_one_daemon(env):
    state = os.path.join(env["tmp"], "state")
    procs = [subprocess.Popen([sys.executable, "-c", RACER, PKG_DIR, state], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(8)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out))
    assert len({o["pid"] for o in outs}) == 1
    assert sum(o["started"] for o in outs) == 1


def test_a_daemon_start_up_failure_raises_the_daemons_reason(env):
    state = os.path.join(env["tmp"], "state")
    os.mkdir(state, 0o700)
    with open(os.path.join(state, "state.json"), "w") as f:
        json.dump({"version": 3, "targets": {}}, f)
    with pytest.raises(SpawnError) as e:
        Client(state_dir=state)
    msg = str(e.value)
    assert msg.startswith("harnesssyncd could not start: ") and "version" in msg and "3" in msg
    assert "\n" not in msg
    with pytest.raises(Exception, match="could not start"):
        StateManager(state)


def test_an_unusable_state_dir(env):
    blocker = os.path.join(env["tmp"], "file")
    open(blocker, "w").close()
    with pytest.raises(SpawnError, match="cannot create the state dir .*file/state"):
        Client(state_dir=os.path.join(blocker, "state"))


def test_a_missing_daemon_binary(env, monkeypatch):
    monkeypatch.setenv("HARNESSSYNC_DAEMON", os.path.join(env["tmp"], "no-such-harnesssyncd"))
    with pytest.raises(SpawnError, match="cannot run harnesssyncd: .*no-such-harnesssyncd"):
        Client(state_dir=os.path.join(env["tmp"], "state"))
    assert isinstance(SpawnError("x"), DaemonUnavailable)


def test_a_daemon_that_dies_without_a_word(env, monkeypatch):
    fake = os.path.join(env["tmp"], "fake-daemon")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho 'fake daemon: out of luck' >&2\nexit 3\n")
    os.chmod(fake, 0o755)
    monkeypatch.setenv("HARNESSSYNC_DAEMON", fake)
    with pytest.raises(SpawnError, match="exited during start-up: fake daemon: out of luck"):
        Client(state_dir=os.path.join(env["tmp"], "state"))


def test_harnesssync_made_0755_state_dir_without_xdg(env, monkeypatch):
    """A fresh ~/.harnesssync made 0755 by HarnessSync, XDG_RUNTIME_DIR unset:
    the socket goes to the private ${TMPDIR}/harnesssync-<uid>, and it works."""
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    state = os.path.join(env["home"], ".harnesssync")
    os.mkdir(state)
    os.chmod(state, 0o755)
    sm = StateManager()
    sm.record_sync("codex", "all", {"/a": "h"}, {}, 1, 0, 0)
    assert sm.get_target_status("codex")["status"] == "success"
    rd = os.path.join(env["tmp"], "harnesssync-%d" % os.geteuid())
    assert stat.S_IMODE(os.stat(rd).st_mode) == 0o700
    # HOME is not the passwd entry's home: its ~/.harnesssync has a hashed name.
    name = "harnesssyncd-%s.sock" % hashlib.sha256(os.path.realpath(state).encode()).hexdigest()[:16]
    info = raw_call(os.path.join(rd, "harnesssync", name), "daemon.info")["result"]
    assert info["state_file"] == os.path.join(state, "state.json")
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o755  # left as HarnessSync made it
    sm.close()


def test_two_state_dirs_get_two_daemons(env):
    a = StateManager(os.path.join(env["tmp"], "a"))
    b = StateManager(os.path.join(env["tmp"], "b"))
    a.record_sync("codex", "all", {}, {}, 1, 0, 0)
    assert b.get_target_status("codex") is None
    ia, ib = a._connected().info(), b._connected().info()
    assert ia["pid"] != ib["pid"] and ia["socket"] != ib["socket"]
    a.close()
    b.close()


def test_the_installed_daemon_path_is_used(env, monkeypatch, tmp):
    """No HARNESSSYNC_DAEMON and nothing on PATH: harnesssyncd is found on
    $PATH when there, else a clear error."""
    monkeypatch.delenv("HARNESSSYNC_DAEMON")
    monkeypatch.setenv("PATH", os.path.join(tmp, "empty-bin"))
    with pytest.raises(SpawnError, match="set HARNESSSYNC_DAEMON"):
        Client(state_dir=os.path.join(tmp, "s1"))
    bindir = os.path.join(tmp, "bin")
    os.mkdir(bindir)
    os.symlink(DAEMON, os.path.join(bindir, "harnesssyncd"))
    monkeypatch.setenv("PATH", bindir)
    Client(state_dir=os.path.join(tmp, "s2")).close()


HSCTL = os.environ.get("HS_HSCTL")


@pytest.mark.skipif(not HSCTL, reason="needs HS_HSCTL (run through ctest)")
@pytest.mark.parametrize("xdg", [True, False])
@pytest.mark.parametrize("which", ["default", "home", "flag"])
def test_python_and_hsctl_agree_on_the_socket(env, monkeypatch, xdg, which):
    if not xdg:
        monkeypatch.delenv("XDG_RUNTIME_DIR")
    state = os.path.join(env["tmp"], "named")
    args, named = [], None
    if which == "home":
        monkeypatch.setenv("HARNESSSYNC_HOME", state)
    elif which == "flag":
        args, named = ["--state-dir", state], state
    out = subprocess.run([HSCTL, *args, "socket-path"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    hsctl_path = out.stdout.strip()
    dir_used = named or os.environ.get("HARNESSSYNC_HOME") or os.path.join(env["home"], ".harnesssync")
    if hsctl_path == os.path.join(dir_used, "harnesssyncd.sock") or (
            xdg and hsctl_path == os.path.join(env["run"], "harnesssync", "harnesssyncd.sock")
            and which != "default"):
        pytest.skip("hsctl still uses the old socket rule")
    assert paths.socket_path(named) == hsctl_path


def test_state_manager_reaching_the_wrong_daemon(env, start, monkeypatch):
    d = start()
    monkeypatch.setenv("HARNESSSYNC_SOCKET", d.socket)
    with pytest.raises(Exception) as e:
        StateManager(os.path.join(env["tmp"], "mine"))
    assert type(e.value).__name__ == "StateError"
    assert "serves %s/state.json, not %s/mine/state.json" % (d.state_dir, env["tmp"]) in str(e.value)
    StateManager(d.state_dir).close()


@pytest.mark.skipif(not HSCTL, reason="needs HS_HSCTL (run through ctest)")
def test_hsctl_and_python_starters_share_the_spawn_lock(env, monkeypatch):
    """hsctl and the Python client take the same spawn lock: racing each
    other on one socket, they start one daemon between them."""
    state = os.path.join(env["tmp"], "state")
    sock = os.path.join(env["tmp"], "shared.sock")
    monkeypatch.setenv("HARNESSSYNC_SOCKET", sock)
    procs = []
    for i in range(8):
        if i % 2:
            cmd = [HSCTL, "--state-dir", state, "--json", "info"]
        else:
            cmd = [sys.executable, "-c", RACER, PKG_DIR, state]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    pids = set()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        pids.add(json.loads(out)["pid"])
    assert len(pids) == 1


def test_a_derived_socket_must_serve_the_default_state_dir(env, start):
    """No state dir named and no socket given: the socket is derived from
    ~/.harnesssync, so a daemon there that serves another state dir (started
    by hand with --socket) is refused, as hsctl refuses it; one chosen by
    hand is used for whatever it serves."""
    sock = paths.socket_path()
    os.makedirs(os.path.dirname(sock), 0o700, exist_ok=True)
    d = start(state_dir=os.path.join(env["tmp"], "other"), socket_path=sock)
    with pytest.raises(WrongDaemon, match="serves %s/state.json, not %s/.harnesssync/state.json"
                       % (d.state_dir, env["home"])):
        Client()
    with Client(sock) as c:
        assert c.info()["state_file"] == os.path.join(d.state_dir, "state.json")
