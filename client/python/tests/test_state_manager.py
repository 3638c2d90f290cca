"""harnesssync.StateManager against the real daemon: HarnessSync 0.1.4's API
and semantics. Tests of methods the daemon does not serve yet carry
daemon_method / daemon_info markers: they are skipped only while the daemon
lacks them, and run as soon as it has them."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PKG_DIR, raw_call
from harnesssync import Client, StateError, StateManager
from harnesssync.errors import InvalidParams

H1 = "a" * 64
H2 = "b" * 64
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


@pytest.fixture
def sm(env):
    m = StateManager(state_dir=Path(env["tmp"]) / "state")
    yield m
    m.close()


# -- served by today's daemon ---------------------------------------------

def test_construction_and_paths(env, sm):
    assert sm.state_dir == Path(env["tmp"]) / "state"
    assert sm.state_file == Path(env["tmp"]) / "state" / "state.json"
    assert isinstance(sm.state_file, Path)
    assert sm.last_sync is None
    d = StateManager()
    assert d.state_dir == Path(env["home"]) / ".harnesssync"
    d.close()


def test_default_state_dir_honours_harnesssync_home(env, monkeypatch):
    monkeypatch.setenv("HARNESSSYNC_HOME", os.path.join(env["tmp"], "hh"))
    m = StateManager()
    assert m.state_dir == Path(env["tmp"]) / "hh"
    m.record_sync("codex", "all", {}, {}, 1, 0, 0)
    assert (Path(env["tmp"]) / "hh" / "state.json").exists()
    m.close()


def test_record_sync_and_get_target_status(sm):
    assert sm.record_sync("codex", "user", {"/a": H1}, {"/s": "symlink"}, 3, 1, 0) is None
    st = sm.get_target_status("codex")
    assert st == {"last_sync": st["last_sync"], "status": "success", "scope": "user", "file_hashes": {"/a": H1},
                  "sync_method": {"/s": "symlink"}, "items_synced": 3, "items_skipped": 1, "items_failed": 0}
    assert ISO.match(st["last_sync"]) and ISO.match(sm.last_sync)
    assert list(st) == ["last_sync", "status", "scope", "file_hashes", "sync_method", "items_synced",
                        "items_skipped", "items_failed"]
    sm.record_sync("gemini", "all", {}, {}, 2, 0, 1)
    sm.record_sync("opencode", "all", {}, {}, 0, 0, 3)
    assert sm.get_target_status("gemini")["status"] == "partial"
    assert sm.get_target_status("opencode")["status"] == "failed"
    # Keyword arguments, as HarnessSync calls it.
    sm.record_sync(target="cursor", scope="all", file_hashes={}, sync_methods={}, synced=0, skipped=0, failed=0)
    assert sm.get_target_status("cursor")["status"] == "success"


def test_state_survives_a_new_instance_and_the_file_is_the_daemons(env, sm):
    sm.record_sync("codex", "all", {"f": "h1"}, {"f": "copy"}, 1, 0, 0)
    other = StateManager(state_dir=sm.state_dir)
    assert other.get_target_status("codex")["status"] == "success"
    raw = sm.state_file.read_text()
    assert raw.endswith("\n") and json.loads(raw)["targets"]["codex"]["file_hashes"] == {"f": "h1"}
    assert list(sm.state_dir.glob("*.tmp")) == []
    other.close()


def test_detect_drift(sm):
    assert sm.detect_drift("codex", {"/x": H1, "/y": H2}) == ["/x", "/y"]  # never synced: all new
    sm.record_sync("codex", "all", {"/a": H1, "/b": H1, "/c": H1}, {}, 3, 0, 0)
    assert sm.detect_drift("codex", {"/a": H1, "/b": H1, "/c": H1}) == []
    assert sm.detect_drift("codex", {"/new": H2, "/b": H2, "/a": H1}) == ["/new", "/b", "/c"]
    assert sm.detect_drift("codex", {}) == ["/a", "/b", "/c"]


def test_account_scoped_record_drift_and_target(sm):
    sm.record_sync("codex", "all", {"/w": H1}, {}, 1, 0, 0, account="work")
    assert sm.get_target_status("codex") is None  # the flat targets are untouched
    assert sm.get_account_target_status("work", "codex")["file_hashes"] == {"/w": H1}
    assert sm.get_account_target_status("work", "gemini") is None
    assert sm.get_account_target_status("nobody", "codex") is None
    assert sm.detect_drift("codex", {"/w": H2}, account="work") == ["/w"]
    assert sm.detect_drift("codex", {"/w": H1}, account="work") == []
    assert sm.detect_drift("codex", {"/p": H1}, account="personal") == ["/p"]
    doc = sm.get_all_status()
    assert doc["version"] == 2 and "codex" in doc["accounts"]["work"]["targets"]
    assert ISO.match(doc["accounts"]["work"]["last_sync"])


def test_get_all_status_is_a_copy(sm):
    sm.record_sync("codex", "all", {}, {}, 1, 0, 0)
    doc = sm.get_all_status()
    doc["targets"].clear()
    assert "codex" in sm.get_all_status()["targets"]
    assert sm._state["targets"]["codex"]["status"] == "success"


def test_clear_target(sm):
    sm.record_sync("codex", "all", {}, {}, 1, 0, 0)
    sm.record_sync("gemini", "all", {}, {}, 1, 0, 0)
    assert sm.clear_target("codex") is None
    assert sm.get_target_status("codex") is None and sm.get_target_status("gemini") is not None
    sm.clear_target("never-there")  # no error


def test_migrate_from_cc2all(env):
    tmp = Path(env["tmp"])
    old, new = tmp / "old", tmp / "new"
    old.mkdir()
    m = StateManager.migrate_from_cc2all(old_state_dir=old, new_state_dir=new)
    assert isinstance(m, StateManager) and m.state_dir == new and m.last_sync is None
    assert "migrated_from_cc2all" not in m.get_all_status()
    (old / "sync-state.json").write_text(json.dumps({"last_sync": "2023-06-15T10:00:00"}))
    m2 = StateManager.migrate_from_cc2all(old_state_dir=old, new_state_dir=new)
    assert m2.last_sync == "2023-06-15T10:00:00"
    assert ISO.match(m2.get_all_status()["migrated_from_cc2all"])
    assert json.loads((old / "sync-state.json").read_text()) == {"last_sync": "2023-06-15T10:00:00"}
    m.close()
    m2.close()


def test_migrate_from_cc2all_defaults_are_under_home(env):
    home = Path(env["home"])
    (home / ".cc2all").mkdir()
    (home / ".cc2all" / "sync-state.json").write_text(json.dumps({"last_sync": "2022-01-01T00:00:00"}))
    m = StateManager.migrate_from_cc2all()
    assert m.state_dir == home / ".harnesssync" and m.last_sync == "2022-01-01T00:00:00"
    m.close()


def test_failures_raise_state_error_naming_the_cause(sm):
    with pytest.raises(StateError) as e:
        sm.record_sync("not a target!", "all", {}, {}, 1, 0, 0)
    assert "record_sync(not a target!)" in str(e.value) and "target" in str(e.value)
    assert isinstance(e.value.__cause__, InvalidParams)
    with pytest.raises(StateError, match="synced"):
        sm.record_sync("codex", "all", {}, {}, -1, 0, 0)
    with pytest.raises(StateError, match="detect_drift"):
        sm.detect_drift("codex", {"/a": 5})


def test_a_restarted_daemon_is_found_again(sm):
    sm.record_sync("codex", "all", {}, {}, 1, 0, 0)
    pid = sm._connected().info()["pid"]
    Client(state_dir=sm.state_dir).shutdown()  # as `hsctl shutdown` does for an upgrade
    sm.record_sync("gemini", "all", {}, {}, 1, 0, 0)  # starts a new daemon, applied once
    assert sm._connected().info()["pid"] != pid
    assert set(sm.get_all_status()["targets"]) == {"codex", "gemini"}


def test_usable_in_a_forked_child(sm):
    sm.record_sync("codex", "all", {}, {}, 1, 0, 0)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            sm.record_sync("child", "all", {}, {}, 1, 0, 0)
            code = 0 if sm.get_target_status("codex") else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sm.get_target_status("child") is not None and sm.get_target_status("codex") is not None


def test_never_writes_state_json_itself():
    """Everything goes through the daemon: no file writing in the package."""
    pkg = Path(PKG_DIR) / "harnesssync"
    for f in pkg.glob("*.py"):
        text = f.read_text()
        for forbidden in ("os.replace", "os.rename", "json.dump(", "NamedTemporaryFile", "write_text"):
            assert forbidden not in text, (f.name, forbidden)
    assert "open(" not in (pkg / "state_manager.py").read_text()


def daemon_argv(m):
    with open("/proc/%d/cmdline" % m._connected().info()["pid"], "rb") as f:
        return f.read().split(b"\0")


@pytest.mark.daemon_info("schema")
@pytest.mark.parametrize("schema", [None, "1", "2"])
def test_the_layout_is_the_daemons_rule(env, monkeypatch, schema):
    """StateManager passes no --schema: the daemon it starts follows
    $HARNESSSYNC_SCHEMA, else 2, as when hsctl or a unit starts it."""
    if schema is None:
        monkeypatch.delenv("HARNESSSYNC_SCHEMA")
    else:
        monkeypatch.setenv("HARNESSSYNC_SCHEMA", schema)
    m = StateManager(state_dir=Path(env["tmp"]) / "s")
    assert b"--schema" not in daemon_argv(m)
    assert m._connected().info()["schema"] == int(schema or 2)
    m.close()


def test_a_bad_layout_is_the_daemons_error(env, monkeypatch):
    monkeypatch.setenv("HARNESSSYNC_SCHEMA", "3")
    with pytest.raises(StateError, match="must be 1 or 2 .*HARNESSSYNC_SCHEMA.*'3'"):
        StateManager(state_dir=Path(env["tmp"]) / "s")


# -- accounts ------------------------------------------------------------------

@pytest.mark.daemon_method("state.account", "state.accounts")
def test_account_status_and_list(sm):
    assert sm.list_state_accounts() == []
    assert sm.get_account_status("work") is None
    sm.record_sync("codex", "all", {"/w": H1}, {}, 1, 0, 0, account="work")
    sm.record_sync("codex", "all", {}, {}, 1, 0, 0, account="personal")
    sm.record_sync("gemini", "all", {}, {}, 1, 0, 0, account="alpha")
    assert sm.list_state_accounts() == ["alpha", "personal", "work"]
    acc = sm.get_account_status("work")
    assert ISO.match(acc["last_sync"]) and set(acc["targets"]) == {"codex"}


# -- plugins -------------------------------------------------------------------

@pytest.mark.daemon_method("plugins.record", "plugins.status")
def test_plugins_record_replaces_and_status(sm):
    assert sm.get_plugin_status() == {}
    meta = {"my-plugin": {"version": "1.0", "mcp_count": 2, "mcp_servers": ["a"], "last_sync": "t"}}
    assert sm.record_plugin_sync(meta) is None
    assert sm.get_plugin_status() == meta
    before = sm.last_sync
    sm.record_plugin_sync({"new-plugin": {"version": "2.0"}})
    assert sm.get_plugin_status() == {"new-plugin": {"version": "2.0"}}
    assert sm.last_sync == before  # plugins.record changes nothing else


@pytest.mark.daemon_method("plugins.record", "plugins.status", "state.account")
def test_plugins_per_account(sm):
    sm.record_plugin_sync({"p1": {"version": "1.0"}}, account="work")
    assert sm.get_plugin_status(account="work") == {"p1": {"version": "1.0"}}
    assert sm.get_plugin_status() == {}
    assert sm.get_plugin_status(account="nobody") == {}
    assert sm.get_account_status("work")["plugins"] == {"p1": {"version": "1.0"}}


@pytest.mark.daemon_method("plugins.record", "plugins.drift")
def test_plugin_drift_reasons_exactly(sm):
    assert sm.detect_plugin_drift({"new": {"version": "1.0"}}) == {"new": "added"}  # nothing stored
    sm.record_plugin_sync({
        "same": {"version": "1.0", "mcp_count": 2},
        "gone": {"version": "1.0"},
        "ver": {"version": "1.0", "mcp_count": 2},
        "both": {"version": "1.0", "mcp_count": 2},
        "count": {"version": "1.0", "mcp_count": 2},
        "none_ver": {"mcp_count": 1},
        "float_ver": {"version": 1.0},
        "int_count": {"version": "x", "mcp_count": 3},
        "none_count": {"version": "x"},
    })
    drift = sm.detect_plugin_drift({
        "same": {"version": "1.0", "mcp_count": 2},
        "ver": {"version": "2.0", "mcp_count": 2},
        "both": {"version": "2.0", "mcp_count": 5},
        "count": {"version": "1.0", "mcp_count": 5},
        "none_ver": {"version": "1.2", "mcp_count": 1},
        "float_ver": {"version": 2.5},
        "int_count": {"version": "x", "mcp_count": 4.0},
        "none_count": {"version": "x", "mcp_count": 7},
        "fresh": {"version": "0.1"},
    })
    assert drift == {
        "gone": "removed",
        "ver": "version_changed: 1.0 -> 2.0",
        "both": "version_changed: 1.0 -> 2.0",
        "count": "mcp_count_changed: 2 -> 5",
        "none_ver": "version_changed: None -> 1.2",
        "float_ver": "version_changed: 1.0 -> 2.5",
        "int_count": "mcp_count_changed: 3 -> 4.0",
        "none_count": "mcp_count_changed: None -> 7",
        "fresh": "added",
    }


@pytest.mark.daemon_method("plugins.record", "plugins.drift")
def test_plugin_drift_per_account(sm):
    sm.record_plugin_sync({"p": {"version": "1"}}, account="work")
    assert sm.detect_plugin_drift({"p": {"version": "1"}}, account="work") == {}
    assert sm.detect_plugin_drift({"p": {"version": "1"}}, account="nobody") == {"p": "added"}
    assert sm.detect_plugin_drift({}) == {}


# -- dry run -------------------------------------------------------------------

@pytest.mark.daemon_method("settings.dry_run")
def test_global_dry_run(sm):
    assert sm.get_global_dry_run() is False
    sm.set_global_dry_run(True)
    assert sm.get_global_dry_run() is True
    other = StateManager(state_dir=sm.state_dir)
    assert other.get_global_dry_run() is True
    other.set_global_dry_run(False)
    assert sm.get_global_dry_run() is False
    assert sm.get_all_status()["global_dry_run"] is False
    other.close()


# -- health scores -------------------------------------------------------------

@pytest.mark.daemon_method("health.record", "health.history")
def test_health_record_clamp_and_history(sm):
    assert sm.get_score_history("nonexistent") == []
    sm.record_health_score("codex", 85, "good")
    sm.record_health_score("codex", -10)
    sm.record_health_score("codex", 200)
    sm.record_health_score("codex", 42.5, "warning")
    h = sm.get_score_history("codex")
    assert [e["score"] for e in h] == [85, 0, 100, 42.5]
    assert [e["label"] for e in h] == ["good", "", "", "warning"]
    assert all(ISO.match(e["timestamp"]) and list(e) == ["timestamp", "score", "label"] for e in h)
    assert isinstance(h[0]["score"], int) and isinstance(h[3]["score"], float)
    assert sm.get_score_history("gemini") == []


@pytest.mark.daemon_method("health.record", "health.history")
def test_health_history_keeps_90_and_n(sm):
    for i in range(100):
        sm.record_health_score("codex", i)
    assert [e["score"] for e in sm.get_score_history("codex", n=200)] == list(range(10, 100))
    assert [e["score"] for e in sm.get_score_history("codex", n=3)] == [97, 98, 99]
    assert len(sm.get_score_history("codex")) == 30
    assert len(sm.get_score_history("codex", n=90)) == 90
    assert len(sm.get_score_history("codex", n=0)) == 90  # HarnessSync's entries[-0:]
    assert len(sm.state_file.read_text()) > 0
    assert len(json.loads(sm.state_file.read_text())["health_score_history"]["codex"]) == 90


@pytest.mark.daemon_method("health.record", "health.history")
def test_sparkline_through_the_daemon(sm):
    assert sm.format_score_sparkline("codex") == "(no history)"
    for _ in range(5):
        sm.record_health_score("codex", 80)
    assert sm.format_score_sparkline("codex", width=10) == "▆" * 10 + "  80/100"
    sm.record_health_score("codex", 100)
    assert sm.format_score_sparkline("codex", width=3) == "▆▆█  100/100"


@pytest.mark.daemon_method("health.history")
def test_health_history_bad_n_is_invalid_params(env, start):
    d = start()
    for n in (0, 91, "5"):
        resp = raw_call(d.socket, "health.history", {"target": "codex", "n": n})
        assert resp["error"]["code"] == -32602 and resp["error"]["data"]["field"] == "n"


# -- layout 2 (what HarnessSync 0.1.4 writes) ----------------------------------

@pytest.fixture
def sm2(env, monkeypatch):
    monkeypatch.delenv("HARNESSSYNC_SCHEMA")  # the daemon's default: layout 2

    def make(name="state"):
        return StateManager(state_dir=Path(env["tmp"]) / name)
    return make


@pytest.mark.daemon_info("schema")
def test_layout2_fresh_and_written(sm2):
    m = sm2()
    assert m._connected().info()["schema"] == 2
    assert m.get_all_status() == {"version": 2, "targets": {}, "accounts": {}}
    m.record_sync("gemini", "project", {}, {}, 0, 0, 0)
    raw = json.loads(m.state_file.read_text())
    assert raw["version"] == 2 and raw["accounts"] == {} and "gemini" in raw["targets"]
    m.close()


@pytest.mark.daemon_info("schema")
def test_layout2_moves_a_version1_file_on_load(env, sm2):
    d = Path(env["tmp"]) / "v1"
    d.mkdir()
    v1 = {"version": 1, "last_sync": "2024-01-01T12:00:00",
          "targets": {"codex": {"last_sync": "2024-01-01T12:00:00", "status": "success",
                                "file_hashes": {"a.md": "hash1"}}}}
    (d / "state.json").write_text(json.dumps(v1))
    m = sm2("v1")
    on_disk = json.loads(m.state_file.read_text())  # written at once, before any change
    assert on_disk["version"] == 2
    assert on_disk["accounts"] == {"default": {"last_sync": "2024-01-01T12:00:00", "targets": v1["targets"]}}
    assert on_disk["targets"] == v1["targets"]
    assert m.get_all_status() == on_disk
    m.close()


@pytest.mark.daemon_info("schema")
def test_layout2_empty_v1_legacy_and_corrupt(env, sm2):
    tmp = Path(env["tmp"])
    for name, text in (("empty", json.dumps({"version": 1, "targets": {}})),
                       ("legacy", json.dumps({"some_old_key": "value", "targets": {"old": True}})),
                       ("beta", json.dumps({"version": "beta", "data": 123})),
                       ("corrupt", "{invalid json!!!")):
        (tmp / name).mkdir()
        (tmp / name / "state.json").write_text(text)
    m = sm2("empty")
    assert m.get_all_status() == {"version": 2, "targets": {}, "accounts": {}}
    m.close()
    m = sm2("legacy")
    st = m.get_all_status()
    assert st["version"] == 2 and st["accounts"] == {} and st["migrated_from"]["some_old_key"] == "value"
    m.close()
    m = sm2("beta")
    assert m.get_all_status()["version"] == 2
    m.close()
    m = sm2("corrupt")
    assert m.get_all_status() == {"version": 2, "targets": {}, "accounts": {}}
    assert len(list((tmp / "corrupt").glob("state.json.bak.*"))) == 1
    m.close()


@pytest.mark.daemon_info("schema")
def test_layout2_migrate_from_cc2all(env, sm2):
    tmp = Path(env["tmp"])
    (tmp / "old").mkdir()
    (tmp / "old" / "sync-state.json").write_text(json.dumps({"last_sync": "2023-06-15T10:00:00"}))
    m = StateManager.migrate_from_cc2all(old_state_dir=tmp / "old", new_state_dir=tmp / "new")
    assert m.last_sync == "2023-06-15T10:00:00" and m.get_all_status()["version"] == 2
    m.close()


@pytest.mark.daemon_info("schema")
def test_harnesssync_schema_1_keeps_layout1(env, monkeypatch):
    monkeypatch.setenv("HARNESSSYNC_SCHEMA", "1")
    m = StateManager(state_dir=Path(env["tmp"]) / "s")
    assert m._connected().info()["schema"] == 1
    m.record_sync("codex", "all", {}, {}, 1, 0, 0)
    assert json.loads(m.state_file.read_text())["version"] == 1
    m.close()


def test_drop_in_import_line(env):
    """The one-line change HarnessSync makes, in a fresh interpreter."""
    code = ("from harnesssync import StateManager\n"
            "sm = StateManager()\n"
            "sm.record_sync('codex', 'all', {}, {}, 1, 0, 0)\n"
            "print(sm.get_target_status('codex')['status'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=PKG_DIR))
    assert out.returncode == 0 and out.stdout == "success\n", out.stderr


def test_a_call_refused_by_a_stopping_daemon_is_sent_again(env, monkeypatch):
    """-32000 (shutting down) means not applied: StateManager sends it once
    more on a new connection. A fake daemon that refuses the first record."""
    import socket
    import threading
    path = os.path.join(env["tmp"], "fake.sock")
    state_dir = os.path.join(env["tmp"], "fake-state")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(4)
    records = []

    def serve():
        for conn_no in range(2):
            conn, _ = server.accept()
            f = conn.makefile("rwb")
            for line in f:
                req = json.loads(line)
                if req["method"] == "daemon.info":
                    result = {"state_file": os.path.join(state_dir, "state.json"), "pid": 1}
                    f.write((json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}) + "\n").encode())
                elif conn_no == 0:
                    f.write((json.dumps({"jsonrpc": "2.0", "id": req["id"], "error": {
                        "code": -32000, "message": "server shutting down"}}) + "\n").encode())
                else:
                    records.append(req["params"]["target"])
                    f.write((json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": {}}) + "\n").encode())
                f.flush()
                if conn_no == 1 and records:
                    break
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    monkeypatch.setenv("HARNESSSYNC_SOCKET", path)
    m = StateManager(state_dir)
    m.record_sync("codex", "all", {}, {}, 1, 0, 0)
    t.join(10)
    assert records == ["codex"]
    server.close()
