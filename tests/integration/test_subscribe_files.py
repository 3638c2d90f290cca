"""Live drift end to end: files changed on disk reach subscribers as
state.drifted through the file watcher (docs/PROTOCOL.md, "state.subscribe"),
and subscriptions release their watches. The watcher's own unit tests cover
each kind of change at the FileWatch level; these go through the socket.
Timeouts are generous (a loaded machine); latency is measured in benchmarks."""
import hashlib
import os
import shutil
import time

import pytest

from conftest import record_params
from test_subscribe import Sub, changed, drifted


def sha(data):
    return hashlib.sha256(data).hexdigest()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


@pytest.fixture
def setup(daemon, tmp):
    d = os.path.join(tmp, "codex")
    os.mkdir(d)
    f = os.path.join(d, "AGENTS.md")
    write(f, b"one")
    w = daemon.client()
    w.call("state.record", record_params("codex", {f: sha(b"one")}))
    s = Sub(daemon)
    sub = s.call("state.subscribe", {"targets": ["codex"]})["subscription"]
    s.wait(drifted("codex", changed=[], removed=[]))
    return s, sub, d, f, w


def clean(s):
    s.wait(drifted("codex", changed=[], removed=[], errors=[]))


def test_written_in_place_and_reverted(setup):
    s, sub, d, f, _ = setup
    write(f, b"two")
    m = s.wait(drifted("codex", changed=[f]))
    assert m["params"] == {"subscription": sub, "target": "codex", "changed": [f], "removed": [], "errors": []}
    write(f, b"one")
    clean(s)


def test_saved_by_rename_deleted_and_recreated(setup):
    s, _, d, f, _ = setup
    tmp = os.path.join(d, ".AGENTS.md.swp")
    write(tmp, b"saved by an editor")
    os.rename(tmp, f)
    s.wait(drifted("codex", changed=[f]))
    os.unlink(f)
    s.wait(drifted("codex", changed=[], removed=[f]))
    write(f, b"one")
    clean(s)
    # Its directory removed and made again.
    shutil.rmtree(d)
    s.wait(drifted("codex", removed=[f]))
    os.mkdir(d)
    write(f, b"one")
    clean(s)


def test_a_symlink_retarget_is_seen(daemon, tmp):
    a = os.path.join(tmp, "a.md")
    b = os.path.join(tmp, "b.md")
    write(a, b"skill a")
    write(b, b"skill b")
    link = os.path.join(tmp, "skill.md")
    os.symlink(a, link)
    w = daemon.client()
    w.call("state.record", record_params("codex", {link: sha(b"skill a")}))
    s = Sub(daemon)
    s.call("state.subscribe")
    clean(s)
    # The link's target changes content: a change of the link.
    write(a, b"skill a, edited")
    s.wait(drifted("codex", changed=[link]))
    write(a, b"skill a")
    clean(s)
    # The link is pointed elsewhere (as ln -sfn does: a new link renamed over).
    os.symlink(b, link + ".new")
    os.rename(link + ".new", link)
    s.wait(drifted("codex", changed=[link]))
    os.symlink(a, link + ".new")
    os.rename(link + ".new", link)
    clean(s)


def test_a_record_after_edits_gives_changed_then_the_new_drift(setup):
    s, _, _, f, w = setup
    write(f, b"two")
    s.wait(drifted("codex", changed=[f]))
    # The sync catches up: a record of the file as it is now.
    w.call("state.record", record_params("codex", {f: sha(b"two")}))
    s.wait(changed("recorded"))
    clean(s)


def watch_paths(w):
    return w.call("daemon.info")["watch"]["paths"]


def wait_until(pred, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_unsubscribe_and_disconnect_release_the_watches(daemon, tmp):
    f = os.path.join(tmp, "x.md")
    write(f, b"x")
    w = daemon.client()
    w.call("state.record", record_params("codex", {f: sha(b"x")}))
    assert watch_paths(w) == 0  # nothing is watched that nobody subscribed to
    s = Sub(daemon)
    sub = s.call("state.subscribe")["subscription"]
    clean(s)
    assert watch_paths(w) == 1
    t = Sub(daemon)
    t.call("state.subscribe", {"targets": ["codex"]})
    clean(t)
    s.call("state.unsubscribe", {"subscription": sub})
    assert watch_paths(w) == 1  # t still needs it
    t.close()
    wait_until(lambda: watch_paths(w) == 0, "disconnect released the watch")
    info = w.call("daemon.info")
    assert info["subscriptions"]["targets"] == 0
    assert info["watch"].get("watches", 0) == 0
    # A clear drops the watch too (nothing tracked to watch).
    s.call("state.subscribe")
    clean(s)
    assert watch_paths(w) == 1
    w.call("state.clear", {"target": "codex"})
    s.wait(changed("cleared"))
    wait_until(lambda: watch_paths(w) == 0, "clear released the watch")


def test_an_edit_while_the_first_drift_is_computed_is_not_missed(daemon, tmp):
    # The watches must be in place before the first check hashes anything:
    # a file edited after it was hashed but before the check ended would
    # otherwise be seen by neither (the check read the old content; no
    # watch saw the edit). A big file keeps the check busy long after the
    # small one is hashed; the edit lands in that window.
    small = os.path.join(tmp, "AGENTS.md")
    big = os.path.join(tmp, "big.bin")
    write(small, b"one")
    with open(big, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(300):
            f.write(chunk)
    s = Sub(daemon)
    sub = s.call("state.subscribe", {"targets": ["codex"]})["subscription"]
    w = daemon.client()
    # big's stored hash is wrong, so the first drift (once big is hashed)
    # names it; small starts clean.
    w.call("state.record", record_params("codex", {small: sha(b"one"), big: "0" * 64}))
    time.sleep(0.1)  # small is hashed by now, big is not
    write(small, b"two")  # same size, same second
    m = s.wait(drifted("codex", changed=[small, big]), timeout=30)
    assert m["params"]["subscription"] == sub
