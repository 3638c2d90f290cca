"""The socket rule of docs/PROTOCOL.md ("Socket"), pure Python."""
import hashlib
import os
import pwd
import stat

import pytest

from harnesssync import ConfigError, paths


@pytest.fixture
def clean(tmp, monkeypatch):
    for name in ("HARNESSSYNC_SOCKET", "HARNESSSYNC_HOME", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    home = os.path.join(tmp, "home")
    os.mkdir(home)
    monkeypatch.setenv("HOME", home)
    monkeypatch.setenv("TMPDIR", tmp)
    return tmp


def short_hash(path):
    return hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:16]


PASSWD_STATE = os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".harnesssync")


def test_flag_then_env_then_rule(clean, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    assert paths.socket_path(socket="/x/flag.sock") == "/x/flag.sock"
    monkeypatch.setenv("HARNESSSYNC_SOCKET", "/x/env.sock")
    assert paths.socket_path(socket="/x/flag.sock") == "/x/flag.sock"
    assert paths.socket_path() == "/x/env.sock"
    monkeypatch.delenv("HARNESSSYNC_SOCKET")
    assert paths.socket_path() == "/run/user/7/harnesssync/harnesssyncd-%s.sock" % \
        short_hash(os.path.join(os.environ["HOME"], ".harnesssync"))
    assert paths.socket_path(PASSWD_STATE) == "/run/user/7/harnesssync/harnesssyncd.sock"


def test_only_the_passwd_homes_state_dir_gets_the_plain_name(clean, monkeypatch):
    """$HOME/.harnesssync is hashed unless $HOME is the passwd entry's home:
    a process that points HOME elsewhere (HarnessSync's own tests do) must
    not reach the user's daemon."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    home = os.environ["HOME"]
    assert paths.socket_name(os.path.join(home, ".harnesssync")) == \
        "harnesssyncd-%s.sock" % short_hash(os.path.join(home, ".harnesssync"))
    assert paths.socket_name(PASSWD_STATE) == "harnesssyncd.sock"
    assert paths.socket_name(PASSWD_STATE + "/") == "harnesssyncd.sock"
    monkeypatch.delenv("HOME")  # Path.home() then asks passwd too
    assert paths.socket_path() == "/run/user/7/harnesssync/harnesssyncd.sock"
    # A passwd entry that names no home, or none at all: every dir is hashed.
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: pwd.struct_passwd(("u", "x", uid, uid, "", "", "/bin/sh")))
    assert paths.passwd_home() is None
    assert paths.socket_name(PASSWD_STATE).startswith("harnesssyncd-")

    def no_entry(uid):
        raise KeyError("getpwuid(): uid not found: %d" % uid)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    assert paths.passwd_home() is None
    assert paths.socket_name(PASSWD_STATE) == "harnesssyncd-%s.sock" % short_hash(PASSWD_STATE)


def test_any_other_state_dir_gets_a_hash(clean, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    other = os.path.join(clean, "other")
    assert paths.socket_path(other) == "/run/user/7/harnesssync/harnesssyncd-%s.sock" % short_hash(other)
    # $HARNESSSYNC_HOME names a state dir; it is not the default one.
    monkeypatch.setenv("HARNESSSYNC_HOME", other)
    assert paths.resolve_state_dir() == paths.Path(other)
    assert paths.socket_path().endswith("harnesssyncd-%s.sock" % short_hash(other))
    assert len(paths.socket_path().rsplit("-", 1)[1]) == len("0123456789abcdef.sock")


def test_the_hash_is_of_the_real_absolute_path(clean, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    real = os.path.join(clean, "real")
    os.mkdir(real)
    link = os.path.join(clean, "link")
    os.symlink(real, link)
    monkeypatch.chdir(clean)
    assert paths.socket_name(link) == paths.socket_name(real) == paths.socket_name("real")
    assert paths.socket_name("real/../real/") == paths.socket_name(real)
    # A symlink to the passwd home's state dir is that state dir.
    alias = os.path.join(clean, "alias")
    os.symlink(PASSWD_STATE, alias)
    assert paths.socket_name(alias) == "harnesssyncd.sock"
    # Known answer: the first 16 hex digits of SHA-256 of the path's bytes.
    assert paths.socket_name("/nonexistent/dir") == "harnesssyncd-%s.sock" % \
        hashlib.sha256(b"/nonexistent/dir").hexdigest()[:16]


def test_private_runtime_dir_without_xdg(clean):
    path = paths.socket_path(os.path.join(clean, "s"))
    rd = os.path.join(clean, "harnesssync-%d" % os.geteuid())
    assert path.startswith(rd + "/harnesssync/harnesssyncd-")
    st = os.lstat(rd)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.geteuid()
    assert paths.socket_path(os.path.join(clean, "s")) == path  # and again, now that it exists


def test_tmpdir_unset_means_tmp(clean, monkeypatch):
    monkeypatch.delenv("TMPDIR")
    assert str(paths.runtime_dir(create=False)) == "/tmp/harnesssync-%d" % os.geteuid()


@pytest.mark.parametrize("mode", [0o755, 0o711, 0o770, 0o701])
def test_runtime_dir_refused_unless_0700(clean, mode):
    rd = os.path.join(clean, "harnesssync-%d" % os.geteuid())
    os.mkdir(rd)
    os.chmod(rd, mode)
    with pytest.raises(ConfigError, match="mode %04o.*must be 0700" % mode):
        paths.socket_path(os.path.join(clean, "s"))


def test_runtime_dir_refused_when_someone_else_owns_it(clean):
    if os.geteuid() != 0:
        pytest.skip("needs root to make a directory owned by another user")
    rd = os.path.join(clean, "harnesssync-0")
    os.mkdir(rd, 0o700)
    os.chown(rd, 4242, 4242)
    with pytest.raises(ConfigError, match="owned by uid 4242"):
        paths.socket_path(os.path.join(clean, "s"))


def test_runtime_dir_refused_when_a_symlink_or_a_file(clean):
    rd = os.path.join(clean, "harnesssync-%d" % os.geteuid())
    target = os.path.join(clean, "elsewhere")
    os.mkdir(target, 0o700)
    os.symlink(target, rd)
    with pytest.raises(ConfigError, match="not a directory"):
        paths.socket_path(os.path.join(clean, "s"))
    os.unlink(rd)
    open(rd, "w").close()
    with pytest.raises(ConfigError, match="not a directory"):
        paths.socket_path(os.path.join(clean, "s"))


def test_too_long_a_path_is_a_clear_error(clean, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/r" + "x" * 120)
    with pytest.raises(ConfigError, match="longer than the 107 a Unix socket address holds"):
        paths.socket_path(os.path.join(clean, "s"))
    with pytest.raises(ConfigError, match="bytes, longer"):
        paths.socket_path(socket="/" + "y" * 200)


def test_state_dir_rule(clean, monkeypatch):
    assert paths.resolve_state_dir() == paths.Path(os.environ["HOME"]) / ".harnesssync"
    monkeypatch.setenv("HARNESSSYNC_HOME", "/elsewhere")
    assert str(paths.resolve_state_dir()) == "/elsewhere"
    assert str(paths.resolve_state_dir("/named")) == "/named"
    with pytest.raises(ConfigError):
        paths.resolve_state_dir("")
