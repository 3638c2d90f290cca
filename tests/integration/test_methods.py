"""Every method of PROTOCOL.md against the real daemon."""
import hashlib
import json
import os

import pytest

from conftest import record_params

H1 = "a" * 64
H2 = "b" * 64


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_daemon_info(daemon):
    info = daemon.client().call("daemon.info")
    assert info["name"] == "harnesssyncd"
    assert info["protocol"] == 1
    assert info["pid"] == daemon.proc.pid
    assert info["state_file"] == os.path.join(daemon.state_dir, "state.json")
    assert info["socket"] == daemon.socket
    assert isinstance(info["uptime_ms"], int) and info["uptime_ms"] >= 0
    assert len(info["version"].split(".")) == 3
    assert "state.record" in info["methods"] and "rpc.discover" in info["methods"]


def test_rpc_discover_is_openrpc_of_the_dispatch_table(daemon):
    c = daemon.client()
    doc = c.call("rpc.discover")
    assert doc["openrpc"].startswith("1.2")
    names = [m["name"] for m in doc["methods"]]
    assert names == c.call("daemon.info")["methods"]
    for m in doc["methods"]:
        assert m["summary"] and "result" in m and "schema" in m["result"]
        for p in m["params"]:
            assert set(p) >= {"name", "required", "schema"}
        # Every listed method dispatches (a -32602 for missing params is fine;
        # -32601 would mean the table and the dispatcher disagree).
        if m["name"] != "daemon.shutdown":
            assert c.request(m["name"], {}).get("error", {}).get("code") != -32601
    record = next(m for m in doc["methods"] if m["name"] == "state.record")
    req = {p["name"] for p in record["params"] if p["required"]}
    assert req == {"target", "scope", "file_hashes", "synced", "skipped", "failed"}


def test_record_target_all_clear(daemon):
    c = daemon.client()
    entry = c.call("state.record", record_params("codex", {"/a": H1}, synced=3, skipped=1, failed=2,
                                                  sync_methods={"/a": "symlink"}))
    assert entry["target"] == "codex" and entry["status"] == "partial"
    assert entry["sync_method"] == {"/a": "symlink"}
    stored = c.call("state.target", {"target": "codex"})
    assert stored == {k: v for k, v in entry.items() if k != "target"}
    assert daemon.state()["targets"]["codex"] == stored
    assert c.call("state.record", record_params("gemini", failed=1, synced=0))["status"] == "failed"
    doc = c.call("state.all")
    assert set(doc["targets"]) == {"codex", "gemini"} and doc["version"] == 1
    assert c.call("state.clear", {"target": "codex"}) == {"cleared": True}
    assert c.call("state.clear", {"target": "codex"}) == {"cleared": False}
    assert c.call("state.target", {"target": "codex"}) is None
    assert set(daemon.state()["targets"]) == {"gemini"}


def test_accounts(daemon):
    c = daemon.client()
    c.call("state.record", record_params("codex", {"/w": H1}, account="work"))
    assert c.call("state.target", {"target": "codex"}) is None
    assert c.call("state.target", {"target": "codex", "account": "work"})["file_hashes"] == {"/w": H1}
    st = daemon.state()
    assert st["version"] == 2 and "codex" in st["accounts"]["work"]["targets"]
    d = c.call("state.drift", {"target": "codex", "account": "work", "current_hashes": {"/w": H2}})
    assert d["changed"] == ["/w"]
    assert c.call("state.clear", {"target": "codex", "account": "work"}) == {"cleared": True}


def test_drift_with_caller_hashes(daemon):
    c = daemon.client()
    untracked = c.call("state.drift", {"target": "codex", "current_hashes": {"/x": H1}})
    assert untracked == {"target": "codex", "tracked": False, "drifted": ["/x"], "changed": [], "added": ["/x"],
                         "removed": [], "errors": []}
    c.call("state.record", record_params("codex", {"/a": H1, "/b": H1, "/c": H1[:16]}))
    d = c.call("state.drift", {"target": "codex", "current_hashes": {"/n": H2, "/b": H2, "/c": H1}})
    assert d["tracked"] is True
    assert d["drifted"] == ["/n", "/b", "/a"]
    assert (d["changed"], d["added"], d["removed"]) == (["/b"], ["/n"], ["/a"])


