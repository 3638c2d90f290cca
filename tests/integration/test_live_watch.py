"""The file watch end to end: a subscriber of a target gets the right
state.drifted for every way one of its files changes on disk (written in
place, saved by rename, deleted, re-created, moved away, its directory
removed and re-created, a symlink retargeted), a clean one after a revert;
a real kernel queue overflow resyncs; out of watches (--max-watches, or the
kernel's per-user limit in a user namespace) the files are polled; and
unsubscribing or disconnecting releases the watches.

Timeouts are generous (a loaded 2-core machine, sanitizer builds): the
latency goals (within 1 s, p99 250 ms) are measured by
tests/bench/live_bench.py, not here."""
import ctypes
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import time

import pytest

from conftest import record_params

WAIT = 20.0  # seconds; a notification normally comes within 0.2 s


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


class Sub:
    """A subscriber connection: answers and notifications, NDJSON."""

    def __init__(self, daemon):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(daemon.socket)
        self.buf = b""
        self.notes = []
        self.n = 0

    def close(self):
        self.sock.close()

    def _read(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("the daemon closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def call(self, method, params=None):
        self.n += 1
        msg = {"jsonrpc": "2.0", "id": self.n, "method": method}
        if params is not None:
            msg["params"] = params
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            m = self._read(WAIT)
            assert m is not None, "no answer to " + method
            if m.get("id") == self.n:
                assert "error" not in m, m
                return m["result"]
            self.notes.append(m)

    def drifted(self, target, changed=None, removed=None, errors=None, timeout=WAIT):
        """Waits for a state.drifted of `target` with exactly these lists
        (None: any); earlier ones are skipped (a burst may give several)."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            while self.notes:
                m = self.notes.pop(0)
                if m.get("method") != "state.drifted" or m["params"]["target"] != target:
                    continue
                p = last = m["params"]
                if ((changed is None or sorted(p["changed"]) == sorted(changed)) and
                        (removed is None or sorted(p["removed"]) == sorted(removed)) and
                        (errors is None or sorted(e["path"] for e in p["errors"]) == sorted(errors))):
                    return p
            left = deadline - time.monotonic()
            m = self._read(max(left, 0)) if left > 0 else None
            if m is None:
                raise AssertionError("no state.drifted %s changed=%s removed=%s within %g s; last: %s" %
                                     (target, changed, removed, timeout, last))
            self.notes.append(m)


def watch_info(daemon):
    c = daemon.client()
    try:
        return c.call("daemon.info")["watch"]
    finally:
        c.close()


def watch_counts(daemon):
    """daemon.info's watch counts (without "backend", which says how)."""
    info = watch_info(daemon)
    assert info.pop("backend") in ("inotify", "poll")
    return info


def wait_for(pred, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def skills(tmp):
    """<tmp>/home/.codex/{AGENTS.md, skills/s/SKILL.md}: the files a sync wrote."""
    home = os.path.join(tmp, "home", ".codex")
    os.makedirs(os.path.join(home, "skills", "s"))
    files = {"agents": os.path.join(home, "AGENTS.md"), "skill": os.path.join(home, "skills", "s", "SKILL.md")}
    write(files["agents"], b"# agents\n")
    write(files["skill"], b"# skill\n")
    return files


def subscribed(daemon, paths, target="codex"):
    """Records `paths` as they are, subscribes, and takes the first (clean) drift."""
    c = daemon.client()
    c.call("state.record", record_params(target, {p: sha(p) for p in paths}))
    c.close()
    s = Sub(daemon)
    s.call("state.subscribe", {"targets": [target]})
    s.drifted(target, changed=[], removed=[])
    return s


def test_written_in_place_then_reverted(daemon, skills):
    s = subscribed(daemon, list(skills.values()))
    f = skills["agents"]
    with open(f, "r+b") as fh:  # in place: same inode, same size
        fh.write(b"X")
    s.drifted("codex", changed=[f], removed=[])
    with open(f, "r+b") as fh:
        fh.write(b"#")
    s.drifted("codex", changed=[], removed=[])  # clean again


def test_saved_by_rename_like_an_editor(daemon, skills):
    s = subscribed(daemon, list(skills.values()))
    f = skills["agents"]
    tmp = os.path.join(os.path.dirname(f), ".AGENTS.md.swp")
    write(tmp, b"# edited by vim\n")
    os.rename(tmp, f)
    s.drifted("codex", changed=[f], removed=[])
    # The new inode is watched too.
    write(tmp, b"# agents\n")
    os.rename(tmp, f)
    s.drifted("codex", changed=[], removed=[])


def test_deleted_then_recreated(daemon, skills):
    s = subscribed(daemon, list(skills.values()))
    f = skills["skill"]
    os.unlink(f)
    s.drifted("codex", changed=[], removed=[f])
    write(f, b"# skill\n")
    s.drifted("codex", changed=[], removed=[])
    os.unlink(f)
    s.drifted("codex", removed=[f])
    write(f, b"# something else\n")
    s.drifted("codex", changed=[f], removed=[])


def test_moved_away(daemon, skills, tmp):
    s = subscribed(daemon, list(skills.values()))
    f = skills["agents"]
    os.rename(f, os.path.join(tmp, "AGENTS.md.moved"))
    s.drifted("codex", changed=[], removed=[f])
    os.rename(os.path.join(tmp, "AGENTS.md.moved"), f)
    s.drifted("codex", changed=[], removed=[])


def test_directory_removed_and_recreated(daemon, skills):
    s = subscribed(daemon, list(skills.values()))
    f = skills["skill"]
    d = os.path.dirname(f)
    shutil.rmtree(d)
    s.drifted("codex", changed=[], removed=[f])
    os.mkdir(d)
    write(f, b"# other\n")
    s.drifted("codex", changed=[f], removed=[])
    # The new directory is watched: an edit in place there is seen.
    time.sleep(0.3)
    with open(f, "r+b") as fh:
        fh.write(b"# skill\n")
    s.drifted("codex", changed=[], removed=[])


def drift_of(daemon, target="codex"):
    c = daemon.client()
    try:
        d = c.call("state.drift", {"target": target})
        return sorted(d["changed"]), sorted(d["removed"])
    finally:
        c.close()


@pytest.mark.parametrize("depth", [1, 2])
def test_an_ancestor_renamed_away_and_recreated_is_watched_anew(daemon, skills, depth):
    """mv D D.old; mkdir D; write D/f: the watch of D must follow the path,
    not the moved inode (which kept reporting the new D/f clean forever).
    depth 2 moves D's parent, whose child D gets no event of its own."""
    s = subscribed(daemon, list(skills.values()))
    f = skills["skill"]
    moved = f
    for _ in range(depth):
        moved = os.path.dirname(moved)
    os.rename(moved, moved + ".old")
    os.makedirs(os.path.dirname(f))
    s.drifted("codex", changed=[], removed=[f])
    assert drift_of(daemon) == ([], [f])
    time.sleep(0.3)  # the new directories are watched by now, if ever
    write(f, b"b\n")
    s.drifted("codex", changed=[f], removed=[])
    assert drift_of(daemon) == ([f], [])
    # Written back: clean, and the moved-away copy changing says nothing.
    write(f, b"# skill\n")
    s.drifted("codex", changed=[], removed=[])
    write(os.path.join(moved + ".old", os.path.relpath(f, moved)), b"old\n")
    assert drift_of(daemon) == ([], [])


def test_a_symlink_retarget_and_its_targets_changes_are_seen(daemon, tmp):
    src = os.path.join(tmp, "claude", "skills")
    os.makedirs(os.path.join(src, "a"))
    os.makedirs(os.path.join(src, "b"))
    write(os.path.join(src, "a", "SKILL.md"), b"# a\n")
    write(os.path.join(src, "b", "SKILL.md"), b"# b\n")
    codex = os.path.join(tmp, "codex", "skills")
    os.makedirs(codex)
    # HarnessSync syncs skills as symlinks to the source.
    os.symlink(os.path.join(src, "a"), os.path.join(codex, "s"))
    tracked = os.path.join(codex, "s", "SKILL.md")
    s = subscribed(daemon, [tracked])
    write(os.path.join(src, "a", "SKILL.md"), b"# a, edited at the source\n")
    s.drifted("codex", changed=[tracked])
    write(os.path.join(src, "a", "SKILL.md"), b"# a\n")
    s.drifted("codex", changed=[])
    os.unlink(os.path.join(codex, "s"))
    os.symlink(os.path.join(src, "b"), os.path.join(codex, "s"))
    s.drifted("codex", changed=[tracked])
    # Now b is what the link shows: a change there is a change; back to a is clean.
    write(os.path.join(src, "b", "SKILL.md"), b"# a\n")
    s.drifted("codex", changed=[])


def test_unsubscribe_and_disconnect_release_the_watches(daemon, skills):
    assert watch_info(daemon)["paths"] == 0
    s = subscribed(daemon, list(skills.values()))
    assert watch_info(daemon)["paths"] == 2
    assert watch_info(daemon)["watches"] > 0
    s2 = Sub(daemon)
    sub2 = s2.call("state.subscribe", {"targets": ["codex"]})["subscription"]
    s2.drifted("codex", changed=[])
    s2.call("state.unsubscribe", {"subscription": sub2})
    assert watch_info(daemon)["paths"] == 2  # s still holds it
    s.close()  # a disconnect, not an unsubscribe
    wait_for(lambda: watch_counts(daemon) == {"paths": 0, "polled": 0, "watches": 0})
    s3 = Sub(daemon)
    sub3 = s3.call("state.subscribe", {"targets": ["codex"]})["subscription"]
    s3.drifted("codex", changed=[])
    assert watch_info(daemon)["paths"] == 2
    s3.call("state.unsubscribe", {"subscription": sub3})
    assert watch_counts(daemon) == {"paths": 0, "polled": 0, "watches": 0}
    s2.close()
    s3.close()


def test_a_kernel_queue_overflow_resyncs(daemon, skills, tmp):
    with open("/proc/sys/fs/inotify/max_queued_events") as f:
        max_events = int(f.read())
    if max_events > 200000:
        pytest.skip("max_queued_events %d: too many files to flood" % max_events)
    s = subscribed(daemon, list(skills.values()))
    if watch_info(daemon)["backend"] != "inotify":
        pytest.skip("the kernel's queue: inotify only (this daemon polls)")
    d = os.path.dirname(skills["agents"])
    # Stopped, the daemon reads nothing: the queue overflows for real, and
    # the event of the change after the flood is lost.
    daemon.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(max_events + 100):
            os.close(os.open(os.path.join(d, "flood%d" % i), os.O_CREAT | os.O_RDONLY, 0o644))
        write(skills["agents"], b"# changed under the flood\n")
    finally:
        daemon.proc.send_signal(signal.SIGCONT)
    s.drifted("codex", changed=[skills["agents"]], timeout=60)
    assert "overflowed" in daemon.output()
    # And the watch goes on afterwards.
    write(skills["agents"], b"# agents\n")
    s.drifted("codex", changed=[], timeout=60)


def test_past_max_watches_files_are_polled(start, skills):
    daemon = start("--max-watches", "1")
    s = subscribed(daemon, list(skills.values()))
    info = watch_info(daemon)
    assert info["polled"] == 2 and info["paths"] == 0 and info["watches"] <= 1
    write(skills["agents"], b"# polled\n")
    s.drifted("codex", changed=[skills["agents"]])
    os.unlink(skills["skill"])
    s.drifted("codex", changed=[skills["agents"]], removed=[skills["skill"]])
    # Logged once, however many directories are past the limit.
    assert daemon.output().count("out of watches") == 1
    # state.drift stats polled files at query time: never stale.
    write(skills["agents"], b"# agents\n")
    c = daemon.client()
    assert c.call("state.drift", {"target": "codex"})["changed"] == []


def userns_with_watch_limit(limit):
    """preexec: a new user namespace (root mapped to ourselves) whose per-user
    inotify watch limit is `limit`: inotify_add_watch fails with ENOSPC for real."""
    def pre():
        libc = ctypes.CDLL(None, use_errno=True)
        uid, gid = os.geteuid(), os.getegid()
        if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER)")
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write("%d %d 1" % (uid, uid))
        with open("/proc/self/gid_map", "w") as f:
            f.write("%d %d 1" % (gid, gid))
        with open("/proc/sys/user/max_inotify_watches", "w") as f:
            f.write(str(limit))
    return pre


def userns_works():
    import subprocess
    try:
        r = subprocess.run(["true"], preexec_fn=userns_with_watch_limit(8), capture_output=True)
        return r.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not userns_works(), reason="no unprivileged user namespaces here")
def test_out_of_kernel_watches_files_are_polled(start, skills):
    # 4 watches: the state dir's, the sync cookie's, and two directories.
    daemon = start(preexec=userns_with_watch_limit(4))
    s = subscribed(daemon, list(skills.values()))
    info = watch_info(daemon)
    if info["backend"] != "inotify":
        pytest.skip("the kernel's watch limit: inotify only (this daemon polls)")
    assert info["polled"] > 0
    assert "out of watches" in daemon.output()
    write(skills["skill"], b"# changed while polled\n")
    s.drifted("codex", changed=[skills["skill"]])
    write(skills["skill"], b"# skill\n")
    s.drifted("codex", changed=[])


def test_state_drift_with_a_subscriber_is_never_stale(daemon, skills, tmp):
    s = subscribed(daemon, list(skills.values()))
    c = daemon.client()
    f = skills["agents"]
    for i in range(60):
        # Each edit is made just before the request: the answer must include it.
        data = b"# agents\n" if i % 2 else (b"%08d\n" % i)
        write(f, data)
        want = [] if i % 2 else [f]
        assert c.call("state.drift", {"target": "codex"})["changed"] == want, i
        if i % 3 == 0:
            # Quiet long enough for the watch to settle: the next answers come
            # from the memo of a watched, unchanged target, until the next edit.
            time.sleep(0.3)
        for _ in range(3):
            assert c.call("state.drift", {"target": "codex"})["changed"] == want, i
    s.close()


INOTIFY_SHIM = os.environ.get("HS_FAULT_INOTIFY", "")


@pytest.mark.skipif(not os.path.exists(INOTIFY_SHIM), reason="build hs_fault_inotify (ctest sets HS_FAULT_INOTIFY)")
@pytest.mark.skipif(os.environ.get("HS_PORTABLE") == "1", reason="a build without inotify polls from the start")
def test_an_inotify_read_error_falls_back_to_polling(start, skills, tmp):
    """Reading inotify fails for real (EIO from read(2), through a shim): the
    watches go on by polling, nothing the events said is trusted any more,
    state.drift does not wait for a sync cookie that cannot come, and
    daemon.info says "poll". It used to end the watch silently."""
    flag = os.path.join(tmp, "fail-inotify")
    d = start(env={"LD_PRELOAD": INOTIFY_SHIM, "HS_FAULT_INOTIFY_FLAG": flag,
                   "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
    s = subscribed(d, list(skills.values()))
    assert watch_info(d)["backend"] == "inotify"
    open(flag, "w").close()
    f = skills["agents"]
    write(f, b"changed\n")  # its event is never read: the read fails
    s.drifted("codex", changed=[f], removed=[])
    wait_for(lambda: watch_info(d)["backend"] == "poll")
    assert drift_of(d) == ([f], [])
    # From now on changes are found by polling (within 2 s), and state.drift
    # answers from stats at once.
    write(f, b"# agents\n")
    assert drift_of(d) == ([], [])
    s.drifted("codex", changed=[], removed=[])
    os.unlink(skills["skill"])
    assert drift_of(d) == ([], [skills["skill"]])
    s.drifted("codex", changed=[], removed=[skills["skill"]])
    # A directory made after the failure is polled too.
    shutil.rmtree(os.path.dirname(skills["skill"]))
    os.mkdir(os.path.dirname(skills["skill"]))
    write(skills["skill"], b"# skill\n")
    s.drifted("codex", changed=[], removed=[])
    assert drift_of(d) == ([], [])
    out = d.output()
    # Once per watch user whose read failed (the files', the state dir's).
    assert 1 <= out.count("reading inotify failed") <= 2, out


SLOW_STAT_SHIM = os.environ.get("HS_FAULT_SLOW_STAT", "")


@pytest.mark.skipif(not os.path.exists(SLOW_STAT_SHIM), reason="build hs_fault_slow_stat (ctest sets HS_FAULT_SLOW_STAT)")
def test_polling_a_file_on_a_hung_mount_never_delays_another_client(start, skills, tmp):
    """Files past --max-watches are polled by stat every 2 s. A stat that
    hangs (3 s here, through a shim, as on a dead NFS server) runs on a
    worker thread: another client's pings go on. It ran on the event loop."""
    flag = os.path.join(tmp, "slow-stat")
    d = start("--max-watches", "1",
              env={"LD_PRELOAD": SLOW_STAT_SHIM, "HS_FAULT_SLOW_STAT_FLAG": flag, "HS_FAULT_SLOW_STAT_MATCH": ".codex/",
                   "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
    s = subscribed(d, list(skills.values()))
    assert watch_info(d)["polled"] == 2 or os.environ.get("HS_PORTABLE") == "1"
    open(flag, "w").close()
    c = d.client()
    worst = 0.0
    deadline = time.monotonic() + 7  # past two polls
    while time.monotonic() < deadline:
        t = time.monotonic()
        assert c.call("daemon.ping") == "pong"
        worst = max(worst, time.monotonic() - t)
        time.sleep(0.02)
    with open(flag) as f:
        assert "slow" in f.read(), "the daemon never stat'ed the file: the test proves nothing"
    assert worst < 1.0, "a ping waited %.2f s behind a stat" % worst
    s.close()
