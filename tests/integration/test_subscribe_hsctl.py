"""hsctl watch and hsctl status --watch against the real daemon (README.md,
"Watching drift live"). Changes are made through records and accepts; the
file watcher's own tests edit files on disk."""
import json
import os
import select
import signal
import subprocess
import time

import pytest

from conftest import DAEMON, record_params

HSCTL = os.environ.get("HS_HSCTL", os.path.join(os.path.dirname(DAEMON), "hsctl"))
ZERO = "0" * 64


class Proc:
    """An hsctl process whose stdout is read line by line as it comes."""

    def __init__(self, daemon, *args):
        env = dict(os.environ)
        env.pop("HARNESSSYNC_HOME", None)
        env["HARNESSSYNC_SOCKET"] = daemon.socket
        env["HARNESSSYNC_NO_SPAWN"] = "1"
        env["HOME"] = "/nonexistent-home"  # paths print as they are
        self.p = subprocess.Popen([HSCTL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.buf = b""

    def line(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no line within %g s; so far %r" % (timeout, self.buf))
            ready, _, _ = select.select([self.p.stdout], [], [], left)
            if ready:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError("hsctl ended: %r %r" % (self.buf, self.p.stderr.read()))
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def lines_until(self, pred, timeout=20.0):
        out = []
        while True:
            out.append(self.line(timeout))
            if pred(out[-1]):
                return out

    def stop(self, sig=signal.SIGINT):
        self.p.send_signal(sig)
        rc = self.p.wait(10)
        rest = self.p.stdout.read().decode()
        err = self.p.stderr.read().decode()
        return rc, rest, err


def wait_subscribed(daemon, n):
    c = daemon.client()
    deadline = time.monotonic() + 20
    while c.call("daemon.info")["subscriptions"]["count"] < n:
        assert time.monotonic() < deadline, "hsctl did not subscribe"
        time.sleep(0.02)
    c.close()


@pytest.fixture
def tracked(tmp):
    f = os.path.join(tmp, "AGENTS.md")
    with open(f, "w") as fh:
        fh.write("agents")
    return f


def test_watch_human(daemon, tracked):
    w = daemon.client()
    w.call("state.record", record_params("codex", {tracked: ZERO}))
    p = Proc(daemon, "watch")
    assert p.line() == "codex: %s changed" % tracked
    w.call("state.accept", {"target": "codex", "paths": [tracked]})
    assert p.line() == "codex: files accepted as the new baseline"
    assert p.line() == "codex: clean again"
    w.call("state.record", record_params("gemini", {os.path.join(os.path.dirname(tracked), "gone"): ZERO}))
    assert p.line() == "gemini: sync recorded"
    assert p.line() == "gemini: %s removed" % os.path.join(os.path.dirname(tracked), "gone")
    w.call("state.clear", {"target": "gemini"})
    assert p.line() == "gemini: sync record cleared"
    rc, rest, err = p.stop()
    assert rc == 0 and rest == "" and err == "", (rc, rest, err)


def test_watch_json_and_targets(daemon, tracked):
    w = daemon.client()
    w.call("state.record", record_params("codex", {tracked: ZERO}))
    w.call("state.record", record_params("gemini", {tracked: ZERO}))
    p = Proc(daemon, "--json", "watch", "codex", "cursor")
    first = json.loads(p.line())
    sub = first["subscription"]
    assert first == {"subscription": sub, "target": "codex", "changed": [tracked], "removed": [], "errors": []}
    w.call("state.record", record_params("gemini", {tracked: "1" * 64}))  # not watched
    w.call("state.record", record_params("cursor", {}))
    assert json.loads(p.line()) == {"subscription": sub, "target": "cursor", "kind": "recorded",
                                    "last_sync": daemon.state()["last_sync"]}
    assert json.loads(p.line())["target"] == "cursor"
    rc, rest, err = p.stop(signal.SIGTERM)
    assert rc == 0 and rest == "" and err == "", (rc, rest, err)


def test_watch_account(daemon, tracked):
    w = daemon.client()
    w.call("state.record", record_params("codex", {tracked: ZERO}, account="work"))
    p = Proc(daemon, "--account", "work", "watch")
    assert p.line() == "work/codex: %s changed" % tracked
    p.stop()


def test_watch_ends_with_status_3_when_the_daemon_goes_away(start, tracked):
    d = start()
    p = Proc(d, "watch")
    wait_subscribed(d, 1)
    d.stop()
    assert p.p.wait(20) == 3
    err = p.p.stderr.read().decode()
    assert err.startswith("hsctl: harnesssyncd went away") and err.count("\n") == 1, err


def test_watch_bad_target_is_a_usage_error(daemon):
    p = Proc(daemon, "watch", "no/slash")
    assert p.p.wait(20) == 4
    assert "targets" in p.p.stderr.read().decode()


def test_status_watch_prints_a_table_per_change_when_not_a_tty(daemon, tracked):
    w = daemon.client()
    w.call("state.record", record_params("codex", {tracked: ZERO}))
    p = Proc(daemon, "status", "--watch")
    first = p.lines_until(lambda l: l.startswith("opencode"))
    assert any(l.startswith("codex ") and l.endswith("1 file") for l in first), first
    wait_subscribed(daemon, 1)
    w.call("state.accept", {"target": "codex", "paths": [tracked]})
    second = p.lines_until(lambda l: l.startswith("opencode"))
    assert any(l.startswith("codex ") and l.endswith("none") for l in second), second
    rc, rest, err = p.stop()
    assert rc == 0 and err == "", (rc, rest, err)


def test_status_watch_json(daemon, tracked):
    w = daemon.client()
    p = Proc(daemon, "--json", "status", "--watch")
    assert json.loads(p.line())["never_synced"] == ["codex", "gemini", "opencode"]
    wait_subscribed(daemon, 1)
    w.call("state.record", record_params("codex", {tracked: ZERO}))
    doc = json.loads(p.line())
    assert doc["drift_targets"] == ["codex"] and doc["never_synced"] == ["gemini", "opencode"]
    rc, _, err = p.stop()
    assert rc == 0 and err == ""
