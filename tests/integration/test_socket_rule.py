"""The socket rule of docs/PROTOCOL.md ("Find the socket") end to end, with
the real hsctl and harnesssyncd: the private runtime dir when
XDG_RUNTIME_DIR is unset, one socket per state dir, 0755 state dirs
accepted and unsafe ones refused, the state dir check of clients, and
agreement with the Python client's harnesssync.paths."""
import json
import os
import pwd
import signal
import subprocess
import sys
import time

import pytest

from conftest import DAEMON, harnesssyncd_pids

HSCTL = os.environ.get("HS_HSCTL", os.path.join(os.path.dirname(DAEMON), "hsctl"))
PKG_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "client", "python"))
UID = os.geteuid()


class World:
    """A user's environment in `tmp`: HOME, TMPDIR, no XDG_RUNTIME_DIR and
    no HARNESSSYNC_* variables (unless a test sets them)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.home = os.path.join(tmp, "home")
        self.tmpdir = os.path.join(tmp, "t")
        os.mkdir(self.home, 0o755)
        os.mkdir(self.tmpdir, 0o700)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("HARNESSSYNC_") and k != "XDG_RUNTIME_DIR"}
        self.env.update(HOME=self.home, TMPDIR=self.tmpdir)
        self.runtime = os.path.join(self.tmpdir, "harnesssync-%d" % UID)

    def hsctl(self, *args, env=None, timeout=60):
        e = dict(self.env, **(env or {}))
        return subprocess.run([HSCTL, *args], capture_output=True, text=True, env=e, timeout=timeout)

    def ok(self, *args, **kw):
        r = self.hsctl(*args, **kw)
        assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
        return r

    def info(self, *args, **kw):
        return json.loads(self.ok(*args, "--json", "info", **kw).stdout)

    def python_socket_path(self, state_dir=None, env=None):
        code = ("import sys; sys.path.insert(0, sys.argv[1]); from harnesssync import paths; "
                "print(paths.socket_path(sys.argv[2] if len(sys.argv) > 2 else None))")
        args = [sys.executable, "-c", code, PKG_DIR] + ([state_dir] if state_dir is not None else [])
        r = subprocess.run(args, capture_output=True, text=True, env=dict(self.env, **(env or {})), timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def daemon_pids(self):
        """Daemons serving a state dir under tmp: only ones this test started."""
        return harnesssyncd_pids(lambda argv: any(a.startswith(self.tmp.encode()) for a in argv))

    def stop_all(self):
        for pid in self.daemon_pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while self.daemon_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in self.daemon_pids():
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def world(tmp):
    w = World(tmp)
    yield w
    w.stop_all()


def one_line(r, prefix="hsctl: "):
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), r.stderr
    return lines[0]


def test_a_fresh_0755_harnesssync_dir_works_without_xdg_runtime_dir(world):
    """HarnessSync made ~/.harnesssync 0755; XDG_RUNTIME_DIR is unset (macOS,
    cron, containers, ssh): a new user's first hsctl works, and leaves the
    state dir as it was."""
    state = os.path.join(world.home, ".harnesssync")
    os.mkdir(state)
    os.chmod(state, 0o755)
    world.ok("ping")
    assert oct(os.stat(state).st_mode & 0o7777) == oct(0o755)
    sock = os.path.join(world.runtime, "harnesssync", "harnesssyncd.sock")
    assert world.ok("socket-path").stdout.strip() == sock
    info = world.info()
    assert info["socket"] == sock and info["state_file"] == os.path.join(state, "state.json")
    assert os.stat(world.runtime).st_mode & 0o7777 == 0o700
    assert os.stat(os.path.dirname(sock)).st_mode & 0o7777 == 0o700
    # Nothing of the socket's lands in the state dir any more.
    assert not [n for n in os.listdir(state) if n.endswith(".sock")]
    world.ok("record", "codex", "--scope", "all")
    assert world.info()["pid"] == info["pid"]


def test_the_private_runtime_dir_is_made_0700(world):
    old = os.umask(0)  # a permissive umask must not leak into it
    try:
        world.ok("socket-path")
    finally:
        os.umask(old)
    st = os.lstat(world.runtime)
    assert st.st_uid == UID and st.st_mode & 0o7777 == 0o700


@pytest.mark.parametrize("mode", [0o755, 0o711, 0o770, 0o1777])
def test_a_runtime_dir_with_another_mode_is_refused(world, mode):
    os.mkdir(world.runtime)
    os.chmod(world.runtime, mode)
    r = world.hsctl("socket-path")
    assert r.returncode == 3
    line = one_line(r)
    assert world.runtime in line and "mode %04o" % mode in line and "must be 0700" in line
    r = world.hsctl("ping")
    assert r.returncode == 3 and world.runtime in one_line(r)
    # The daemon refuses it too, with exit 77, and leaves it alone.
    d = subprocess.run([DAEMON, "--state-dir", os.path.join(world.tmp, "s")], capture_output=True, text=True,
                       env=world.env, timeout=60)
    assert d.returncode == 77, d.stderr
    assert world.runtime in d.stderr and "mode %04o" % mode in d.stderr
    assert os.stat(world.runtime).st_mode & 0o7777 == mode


def test_a_runtime_dir_that_is_a_symlink_or_file_is_refused(world):
    os.mkdir(os.path.join(world.tmp, "elsewhere"), 0o700)
    os.symlink(os.path.join(world.tmp, "elsewhere"), world.runtime)
    r = world.hsctl("socket-path")
    assert r.returncode == 3 and "not a directory" in one_line(r)
    os.unlink(world.runtime)
    with open(world.runtime, "w"):
        pass
    r = world.hsctl("socket-path")
    assert r.returncode == 3 and "not a directory" in one_line(r)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to another user")
def test_a_runtime_dir_owned_by_another_user_is_refused(world):
    """Someone else made our runtime dir first (0700, theirs): refused, by
    hsctl and by the daemon, never used. As root we hand it to nobody;
    then the reverse: root's own dir, used by nobody."""
    nobody = pwd.getpwnam("nobody")
    os.mkdir(world.runtime, 0o700)
    os.chown(world.runtime, nobody.pw_uid, nobody.pw_gid)
    r = world.hsctl("socket-path")
    assert r.returncode == 3
    line = one_line(r)
    assert "owned by uid %d" % nobody.pw_uid in line and "owned by uid %d" % UID in line
    d = subprocess.run([DAEMON, "--state-dir", os.path.join(world.tmp, "s")], capture_output=True, text=True,
                       env=world.env, timeout=60)
    assert d.returncode == 77, d.stderr
    # The reverse: a dir of root's, where nobody's would be.
    theirs = os.path.join(world.tmpdir, "harnesssync-%d" % nobody.pw_uid)
    os.mkdir(theirs, 0o700)
    os.chmod(world.tmp, 0o755)
    os.chmod(world.tmpdir, 0o755)
    os.chmod(world.home, 0o777)
    r = subprocess.run(["setpriv", "--reuid", str(nobody.pw_uid), "--regid", str(nobody.pw_gid), "--clear-groups",
                        HSCTL, "socket-path"], capture_output=True, text=True, env=world.env, timeout=60)
    if r.returncode == 126 or "Permission denied" in r.stderr and HSCTL in r.stderr:
        pytest.skip("nobody cannot run %s here" % HSCTL)
    assert r.returncode == 3, r.stderr
    assert theirs in one_line(r) and "owned by uid 0" in r.stderr