def test_drift_by_hashing_the_stored_paths(daemon, tmp):
    c = daemon.client()
    same, changed, gone, adir = (os.path.join(tmp, n) for n in ("same", "changed", "gone", "adir"))
    for p, data in ((same, b"same"), (changed, b"v1")):
        with open(p, "wb") as f:
            f.write(data)
    os.mkdir(adir)
    c.call("state.record", record_params("codex", {same: sha(b"same"), changed: sha(b"v1")[:16],
                                                   gone: sha(b"x"), adir: H1}))
    with open(changed, "wb") as f:
        f.write(b"v2")
    d = c.call("state.drift", {"target": "codex"})
    assert d["changed"] == [changed] and d["removed"] == [gone] and d["added"] == []
    assert d["drifted"] == [changed, gone]
    assert d["errors"] == [{"path": adir, "reason": "not a regular file"}]


def test_accept(daemon, tmp):
    c = daemon.client()
    f1, gone = os.path.join(tmp, "f1"), os.path.join(tmp, "gone")
    with open(f1, "wb") as f:
        f.write(b"new")
    c.call("state.record", record_params("codex", {f1: H1[:16], gone: H1}, synced=5))
    r = c.call("state.accept", {"target": "codex", "paths": [f1, gone]})
    assert r == {"updated": [f1], "removed": [gone]}
    e = c.call("state.target", {"target": "codex"})
    assert e["file_hashes"] == {f1: sha(b"new")[:16]} and e["items_synced"] == 5
    assert c.call("state.drift", {"target": "codex"})["drifted"] == []
    err = c.request("state.accept", {"target": "gemini", "paths": [f1]})["error"]
    assert err["code"] == -32602 and err["data"]["field"] == "target"
    err = c.request("state.accept", {"target": "codex", "paths": [tmp]})["error"]
    assert err["code"] == -32602 and err["data"]["field"] == "paths"


def test_migrate_cc2all(daemon, tmp):
    c = daemon.client()
    old = os.path.join(tmp, "cc2all")
    assert c.call("state.migrate_cc2all", {"old_state_dir": old}) == {"migrated": False, "last_sync": None}
    os.mkdir(old)
    with open(os.path.join(old, "sync-state.json"), "w") as f:
        json.dump({"last_sync": "2025-01-02T03:04:05.000006"}, f)
    r = c.call("state.migrate_cc2all", {"old_state_dir": old})
    assert r == {"migrated": True, "last_sync": "2025-01-02T03:04:05.000006"}
    st = daemon.state()
    assert st["last_sync"] == "2025-01-02T03:04:05.000006" and "migrated_from_cc2all" in st


def test_hash_files(daemon, tmp):
    c = daemon.client()
    p = os.path.join(tmp, "f")
    with open(p, "wb") as f:
        f.write(b"hello")
    link = os.path.join(tmp, "link")
    os.symlink(p, link)
    r = c.call("hash.files", {"paths": [p, link, os.path.join(tmp, "missing"), tmp]})
    assert r == {p: sha(b"hello"), link: sha(b"hello"), os.path.join(tmp, "missing"): None, tmp: None}


