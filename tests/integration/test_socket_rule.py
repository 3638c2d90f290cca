"""The socket rule of docs/PROTOCOL.md ("Find the socket") end to end, with
the real hsctl and harnesssyncd: the private runtime dir when
XDG_RUNTIME_DIR is unset, one socket per state dir (only the passwd
home's ~/.harnesssync unhashed), 0755 state dirs accepted and unsafe ones
refused, the state dir check of clients, and one table of cases run
against hsctl (C++) and the Python client's harnesssync.paths."""
import hashlib
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
# The one state dir with the unhashed socket name. The tests only compute
# names for it; they never start a daemon there.
PASSWD_HOME = pwd.getpwuid(os.getuid()).pw_dir
PASSWD_STATE = os.path.join(PASSWD_HOME, ".harnesssync")
PLAIN = "harnesssyncd.sock"


def hashed(state_dir):
    """The socket name of any other state dir, computed here on its own."""
    real = os.path.realpath(os.path.abspath(state_dir))
    return "harnesssyncd-%s.sock" % hashlib.sha256(real.encode()).hexdigest()[:16]


def merged(base, extra):
    """base updated with extra; a None value removes the variable."""
    env = dict(base, **(extra or {}))
    return {k: v for k, v in env.items() if v is not None}


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
        return subprocess.run([HSCTL, *args], capture_output=True, text=True, env=merged(self.env, env),
                              timeout=timeout)

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
        r = subprocess.run(args, capture_output=True, text=True, env=merged(self.env, env), timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def python(self, code, env=None):
        """Runs `code` with this package; its stdout."""
        r = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r)\n%s" % (PKG_DIR, code)],
                           capture_output=True, text=True, timeout=120,
                           env=merged(dict(self.env, HARNESSSYNC_DAEMON=DAEMON), env))
        assert r.returncode == 0, r.stderr
        return r.stdout

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
    sock = os.path.join(world.runtime, "harnesssync", hashed(state))  # HOME is not the passwd home
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


def socket_name_cases(world):
    """(what, environment changes, state dir or None for the default, the
    socket name). World's HOME is not the passwd home."""
    home_state = os.path.join(world.home, ".harnesssync")
    named = os.path.join(world.tmp, "named")
    os.mkdir(os.path.join(world.tmp, "real"), 0o700)
    os.symlink(os.path.join(world.tmp, "real"), os.path.join(world.tmp, "sym"))
    os.symlink(PASSWD_STATE, os.path.join(world.tmp, "alias"))
    os.symlink(PASSWD_HOME, os.path.join(world.tmp, "home-link"))
    return [
        ("default, HOME elsewhere", {}, None, hashed(home_state)),
        ("default, HOME is the passwd home", {"HOME": PASSWD_HOME}, None, PLAIN),
        ("default, HOME is the passwd home and a slash", {"HOME": PASSWD_HOME + "/"}, None, PLAIN),
        ("default, HOME a symlink to the passwd home", {"HOME": os.path.join(world.tmp, "home-link")}, None,
         PLAIN),
        ("default, HOME unset", {"HOME": None}, None, PLAIN),
        ("HOME/.harnesssync named", {}, home_state, hashed(home_state)),
        ("HARNESSSYNC_HOME=HOME/.harnesssync", {"HARNESSSYNC_HOME": home_state}, None, hashed(home_state)),
        ("the passwd home's, named, HOME elsewhere", {}, PASSWD_STATE, PLAIN),
        ("the passwd home's, spelled //x/", {}, PASSWD_HOME + "//.harnesssync/", PLAIN),
        ("HARNESSSYNC_HOME=the passwd home's", {"HARNESSSYNC_HOME": PASSWD_STATE}, None, PLAIN),
        ("a symlink to the passwd home's", {}, os.path.join(world.tmp, "alias"), PLAIN),
        ("another dir", {}, named, hashed(named)),
        ("another dir and a slash", {}, named + "/", hashed(named)),
        ("under a symlink", {}, os.path.join(world.tmp, "sym", "sub"), hashed(os.path.join(world.tmp, "real", "sub"))),
        ("with ..", {}, os.path.join(world.tmp, "x", "..", "named"), hashed(named)),
        ("relative to the cwd", {}, "rel", hashed("rel")),
    ]