@pytest.mark.parametrize("mode", [0o775, 0o757, 0o777])
def test_a_state_dir_others_can_write_is_refused(world, mode):
    state = os.path.join(world.tmp, "shared")
    os.mkdir(state)
    os.chmod(state, mode)
    # The socket elsewhere: the state dir itself is what is refused.
    sock = os.path.join(world.tmp, "s.sock")
    d = subprocess.run([DAEMON, "--state-dir", state, "--socket", sock], capture_output=True, text=True,
                       env=world.env, timeout=60)
    assert d.returncode == 77, d.stderr
    lines = d.stderr.strip().splitlines()
    assert len(lines) == 1, d.stderr
    assert state in lines[0] and "mode %04o" % mode in lines[0] and "owned by uid %d" % UID in lines[0]
    assert os.stat(state).st_mode & 0o7777 == mode  # left alone
    assert not os.path.exists(os.path.join(state, "state.json"))
    # hsctl, starting it, reports the daemon's reason.
    r = world.hsctl("--state-dir", state, "--socket", sock, "ping")
    assert r.returncode == 3 and state in one_line(r) and "mode %04o" % mode in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to another user")
def test_a_state_dir_of_another_user_is_refused(world):
    nobody = pwd.getpwnam("nobody")
    state = os.path.join(world.tmp, "theirs")
    os.mkdir(state, 0o755)
    os.chown(state, nobody.pw_uid, nobody.pw_gid)
    d = subprocess.run([DAEMON, "--state-dir", state, "--socket", os.path.join(world.tmp, "s.sock")],
                       capture_output=True, text=True, env=world.env, timeout=60)
    assert d.returncode == 77, d.stderr
    assert state in d.stderr and "owned by uid %d" % nobody.pw_uid in d.stderr


