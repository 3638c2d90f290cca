"""Where the state dir and the daemon's socket are (docs/PROTOCOL.md, "Socket").

The rule is the same for the daemon and every client:
  socket = --socket, else $HARNESSSYNC_SOCKET,
           else <runtime dir>/harnesssync/<name>
  runtime dir = $XDG_RUNTIME_DIR, else ${TMPDIR:-/tmp}/harnesssync-<uid>
           (created 0700; refused unless it is a directory owned by us, 0700)
  name = harnesssyncd.sock for the passwd entry's ~/.harnesssync (the home
         of getpwuid(getuid()), not $HOME: the one the systemd units serve),
         harnesssyncd-<16 hex of SHA-256(real path of the state dir)>.sock else
so two state dirs never share a socket, and the path stays short. common/
socket_path.cpp is the same rule in C++ (for the daemon, hsctl and the C++
library); tests/integration/test_socket_rule.py runs one table against both.
"""
from __future__ import annotations

import hashlib
import os
import pwd
import stat
from pathlib import Path
from typing import Optional, Union

from .errors import ConfigError

PathLike = Union[str, "os.PathLike[str]"]

# sizeof(sockaddr_un::sun_path) - 1 on Linux; the BSDs and macOS have 104.
MAX_SOCKET_PATH = 107 if os.uname().sysname == "Linux" else 103

DEFAULT_SOCKET_NAME = "harnesssyncd.sock"


def _env(name: str) -> Optional[str]:
    value = os.environ.get(name)
    return value if value else None


def default_state_dir() -> Path:
    """~/.harnesssync: the state dir HarnessSync uses when none is named."""
    return Path.home() / ".harnesssync"


def resolve_state_dir(state_dir: Optional[PathLike] = None) -> Path:
    """The state dir: the one named, else $HARNESSSYNC_HOME, else ~/.harnesssync."""
    if state_dir is not None:
        if not os.fspath(state_dir):
            raise ConfigError("the state dir must not be empty")
        return Path(state_dir)
    env = _env("HARNESSSYNC_HOME")
    if env is not None:
        return Path(env)
    return default_state_dir()


def runtime_dir(create: bool = True) -> Path:
    """$XDG_RUNTIME_DIR, else a private ${TMPDIR:-/tmp}/harnesssync-<uid>.

    The private dir is made 0700 when missing, and refused (as tmux does)
    unless it is a real directory owned by us with mode 0700: in a shared
    /tmp anyone could have made it first, to catch our connections."""
    xdg = _env("XDG_RUNTIME_DIR")
    if xdg is not None:
        return Path(xdg)
    uid = os.geteuid()
    path = Path(_env("TMPDIR") or "/tmp") / ("harnesssync-%d" % uid)
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as e:
            raise ConfigError("cannot create the runtime dir %s: %s" % (path, e.strerror)) from e
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return path
        raise ConfigError("the runtime dir %s vanished while it was being made" % path) from None
    except OSError as e:
        raise ConfigError("cannot use the runtime dir %s: %s" % (path, e.strerror)) from e
    if not stat.S_ISDIR(st.st_mode):
        raise ConfigError("the runtime dir %s is not a directory; remove it" % path)
    if st.st_uid != uid or stat.S_IMODE(st.st_mode) != 0o700:
        raise ConfigError("the runtime dir %s is mode %04o owned by uid %d; it must be 0700 and owned by uid %d"
                          % (path, stat.S_IMODE(st.st_mode), st.st_uid, uid))
    return path


def passwd_home() -> Optional[str]:
    """The home directory of the passwd entry of the real uid, whatever
    $HOME says; None when there is no entry or it names no directory (a
    container's unnamed uid)."""
    try:
        home = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return None
    # Empty names no directory: joined with ".harnesssync" it would be
    # relative to the cwd.
    return home or None


def socket_name(state_dir: PathLike) -> str:
    """harnesssyncd.sock for the passwd entry's ~/.harnesssync, else
    harnesssyncd-<hash>.sock, the hash taken over the state dir's absolute
    real path (so a symlink and its target, or a relative and an absolute
    name, agree).

    Only the passwd home's, never $HOME's: a process that points HOME
    elsewhere (a test, a sandbox) has another state dir, which must not
    reach, or be reached by, the user's own daemon."""
    real = os.path.realpath(os.path.abspath(os.fspath(state_dir)))
    home = passwd_home()
    if home is not None and real == os.path.realpath(os.fspath(Path(home) / ".harnesssync")):
        return DEFAULT_SOCKET_NAME
    digest = hashlib.sha256(os.fsencode(real)).hexdigest()
    return "harnesssyncd-%s.sock" % digest[:16]


def check_socket_path(path: PathLike) -> str:
    text = os.fspath(path)
    size = len(os.fsencode(text))
    if size > MAX_SOCKET_PATH:
        raise ConfigError("the socket path is %d bytes, longer than the %d a Unix socket address holds: %s"
                          % (size, MAX_SOCKET_PATH, text))
    return text


def socket_path(state_dir: Optional[PathLike] = None, socket: Optional[PathLike] = None,
                create: bool = True) -> str:
    """The socket to use for `state_dir` (resolved as resolve_state_dir does).

    `socket` (a --socket flag) wins, then $HARNESSSYNC_SOCKET, then the
    runtime dir rule. With create, the private runtime dir is made (and
    checked); the harnesssync/ folder in it is the daemon's to make."""
    if socket is not None and os.fspath(socket):
        return check_socket_path(socket)
    env = _env("HARNESSSYNC_SOCKET")
    if env is not None:
        return check_socket_path(env)
    name = socket_name(resolve_state_dir(state_dir))
    return check_socket_path(runtime_dir(create) / "harnesssync" / name)