@pytest.mark.parametrize("method,params,field", [
    ("state.record", {"scope": "all", "file_hashes": {}, "synced": 1, "skipped": 0, "failed": 0}, "target"),
    ("state.record", record_params("bad name"), "target"),
    ("state.record", record_params("x" * 65), "target"),
    ("state.record", record_params("codex", account="a/b"), "account"),
    ("state.record", record_params("codex", synced=-1), "synced"),
    ("state.record", record_params("codex", skipped=2**53), "skipped"),
    ("state.record", record_params("codex", failed=1.0), "failed"),
    ("state.record", record_params("codex", failed="1"), "failed"),
    ("state.record", record_params("codex", {"/a": 1}), "file_hashes"),
    ("state.record", record_params("codex", {"": "x"}), "file_hashes"),
    ("state.record", record_params("codex", {"/" + "x" * 4096: "x"}), "file_hashes"),
    ("state.record", record_params("codex", {"/a\u0000b": "x"}), "file_hashes"),
    ("state.record", record_params("codex", sync_methods=[]), "sync_methods"),
    ("state.record", dict(record_params("codex"), scope=5), "scope"),
    ("state.record", dict(record_params("codex"), extra=1), "extra"),
    ("state.drift", {"target": "codex", "current_hashes": {"/a": None}}, "current_hashes"),
    ("state.target", {}, "target"),
    ("state.target", {"target": 5}, "target"),
    ("state.clear", {"target": "codex", "acount": "typo"}, "acount"),
    ("state.accept", {"target": "codex"}, "paths"),
    ("state.accept", {"target": "codex", "paths": "/a"}, "paths"),
    ("state.accept", {"target": "codex", "paths": [1]}, "paths"),
    ("state.migrate_cc2all", {"old_state_dir": ""}, "old_state_dir"),
    ("hash.files", {"paths": [""]}, "paths"),
    ("daemon.ping", {"unexpected": True}, "unexpected"),
    ("state.all", {"x": 1}, "x"),
])
def test_invalid_params_name_the_field_and_change_nothing(daemon, method, params, field):
    c = daemon.client()
    before = c.call("state.all")
    resp = c.request(method, params)
    err = resp["error"]
    assert err["code"] == -32602, resp
    assert err["data"]["field"] == field
    assert err["data"]["reason"]
    assert c.call("state.all") == before


def test_unicode_paths_round_trip(daemon):
    c = daemon.client()
    c.call("state.record", record_params("codex", {"/home/ü/✓ 文件.md": H1}))
    with open(os.path.join(daemon.state_dir, "state.json"), encoding="utf-8") as f:
        text = f.read()
    assert "/home/ü/✓ 文件.md" in text  # kept as UTF-8, not \u-escaped
    assert c.call("state.target", {"target": "codex"})["file_hashes"] == {"/home/ü/✓ 文件.md": H1}


def test_every_method_checks_its_params_as_rpc_discover_describes_them(daemon):
    """Driven by rpc.discover alone: each method refuses an unknown param, a
    missing required one and a wrong-typed one, naming the field, before it
    does anything (daemon.shutdown included)."""
    c = daemon.client()
    before = c.call("state.all")

    def sample(schema):  # a value that satisfies the schemas the daemon publishes
        if schema["type"] == "array":
            return [sample(schema.get("items", {"type": "string"}))] * schema.get("minItems", 0)
        if schema["type"] == "string" and schema.get("pattern") == "^/":
            return "/tmp"
        return {"string": "codex", "integer": 1, "number": 1.5, "boolean": True, "object": {}}[schema["type"]]

    def wrong(schema):  # a value of a kind the schema refuses
        return [1] if schema["type"] == "boolean" else True

    for m in c.call("rpc.discover")["methods"]:
        valid = {p["name"]: sample(p["schema"]) for p in m["params"] if p["required"]}
        resp = c.request(m["name"], dict(valid, no_such_param=1))
        assert resp["error"]["code"] == -32602, (m["name"], resp)
        assert resp["error"]["data"] == {"field": "no_such_param", "reason": "unknown parameter"}
        for p in m["params"]:
            if p["required"]:
                missing = {k: v for k, v in valid.items() if k != p["name"]}
                resp = c.request(m["name"], missing)
                assert resp["error"]["data"] == {"field": p["name"], "reason": "missing"}, (m["name"], resp)
            resp = c.request(m["name"], dict(valid, **{p["name"]: wrong(p["schema"])}))
            assert resp["error"]["code"] == -32602 and resp["error"]["data"]["field"] == p["name"], (m["name"], resp)
    assert c.call("daemon.ping") == "pong"
    assert c.call("state.all") == before