def test_two_state_dirs_get_two_daemons(world):
    a, b = os.path.join(world.tmp, "a"), os.path.join(world.tmp, "b")
    ia = world.info("--state-dir", a)
    ib = world.info("--state-dir", b)
    assert ia["pid"] != ib["pid"]
    assert ia["socket"] != ib["socket"]
    assert ia["state_file"] == os.path.join(a, "state.json") and ib["state_file"] == os.path.join(b, "state.json")
    for d, i in ((a, ia), (b, ib)):
        assert world.ok("--state-dir", d, "socket-path").stdout.strip() == i["socket"]
        assert os.path.basename(i["socket"]).startswith("harnesssyncd-")
    # Both live, each serving its own: a record in one is not in the other.
    world.ok("--state-dir", a, "record", "codex", "--scope", "all")
    assert world.info("--state-dir", a)["pid"] == ia["pid"]
    assert world.info("--state-dir", b)["pid"] == ib["pid"]
    sa = world.hsctl("--state-dir", a, "--json", "status", "codex")
    sb = world.hsctl("--state-dir", b, "--json", "status", "codex")
    assert json.loads(sa.stdout) != json.loads(sb.stdout)
    # HARNESSSYNC_HOME names a state dir the same way --state-dir does.
    assert world.info(env={"HARNESSSYNC_HOME": b})["pid"] == ib["pid"]


def test_a_client_that_names_a_state_dir_and_reaches_another_daemon_fails(world):
    a, b = os.path.join(world.tmp, "a"), os.path.join(world.tmp, "b")
    ia = world.info("--state-dir", a)
    before = world.ok("--state-dir", a, "--json", "status").stdout
    for how in (["--state-dir", b], ["--socket", ia["socket"], "--state-dir", b]):
        r = world.hsctl(*how, "info", env={"HARNESSSYNC_SOCKET": ia["socket"]})
        assert r.returncode == 6, (how, r.stderr)
        line = one_line(r)
        assert line == "hsctl: harnesssyncd at %s serves %s/state.json, not %s/state.json" % (ia["socket"], a, b)
    r = world.hsctl("info", env={"HARNESSSYNC_SOCKET": ia["socket"], "HARNESSSYNC_HOME": b})
    assert r.returncode == 6 and b in one_line(r)
    # Nothing was done to the wrong daemon's state, and b got no daemon.
    r = world.hsctl("--state-dir", b, "record", "codex", "--scope", "all",
                    env={"HARNESSSYNC_SOCKET": ia["socket"]})
    assert r.returncode == 6
    assert world.ok("--state-dir", a, "--json", "status").stdout == before
    assert not os.path.exists(os.path.join(b, "state.json"))
    # Naming no state dir checks nothing; naming the right one (by a symlink) passes.
    assert world.info(env={"HARNESSSYNC_SOCKET": ia["socket"]})["pid"] == ia["pid"]
    os.symlink(a, os.path.join(world.tmp, "link"))
    assert world.info("--state-dir", os.path.join(world.tmp, "link"),
                      env={"HARNESSSYNC_SOCKET": ia["socket"]})["pid"] == ia["pid"]


@pytest.mark.parametrize("xdg", [False, True])
def test_hsctl_socket_path_equals_pythons(world, xdg):
    extra = {"XDG_RUNTIME_DIR": os.path.join(world.tmp, "run") + "/"} if xdg else {}
    state = os.path.join(world.tmp, "named")
    os.mkdir(os.path.join(world.tmp, "real"), 0o700)
    os.symlink(os.path.join(world.tmp, "real"), os.path.join(world.tmp, "sym"))
    cases = [
        ([], None),                                            # the default state dir
        (["--state-dir", os.path.join(world.home, ".harnesssync")], os.path.join(world.home, ".harnesssync")),
        (["--state-dir", state], state),                       # a non-default one
        (["--state-dir", state + "/"], state + "/"),
        (["--state-dir", os.path.join(world.tmp, "sym", "sub")], os.path.join(world.tmp, "sym", "sub")),
        (["--state-dir", os.path.join(world.tmp, "x", "..", "named")], os.path.join(world.tmp, "x", "..", "named")),
        (["--state-dir", "rel"], "rel"),                       # relative to the cwd (the same for both)
    ]
    for args, named in cases:
        mine = world.ok(*args, "socket-path", env=extra).stdout.strip()
        assert mine == world.python_socket_path(named, env=extra), args
    assert world.ok("socket-path", env=extra).stdout.strip().endswith("/harnesssync/harnesssyncd.sock")
    # HARNESSSYNC_HOME, and a TMPDIR spelled with a trailing slash.
    env = dict(extra, HARNESSSYNC_HOME=state, TMPDIR=world.tmpdir + "//")
    assert world.ok("socket-path", env=env).stdout.strip() == world.python_socket_path(None, env=env)


def test_a_socket_path_longer_than_sun_path_is_a_clear_error(world):
    deep = os.path.join(world.tmp, "d" * 100)
    os.mkdir(deep, 0o700)
    env = {"XDG_RUNTIME_DIR": deep}
    r = world.hsctl("socket-path", env=env)
    assert r.returncode == 2
    assert "longer than the 107" in one_line(r)
    d = subprocess.run([DAEMON], capture_output=True, text=True, env=dict(world.env, **env), timeout=60)
    assert d.returncode == 64 and "longer than the 107" in d.stderr
    assert len(d.stderr.strip().splitlines()) == 1
