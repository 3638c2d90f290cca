"""state.drift with the stat cache answers exactly what hashing every file
would: same-size edits within one second, mtime restored with touch -d, an
inode swapped by rename, a file replaced by a directory, a symlink
retargeted, a missing file. Each check compares the daemon's answer with a
drift computed here by hashing every file."""
import hashlib
import os
import time

import pytest

from conftest import record_params
from test_live_watch import Sub

# Entries made within this long of a file's change are "racy" and never
# trusted by their stat alone (daemon/hashing/stat_cache.hpp); a warm cache
# needs files older than that.
RACY_MARGIN_S = 2.0


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def hash_everything(stored):
    """The drift hashing every file gives: {changed, removed, errors}."""
    changed, removed, errors = [], [], []
    for path, old in stored.items():
        try:
            now = sha(path)
        except (FileNotFoundError, NotADirectoryError):
            if old:
                removed.append(path)
            continue
        except OSError:
            errors.append(path)
            continue
        if not old or now != old:
            changed.append(path)
    return sorted(changed), sorted(removed), sorted(errors)


def daemon_drift(client, target):
    r = client.call("state.drift", {"target": target})
    return sorted(r["changed"]), sorted(r["removed"]), sorted(e["path"] for e in r["errors"])


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def make_files(tmp, n, size=1024):
    d = os.path.join(tmp, "files")
    os.makedirs(d, exist_ok=True)
    paths = []
    for i in range(n):
        p = os.path.join(d, "f%03d.md" % i)
        write(p, bytes([65 + i % 26]) * size)
        paths.append(p)
    return paths


@pytest.fixture(params=["stat", "watched"])
def mode(request, daemon):
    """"stat": nobody subscribes, every file is stat'ed; "watched": a
    subscriber holds the target, so its files are watched and trusted without
    a system call while no event touches them."""
    subs = []
    yield (request.param, daemon, subs)
    for s in subs:
        s.close()


def record(client, target, paths, mode=None):
    hashes = {p: sha(p) for p in paths}
    client.call("state.record", record_params(target, hashes))
    if mode is not None and mode[0] == "watched":
        s = Sub(mode[1])
        s.call("state.subscribe", {"targets": [target]})
        s.drifted(target)
        mode[2].append(s)
        info = client.call("daemon.info")["watch"]
        assert info["paths"] >= len(paths) and info["polled"] == 0, info
    return hashes


def record_warm(client, target, paths, mode):
    """record(), then a drift once the files are past the racy margin: it
    hashes every file once and finds nothing, so the cache is warm."""
    hashes = record(client, target, paths, mode)
    time.sleep(RACY_MARGIN_S + 0.3)
    assert daemon_drift(client, target) == ([], [], [])
    return hashes


def test_every_kind_of_change_is_seen_through_a_warm_cache(mode, tmp):
    daemon = mode[1]
    c = daemon.client()
    paths = make_files(tmp, 10)
    link_targets = [os.path.join(tmp, "files", "ta"), os.path.join(tmp, "files", "tb")]
    write(link_targets[0], b"X" * 100)
    write(link_targets[1], b"Y" * 100)
    link = os.path.join(tmp, "files", "link.md")
    os.symlink(link_targets[0], link)
    stored = record_warm(c, "codex", paths + [link], mode)
    # Every entry was hashed once and, being old enough, is trusted now.
    assert daemon_drift(c, "codex") == ([], [], [])

    same_size, touch_d, swapped, to_dir, missing, unchanged, rewritten, perm, grown, shrunk = paths
    st = os.stat(touch_d)
    write(same_size, b"z" * 1024)                      # same size, within the same second
    write(touch_d, b"q" * 1024)                        # same size, then the old mtime put back
    os.utime(touch_d, ns=(st.st_atime_ns, st.st_mtime_ns))
    st = os.stat(swapped)
    write(swapped + ".tmp", b"w" * 1024)               # a rename save, even the mtime kept
    os.utime(swapped + ".tmp", ns=(st.st_atime_ns, st.st_mtime_ns))
    os.rename(swapped + ".tmp", swapped)
    os.unlink(to_dir)
    os.mkdir(to_dir)                                   # a directory where a file was
    os.unlink(missing)
    with open(rewritten, "rb") as f:
        same = f.read()
    write(rewritten, same)                             # written, same bytes: not a change
    os.chmod(perm, 0)                                  # unreadable (as root: still readable)
    with open(grown, "ab") as f:
        f.write(b"!")
    with open(shrunk, "r+b") as f:
        f.truncate(10)
    st = os.stat(link_targets[0])
    os.utime(link_targets[1], ns=(st.st_atime_ns, st.st_mtime_ns))
    os.unlink(link)
    os.symlink(link_targets[1], link)                  # retargeted to a same-size file

    want = hash_everything(stored)
    assert same_size in want[0] and touch_d in want[0] and swapped in want[0] and link in want[0]
    assert missing in want[1] and to_dir in want[2]
    assert unchanged not in want[0] + want[1] + want[2]
    assert daemon_drift(c, "codex") == want
    # Again, now from the entries just made (racy ones among them).
    assert daemon_drift(c, "codex") == want
    os.chmod(perm, 0o644)


def test_same_size_edits_and_reverts_within_one_second(mode, tmp):
    daemon = mode[1]
    c = daemon.client()
    paths = make_files(tmp, 3, size=64)
    stored = record_warm(c, "t", paths, mode)
    f = paths[1]
    original = b"B" * 64
    for i in range(20):
        # Edits far quicker than any timestamp granularity: each answer must
        # still be what hashing says.
        write(f, (b"%02d" % i) * 32 if i % 2 == 0 else original)
        assert daemon_drift(c, "t") == hash_everything(stored), "edit %d" % i
    assert daemon_drift(c, "t") == ([], [], [])  # the last one was a revert


def test_a_file_changed_just_before_the_request_is_included(mode, tmp):
    daemon = mode[1]
    c = daemon.client()
    paths = make_files(tmp, 50, size=128)
    stored = record_warm(c, "t", paths, mode)
    for i, p in enumerate(paths):
        write(p, b"#" * 128)
        assert daemon_drift(c, "t")[0] == sorted(paths[:i + 1])
    assert daemon_drift(c, "t") == hash_everything(stored)


def rchar(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar")


def test_unchanged_files_are_not_read_again(mode, tmp):
    daemon = mode[1]
    c = daemon.client()
    paths = make_files(tmp, 20, size=1 << 20)
    record_warm(c, "big", paths, mode)  # hashes each once
    before = rchar(daemon.proc.pid)
    for _ in range(3):
        assert daemon_drift(c, "big") == ([], [], [])
    # 60 MB if they were hashed again; a few KB of requests and answers.
    assert rchar(daemon.proc.pid) - before < (1 << 20)
    write(paths[3], b"x" * (1 << 20))
    assert daemon_drift(c, "big")[0] == [paths[3]]
