"""state.subscribe / state.unsubscribe and the notifications state.changed and
state.drifted (docs/PROTOCOL.md, "Notifications"), against the real daemon.

The file watcher is a separate piece: here drift changes are made through
records and accepts (a record with another hash makes a file "changed"), and
the tests that edit files on disk live with the watcher's tests."""
import hashlib
import json
import os
import select
import socket
import time

import pytest

from conftest import record_params

# ASan keeps freed memory in quarantine (256 MB by default): RSS says
# nothing about what the daemon holds there.
SANITIZED = os.environ.get("HS_SANITIZED", "0") in ("1", "ON", "TRUE", "true")


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Sub:
    """A connection that keeps every message it reads, so that a test can
    wait for a notification while answers interleave."""

    def __init__(self, daemon, lsp=False, rcvbuf=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(daemon.socket)
        self.lsp = lsp
        self.buf = b""
        self.seen = []  # notifications read and not yet taken
        self.next_id = 1

    def close(self):
        self.sock.close()

    def send(self, obj):
        body = json.dumps(obj).encode()
        if self.lsp:
            self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        else:
            self.sock.sendall(body + b"\n")

    def _frame(self):
        """One complete message from the buffer, or None."""
        if self.lsp:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return None
            assert head.lower().startswith(b"content-length:"), head
            n = int(head.split(b":")[1])
            if len(rest) < n:
                return None
            self.buf = rest[n:]
            return json.loads(rest[:n])
        line, sep, rest = self.buf.partition(b"\n")
        if not sep:
            return None
        self.buf = rest
        return json.loads(line)

    def read(self, timeout=20.0):
        """The next message, or None after `timeout` s without one."""
        deadline = time.monotonic() + timeout
        while True:
            m = self._frame()
            if m is not None:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return None
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("the daemon closed the connection")
            self.buf += chunk

    def request(self, method, params=None):
        """The response to a request; notifications read meanwhile are kept."""
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        while True:
            m = self.read()
            assert m is not None, "no answer to %s" % method
            if "id" in m:
                assert m["id"] == rid, m
                return m
            self.seen.append(m)

    def call(self, method, params=None):
        r = self.request(method, params)
        assert "error" not in r, r
        return r["result"]

    def wait(self, pred, timeout=20.0):
        """The first notification (kept or new) that satisfies pred, taken
        out of the kept ones."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.seen):
                if pred(m):
                    del self.seen[i]
                    return m
            left = deadline - time.monotonic()
            m = self.read(max(left, 0))
            if m is None:
                raise AssertionError("no matching notification within %g s; seen: %s" % (timeout, self.seen[-5:]))
            assert "id" not in m, m
            self.seen.append(m)

    def drained(self, quiet=0.5):
        """Every notification that arrives until `quiet` s pass without one."""
        out = list(self.seen)
        self.seen.clear()
        while True:
            m = self.read(quiet)
            if m is None:
                return out
            out.append(m)


def drifted(target, **kw):
    def pred(m):
        if m.get("method") != "state.drifted" or m["params"]["target"] != target:
            return False
        return all(m["params"].get(k) == v for k, v in kw.items())
    return pred


def changed(kind, **kw):
    def pred(m):
        if m.get("method") != "state.changed" or m["params"]["kind"] != kind:
            return False
        return all(m["params"].get(k) == v for k, v in kw.items())
    return pred


@pytest.fixture
def files(tmp):
    """Three files with known content, and their hashes."""
    out = {}
    for name in ("a.md", "b.md", "c.md"):
        p = os.path.join(tmp, name)
        with open(p, "wb") as f:
            f.write(name.encode())
        out[p] = sha(name.encode())
    return out


def paths_of(files):
    return sorted(files)


def test_subscribe_answers_then_sends_the_drift_of_each_tracked_target(daemon, files, tmp):
    a, b, c = paths_of(files)
    w = daemon.client()
    w.call("state.record", record_params("codex", {a: files[a]}))
    w.call("state.record", record_params("gemini", {b: "0" * 64, os.path.join(tmp, "gone"): files[c]}))
    s = Sub(daemon)
    s.send({"jsonrpc": "2.0", "id": 1, "method": "state.subscribe"})
    first = s.read()
    assert first == {"jsonrpc": "2.0", "id": 1, "result": {"subscription": first["result"]["subscription"]}}
    sub = first["result"]["subscription"]
    assert isinstance(sub, int) and sub >= 1
    got = {m["params"]["target"]: m for m in (s.read(), s.read())}
    assert got["codex"] == {"jsonrpc": "2.0", "method": "state.drifted",
                            "params": {"subscription": sub, "target": "codex", "changed": [], "removed": [],
                                       "errors": []}}
    assert got["gemini"]["params"] == {"subscription": sub, "target": "gemini", "changed": [b],
                                       "removed": [os.path.join(tmp, "gone")], "errors": []}
    assert s.drained() == []  # one each, nothing for untracked targets
    info = w.call("daemon.info")["subscriptions"]
    assert info["count"] == 1 and info["connections"] == 1 and info["targets"] == 2


def test_the_drift_is_the_one_state_drift_answers(daemon, files, tmp):
    a, b, c = paths_of(files)
    unreadable = os.path.join(tmp, "dir")
    os.mkdir(unreadable)
    w = daemon.client()
    w.call("state.record", record_params("codex", {a: files[b], b: files[b], unreadable: "1" * 64,
                                                   os.path.join(tmp, "gone"): files[c]}))
    s = Sub(daemon)
    sub = s.call("state.subscribe", {"targets": ["codex"]})["subscription"]
    m = s.wait(drifted("codex"))["params"]
    d = w.call("state.drift", {"target": "codex"})
    assert m == {"subscription": sub, "target": "codex", "changed": d["changed"], "removed": d["removed"],
                 "errors": d["errors"]}
    assert m["changed"] == [a] and m["removed"] == [os.path.join(tmp, "gone")] and m["errors"][0]["path"] == unreadable


def test_targets_filter_and_targets_recorded_later(daemon, files):
    a, b, c = paths_of(files)
    w = daemon.client()
    w.call("state.record", record_params("codex", {a: files[a]}))
    w.call("state.record", record_params("gemini", {b: files[b]}))
    only = Sub(daemon)
    sub = only.call("state.subscribe", {"targets": ["codex", "cursor"]})["subscription"]
    every = Sub(daemon)
    every.call("state.subscribe")
    only.wait(drifted("codex"))
    every.wait(drifted("codex"))
    every.wait(drifted("gemini"))
    assert only.drained() == []  # gemini is not subscribed; cursor is not tracked (yet)
    # A target recorded later: its subscribers (by name, or "all") hear of it.
    w.call("state.record", record_params("cursor", {c: "0" * 64}))
    assert only.wait(changed("recorded"))["params"]["target"] == "cursor"
    assert only.wait(drifted("cursor"))["params"] == {"subscription": sub, "target": "cursor", "changed": [c],
                                                      "removed": [], "errors": []}
    every.wait(changed("recorded", target="cursor"))
    every.wait(drifted("cursor", changed=[c]))
    w.call("state.record", record_params("gemini", {b: files[b]}))
    assert [m for m in only.drained() if m["params"].get("target") == "gemini"] == []


def test_account(daemon, files):
    a, b, _ = paths_of(files)
    w = daemon.client()
    w.call("state.record", record_params("codex", {a: files[a]}))
    w.call("state.record", record_params("codex", {b: "0" * 64}, account="work"))
    s = Sub(daemon)
    sub = s.call("state.subscribe", {"account": "work"})["subscription"]
    m = s.wait(drifted("codex"))
    assert m["params"] == {"subscription": sub, "target": "codex", "account": "work", "changed": [b],
                           "removed": [], "errors": []}
    assert s.drained() == []  # the top-level codex is another target
    w.call("state.record", record_params("codex", {a: "0" * 64}))
    assert s.drained() == []
    w.call("state.clear", {"target": "codex", "account": "work"})
    m = s.wait(changed("cleared"))
    assert m["params"]["account"] == "work" and m["params"]["target"] == "codex"


@pytest.mark.parametrize("method,params,field", [
    ("state.subscribe", {"targets": "codex"}, "targets"),
    ("state.subscribe", {"targets": [1]}, "targets"),
    ("state.subscribe", {"targets": ["no/slash"]}, "targets"),
    ("state.subscribe", {"targets": []}, "targets"),
    ("state.subscribe", {"account": ""}, "account"),
    ("state.subscribe", {"account": 5}, "account"),
    ("state.subscribe", {"target": "codex"}, "target"),
    ("state.unsubscribe", {}, "subscription"),
    ("state.unsubscribe", {"subscription": "1"}, "subscription"),
    ("state.unsubscribe", {"subscription": -1}, "subscription"),
    ("state.unsubscribe", {"subscription": 1.0}, "subscription"),
    ("state.unsubscribe", {"subscription": 12345}, "subscription"),
])
def test_bad_params(daemon, method, params, field):
    r = daemon.client().request(method, params)
    assert r["error"]["code"] == -32602, r
    assert r["error"]["data"]["field"] == field, r


def test_unsubscribe_stops_notifications_and_twice_is_an_error(daemon, files):
    a = paths_of(files)[0]
    s = Sub(daemon)
    sub = s.call("state.subscribe")["subscription"]
    other = s.call("state.subscribe", {"targets": ["codex"]})["subscription"]
    assert other != sub
    assert s.call("state.unsubscribe", {"subscription": sub}) is True
    r = s.request("state.unsubscribe", {"subscription": sub})
    assert r["error"]["code"] == -32602 and r["error"]["data"]["field"] == "subscription", r
    assert s.call("state.unsubscribe", {"subscription": other}) is True
    # Another connection cannot end (or even see) this one's subscriptions.
    t = Sub(daemon)
    mine = t.call("state.subscribe")["subscription"]
    r = s.request("state.unsubscribe", {"subscription": mine})
    assert r["error"]["code"] == -32602, r
    w = daemon.client()
    w.call("state.record", record_params("codex", {a: files[a]}))
    t.wait(changed("recorded"))
    t.wait(drifted("codex"))
    s.call("daemon.ping")
    assert s.drained() == []
    assert daemon.client().call("daemon.info")["subscriptions"]["count"] == 1


def test_state_changed_comes_after_the_change_is_durable(daemon, files):
    a = paths_of(files)[0]
    s = Sub(daemon)
    sub = s.call("state.subscribe")["subscription"]
    w = daemon.client()
    for i in range(20):
        w.send({"jsonrpc": "2.0", "id": i, "method": "state.record",
                "params": record_params("t%d" % i, {a: files[a]}, synced=i)})
        m = s.wait(changed("recorded", target="t%d" % i))
        # Read the file the moment the notification arrives: the record is there.
        entry = daemon.state()["targets"]["t%d" % i]
        assert entry["items_synced"] == i
        assert m["params"]["subscription"] == sub
        assert m["params"]["last_sync"] == daemon.state()["last_sync"] == entry["last_sync"]
        w.read_line()


def test_kinds_of_every_change(daemon, files, tmp):
    a, b, _ = paths_of(files)
    old = os.path.join(tmp, "cc2all")
    os.mkdir(old)
    with open(os.path.join(old, "sync-state.json"), "w") as f:
        json.dump({"last_sync": "2026-01-02T03:04:05.000006"}, f)
    s = Sub(daemon)
    sub = s.call("state.subscribe")["subscription"]
    work = s.call("state.subscribe", {"account": "work"})["subscription"]
    w = daemon.client()

    def expect(kind, subscription=sub, **fields):
        m = s.wait(lambda m: m["method"] == "state.changed" and m["params"]["subscription"] == subscription)
        assert m["params"]["kind"] == kind, m
        for k, v in fields.items():
            assert m["params"].get(k, "absent") == v, (k, m)
        return m["params"]

    rec = w.call("state.record", record_params("codex", {a: files[b]}))
    p = expect("recorded", target="codex", account="absent")
    assert p["last_sync"] == rec["last_sync"]
    w.call("state.accept", {"target": "codex", "paths": [a]})
    expect("accepted", target="codex")
    w.call("state.clear", {"target": "codex"})
    expect("cleared", target="codex")
    # A clear that removes nothing writes nothing and says nothing.
    assert w.call("state.clear", {"target": "codex"}) == {"cleared": False}
    w.call("settings.dry_run", {"enabled": True})
    expect("dry_run", target=None)
    expect("dry_run", subscription=work, target=None)
    w.call("settings.dry_run")  # a read: nothing
    w.call("plugins.record", {"plugins": {"p": {"version": "1"}}})
    expect("plugins", target=None)
    expect("plugins", subscription=work, target=None)
    w.call("health.record", {"target": "codex", "score": 50})
    expect("health", target="codex")
    expect("health", subscription=work, target="codex")  # health scores are per target name, in no account
    assert w.call("state.migrate_cc2all", {"old_state_dir": old})["migrated"] is True
    expect("migrated", target=None, last_sync="2026-01-02T03:04:05.000006")
    expect("migrated", subscription=work, target=None)
    assert w.call("state.migrate_cc2all", {"old_state_dir": os.path.join(tmp, "none")})["migrated"] is False
    w.call("state.record", record_params("codex", {a: files[a]}, account="work"))
    p = expect("recorded", subscription=work, target="codex", account="work")
    assert p["last_sync"] == daemon.state()["accounts"]["work"]["last_sync"]
    assert [m for m in s.drained() if m["method"] == "state.changed"] == []


def test_drift_follows_what_is_tracked(daemon, files):
    a, b, _ = paths_of(files)
    s = Sub(daemon)
    sub = s.call("state.subscribe", {"targets": ["codex"]})["subscription"]
    w = daemon.client()
    w.call("state.record", record_params("codex", {a: files[a], b: "0" * 64}))
    s.wait(changed("recorded"))
    s.wait(drifted("codex", changed=[b], removed=[]))
    w.call("state.accept", {"target": "codex", "paths": [b]})
    s.wait(changed("accepted"))
    m = s.wait(drifted("codex"))
    assert m["params"] == {"subscription": sub, "target": "codex", "changed": [], "removed": [], "errors": []}
    # The same drift again is not sent again.
    w.call("state.record", record_params("codex", {a: files[a], b: files[b]}))
    s.wait(changed("recorded"))
    assert [m for m in s.drained() if m["method"] == "state.drifted"] == []
    # A clear: no drift (the target is not tracked); recording it again sends it.
    w.call("state.clear", {"target": "codex"})
    s.wait(changed("cleared"))
    assert s.drained() == []
    w.call("state.record", record_params("codex", {a: files[a]}))
    s.wait(drifted("codex", changed=[]))


def test_lsp_connection_gets_lsp_notifications(daemon, files):
    a = paths_of(files)[0]
    w = daemon.client()
    w.call("state.record", record_params("codex", {a: "0" * 64}))
    s = Sub(daemon, lsp=True)
    sub = s.call("state.subscribe")["subscription"]  # Sub parses LSP frames only
    assert s.wait(drifted("codex"))["params"] == {"subscription": sub, "target": "codex", "changed": [a],
                                                  "removed": [], "errors": []}
    w.call("state.record", record_params("codex", {a: files[a]}))
    s.wait(changed("recorded"))
    s.wait(drifted("codex", changed=[]))
    assert s.buf == b""


def test_disconnect_ends_subscriptions(daemon, files):
    a = paths_of(files)[0]
    w = daemon.client()
    w.call("state.record", record_params("codex", {a: files[a]}))
    subs = [Sub(daemon) for _ in range(5)]
    for s in subs:
        s.call("state.subscribe")
        s.call("state.subscribe", {"targets": ["codex"]})
        s.wait(drifted("codex"))
    info = w.call("daemon.info")["subscriptions"]
    assert info == {"count": 10, "connections": 5, "targets": 1, "resyncs": 0}
    for s in subs[:4]:
        s.close()
    deadline = time.monotonic() + 10
    while w.call("daemon.info")["subscriptions"]["count"] != 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert w.call("daemon.info")["subscriptions"]["connections"] == 1
    subs[4].sock.shutdown(socket.SHUT_RDWR)
    subs[4].close()
    while w.call("daemon.info")["subscriptions"]["count"] != 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert w.call("daemon.info")["subscriptions"] == {"count": 0, "connections": 0, "targets": 0, "resyncs": 0}
    w.call("state.record", record_params("codex", {a: "0" * 64}))  # nobody to tell
    assert w.call("daemon.ping") == "pong"


def test_another_writer_gives_reloaded(daemon, files):
    a = paths_of(files)[0]
    w = daemon.client()
    w.call("state.record", record_params("codex", {a: files[a]}))
    s = Sub(daemon)
    s.call("state.subscribe")
    s.wait(drifted("codex", changed=[]))
    doc = daemon.state()
    doc["targets"]["codex"]["file_hashes"][a] = "0" * 64
    tmp_path = os.path.join(daemon.state_dir, "other.tmp")
    with open(tmp_path, "w") as f:
        json.dump(doc, f)
    os.rename(tmp_path, os.path.join(daemon.state_dir, "state.json"))
    m = s.wait(changed("reloaded"))
    assert m["params"]["target"] is None
    s.wait(drifted("codex", changed=[a]))


def test_a_connection_holds_at_most_64_subscriptions(daemon):
    s = Sub(daemon)
    ids = [s.call("state.subscribe", {"targets": ["t%d" % i]})["subscription"] for i in range(64)]
    assert len(set(ids)) == 64
    r = s.request("state.subscribe")
    assert r["error"]["code"] == -32602 and r["error"]["data"]["field"] == "targets", r
    s.call("state.unsubscribe", {"subscription": ids[0]})
    s.call("state.subscribe")


def vmrss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_hundred_subscribers_and_one_that_does_not_read(daemon, tmp):
    f = os.path.join(tmp, "f.md")
    with open(f, "wb") as fh:
        fh.write(b"x")
    good = sha(b"x")

    def big(n):
        # Paths that do not exist: a drift of 800 "removed", about 200 KB,
        # with no hashing and few paths to watch; each n gives another drift.
        return {os.path.join(tmp, "gone-%d-%04d-%s" % (n, i, "y" * 220)): good for i in range(800)}

    w = daemon.client()
    w.call("state.record", record_params("codex", {f: good}))
    w.call("state.record", record_params("big", big(0)))
    stuck = Sub(daemon, rcvbuf=4096)
    stuck.call("state.subscribe")  # codex and big: its socket fills at once
    readers = []
    for _ in range(100):
        r = Sub(daemon)
        r.call("state.subscribe", {"targets": ["codex"]})
        readers.append(r)
    for r in readers:
        r.wait(drifted("codex", changed=[]))
    pid = daemon.proc.pid
    before = vmrss_kb(pid)
    peak = before
    # A burst: 400 drifts of big (80 MB of notifications for the stuck
    # subscriber, were they all kept) and 360 records of codex, pipelined 9
    # at a time. The readers keep up (as a client does); the stuck one
    # reads nothing.
    for n in range(400):
        w.call("state.record", record_params("big", big(n + 1)))
        if n % 10:
            continue
        for i in range(9):
            w.send({"jsonrpc": "2.0", "id": i, "method": "state.record",
                    "params": record_params("codex", {f: "%064x" % (n * 10 + i + 1)})})
        for i in range(9):
            assert "result" in w.read_line()
        for r in readers:
            r.drained(quiet=0.001)
        peak = max(peak, vmrss_kb(pid))
    # The last word: codex is clean again (every change of the burst left
    # it drifted).
    w.call("state.record", record_params("codex", {f: good}))
    for r in readers:
        r.wait(drifted("codex", changed=[]), timeout=60)
    # The stuck subscriber's backlog is bounded (a mailbox, not a queue of
    # every notification): the daemon did not grow with the burst.
    if not SANITIZED:
        assert peak - before < 32 * 1024, (before, peak)
    assert w.call("daemon.ping") == "pong"
    assert w.call("daemon.info")["subscriptions"]["resyncs"] == 0  # owed, not yet sent
    # Now it reads: it is resynced, and ends with the latest drift.
    stuck.wait(changed("reloaded"), timeout=60)
    stuck.wait(drifted("codex", changed=[]), timeout=60)
    last = stuck.wait(lambda m: drifted("big")(m) and "gone-400-" in m["params"]["removed"][0], timeout=60)
    assert len(last["params"]["removed"]) == 800
    assert w.call("daemon.info")["subscriptions"]["resyncs"] == 1


def test_notifications_follow_the_framing_of_the_latest_message(daemon, files):
    a = paths_of(files)[0]
    w = daemon.client()
    s = Sub(daemon)
    s.call("state.subscribe")
    # The same connection speaks LSP from now on: so do its notifications.
    s.lsp = True
    assert s.call("daemon.ping") == "pong"
    w.call("state.record", record_params("codex", {a: "0" * 64}))
    s.wait(changed("recorded"))
    s.wait(drifted("codex", changed=[a]))
    assert s.buf == b""


def test_subscribe_in_a_batch(daemon, files):
    a = paths_of(files)[0]
    daemon.client().call("state.record", record_params("codex", {a: files[a]}))
    s = Sub(daemon)
    s.send([{"jsonrpc": "2.0", "id": 1, "method": "state.subscribe", "params": {"targets": ["codex"]}},
            {"jsonrpc": "2.0", "id": 2, "method": "daemon.ping"},
            {"jsonrpc": "2.0", "method": "state.subscribe"}])  # a notification: subscribed, no answer
    answers = s.read()
    assert isinstance(answers, list) and sorted(r["id"] for r in answers) == [1, 2], answers
    sub = next(r for r in answers if r["id"] == 1)["result"]["subscription"]
    got = sorted(m["params"]["subscription"] for m in (s.read(), s.read()))
    assert got == [sub, sub + 1]
    assert s.drained() == []