@pytest.mark.parametrize("xdg", [False, True])
def test_one_table_of_socket_names_for_hsctl_and_python(world, xdg):
    """Only the passwd entry's ~/.harnesssync has the unhashed name; every
    other state dir, $HOME's included when HOME is elsewhere, is hashed.
    hsctl (common/socket_path.cpp) and harnesssync.paths give the same
    answers, and both are the answer computed here."""
    run = os.path.join(world.tmp, "run")
    extra = {"XDG_RUNTIME_DIR": run + "/"} if xdg else {}
    base = os.path.join(run if xdg else world.runtime, "harnesssync")
    for what, env, state_dir, name in socket_name_cases(world):
        env = dict(extra, **env)
        args = ["--state-dir", state_dir] if state_dir is not None else []
        want = os.path.join(base, name)
        assert world.ok(*args, "socket-path", env=env).stdout.strip() == want, what
        assert world.python_socket_path(state_dir, env=env) == want, what
    # A TMPDIR spelled with a trailing slash.
    env = dict(extra, HARNESSSYNC_HOME=PASSWD_STATE, TMPDIR=world.tmpdir + "//")
    assert world.ok("socket-path", env=env).stdout.strip() == world.python_socket_path(None, env=env)


def test_two_homes_get_two_daemons(world):
    """Two processes whose HOMEs differ (HarnessSync's tests point HOME at a
    temp dir) have two default state dirs: two sockets, two daemons, each
    serving its own, for hsctl and Python alike."""
    home2 = os.path.join(world.tmp, "home2")
    os.mkdir(home2, 0o755)
    one = world.info()
    two = world.info(env={"HOME": home2})
    assert one["pid"] != two["pid"] and one["socket"] != two["socket"]
    assert one["state_file"] == os.path.join(world.home, ".harnesssync", "state.json")
    assert two["state_file"] == os.path.join(home2, ".harnesssync", "state.json")
    code = ("from harnesssync import StateManager\n"
            "sm = StateManager()\n"
            "print(sm._connected().info()['pid'])\n")
    assert int(world.python(code)) == one["pid"]
    assert int(world.python(code, env={"HOME": home2})) == two["pid"]
    # Stopping one, from its own HOME, leaves the other running.
    world.ok("shutdown", env={"HOME": home2})
    assert world.info()["pid"] == one["pid"]
    assert one["pid"] in world.daemon_pids() and two["pid"] not in world.daemon_pids()


def test_shutdown_never_stops_a_daemon_of_another_state_dir(world):
    """hsctl shutdown, like every command, checks that the daemon on the
    socket it derived serves the state dir it derived it from. Here one
    serving another state dir was started by hand on that socket."""
    sock = world.ok("socket-path").stdout.strip()
    other = os.path.join(world.tmp, "other")
    d = subprocess.Popen([DAEMON, "--state-dir", other, "--socket", sock], env=world.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while world.hsctl("--no-spawn", "--socket", sock, "ping").returncode != 0:
            assert d.poll() is None and time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.02)
        r = world.hsctl("shutdown")
        assert r.returncode == 6, (r.returncode, r.stderr)
        assert one_line(r) == "hsctl: harnesssyncd at %s serves %s/state.json, not %s/.harnesssync/state.json" % (
            sock, other, world.home)
        for cmd in (["record", "codex", "--scope", "all"], ["status"]):
            assert world.hsctl(*cmd).returncode == 6, cmd
        assert d.poll() is None  # still running
        assert not os.path.exists(os.path.join(other, "state.json"))  # nothing recorded
        # A socket named by hand, with no state dir named: whatever it serves.
        world.ok("--socket", sock, "shutdown")
        assert d.wait(30) == 0
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()


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
