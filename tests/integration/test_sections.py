"""HarnessSync's other sections over the socket: state.account(s), plugins.*,
settings.dry_run, health.* (docs/PROTOCOL.md)."""
import json
import re
import threading

import pytest

from conftest import record_params

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def test_accounts(daemon):
    c = daemon.client()
    assert c.call("state.accounts") == []
    assert c.call("state.account", {"account": "work"}) is None
    for a in ("work", "personal", "alpha"):
        c.call("state.record", record_params("codex", account=a))
    assert c.call("state.accounts") == ["alpha", "personal", "work"]
    acc = c.call("state.account", {"account": "work"})
    assert acc == daemon.state()["accounts"]["work"]
    assert ISO.match(acc["last_sync"]) and list(acc["targets"]) == ["codex"]


def test_plugins_record_replaces_the_whole_section_and_nothing_else(daemon):
    c = daemon.client()
    assert c.call("plugins.status") == {}
    c.call("state.record", record_params("codex"))
    before = daemon.state()
    meta = {"my-plugin": {"version": "1.0", "mcp_count": 2, "mcp_servers": ["a"], "last_sync": "t"}}
    assert c.call("plugins.record", {"plugins": meta}) == {"plugins": 1}
    assert c.call("plugins.status") == meta
    assert c.call("plugins.record", {"plugins": {"new": {"version": 2.0}}}) == {"plugins": 1}
    assert c.call("plugins.status") == {"new": {"version": 2.0}}
    after = daemon.state()
    assert after.pop("plugins") == {"new": {"version": 2.0}}
    assert after == before  # last_sync and everything else as they were
    assert c.call("plugins.record", {"plugins": {}}) == {"plugins": 0}
    assert c.call("plugins.status") == {}


def test_plugins_per_account(daemon):
    c = daemon.client()
    c.call("plugins.record", {"plugins": {"p1": {"version": "1.0"}}, "account": "work"})
    assert c.call("plugins.status", {"account": "work"}) == {"p1": {"version": "1.0"}}
    assert c.call("plugins.status") == {}
    assert c.call("plugins.status", {"account": "nobody"}) == {}
    assert c.call("state.account", {"account": "work"})["plugins"] == {"p1": {"version": "1.0"}}
    assert daemon.state()["version"] == 2


def test_plugin_drift_reasons_exactly(daemon):
    c = daemon.client()
    drift = lambda cur, **kw: c.call("plugins.drift", dict({"current": cur}, **kw))["drift"]
    assert drift({"new": {"version": "1.0"}}) == {"new": "added"}  # nothing stored
    c.call("plugins.record", {"plugins": {
        "same": {"version": "1.0", "mcp_count": 2},
        "gone": {"version": "1.0"},
        "ver": {"version": "1.0", "mcp_count": 2},
        "both": {"version": "1.0", "mcp_count": 2},
        "count": {"version": "1.0", "mcp_count": 2},
        "none_ver": {"mcp_count": 1},
        "float_ver": {"version": 1.0},
        "int_count": {"version": "x", "mcp_count": 3},
        "none_count": {"version": "x"},
        "equal_numbers": {"version": 1, "mcp_count": 2.0},
        "big": {"version": 1e16, "mcp_count": 1.5e-7},
        "nested": {"version": ["a", {"b": None, "c": True}]},
    }})
    got = drift({
        "same": {"version": "1.0", "mcp_count": 2},
        "ver": {"version": "2.0", "mcp_count": 2},
        "both": {"version": "2.0", "mcp_count": 5},
        "count": {"version": "1.0", "mcp_count": 5},
        "none_ver": {"version": "1.2", "mcp_count": 1},
        "float_ver": {"version": 2.5},
        "int_count": {"version": "x", "mcp_count": 4.0},
        "none_count": {"version": "x", "mcp_count": 7},
        "equal_numbers": {"version": 1.0, "mcp_count": 2},
        "big": {"version": 1e16, "mcp_count": 0.1},
        "nested": {"version": "it's"},
        "fresh": {"version": "0.1"},
    })
    assert got == {
        "gone": "removed",
        "ver": "version_changed: 1.0 -> 2.0",
        "both": "version_changed: 1.0 -> 2.0",
        "count": "mcp_count_changed: 2 -> 5",
        "none_ver": "version_changed: None -> 1.2",
        "float_ver": "version_changed: 1.0 -> 2.5",
        "int_count": "mcp_count_changed: 3 -> 4.0",
        "none_count": "mcp_count_changed: None -> 7",
        "big": "mcp_count_changed: 1.5e-07 -> 0.1",
        "nested": "version_changed: ['a', {'b': None, 'c': True}] -> it's",
        "fresh": "added",
    }
    # The same reasons Python's own f-strings give.
    assert got["nested"] == "version_changed: %s -> %s" % (["a", {"b": None, "c": True}], "it's")
    assert list(got)[0] == "gone" and list(got)[-1] == "fresh"


def test_plugin_drift_per_account(daemon):
    c = daemon.client()
    c.call("plugins.record", {"plugins": {"p": {"version": "1"}}, "account": "work"})
    drift = lambda cur, **kw: c.call("plugins.drift", dict({"current": cur}, **kw))["drift"]
    assert drift({"p": {"version": "1"}}, account="work") == {}
    assert drift({"p": {"version": "2"}}, account="work") == {"p": "version_changed: 1 -> 2"}
    assert drift({"p": {"version": "1"}}, account="nobody") == {"p": "added"}
    assert drift({}) == {}


def test_global_dry_run(daemon):
    c = daemon.client()
    assert c.call("settings.dry_run") == {"global_dry_run": False}
    assert "global_dry_run" not in c.call("state.all")
    assert c.call("settings.dry_run", {"enabled": True}) == {"global_dry_run": True}
    assert daemon.state()["global_dry_run"] is True
    assert daemon.client().call("settings.dry_run") == {"global_dry_run": True}
    assert c.call("settings.dry_run", {"enabled": False}) == {"global_dry_run": False}
    assert daemon.state()["global_dry_run"] is False


def test_health_record_clamps_like_python(daemon):
    c = daemon.client()
    assert c.call("health.history", {"target": "nonexistent"}) == []
    cases = [(85, 85), (-10, 0), (200, 100), (42.5, 42.5), (100.0, 100), (0.0, 0), (99.5, 99.5), (150.5, 100)]
    for score, stored in cases:
        e = c.call("health.record", {"target": "codex", "score": score, "label": "l%s" % score})
        assert list(e) == ["timestamp", "score", "label"] and ISO.match(e["timestamp"])
        assert e["score"] == stored and type(e["score"]) is type(max(0, min(100, score)))
    assert c.call("health.record", {"target": "codex", "score": 7})["label"] == ""
    h = c.call("health.history", {"target": "codex"})
    assert [e["score"] for e in h] == [s for _, s in cases] + [7]
    assert h == daemon.state()["health_score_history"]["codex"]
    raw = open(daemon.state_dir + "/state.json").read()
    assert '"score": 42.5' in raw and '"score": 100,' in raw  # as Python's json.dump writes them
    assert c.call("health.history", {"target": "gemini"}) == []


def test_health_history_keeps_90_and_serves_n(daemon):
    c = daemon.client()
    for i in range(100):
        c.call("health.record", {"target": "codex", "score": i})
    assert len(daemon.state()["health_score_history"]["codex"]) == 90
    assert [e["score"] for e in c.call("health.history", {"target": "codex", "n": 90})] == list(range(10, 100))
    assert [e["score"] for e in c.call("health.history", {"target": "codex", "n": 3})] == [97, 98, 99]
    assert [e["score"] for e in c.call("health.history", {"target": "codex", "n": 1})] == [99]
    assert len(c.call("health.history", {"target": "codex"})) == 30


def test_concurrent_section_writes_lose_nothing(daemon):
    """Eight connections append health scores at once: every one is kept,
    and shares writes with the others (group commit)."""
    def writer(k):
        c = daemon.client()
        for i in range(10):
            c.call("health.record", {"target": "t%d" % k, "score": i})
        c.close()
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    st = daemon.state()["health_score_history"]
    assert all([e["score"] for e in st["t%d" % k]] == list(range(10)) for k in range(8))


@pytest.mark.parametrize("method,params,field", [
    ("state.account", {}, "account"),
    ("state.account", {"account": "a/b"}, "account"),
    ("state.account", {"account": "work", "x": 1}, "x"),
    ("state.accounts", {"account": "work"}, "account"),
    ("plugins.record", {}, "plugins"),
    ("plugins.record", {"plugins": []}, "plugins"),
    ("plugins.record", {"plugins": {"p": "1.0"}}, "plugins"),
    ("plugins.record", {"plugins": {"p": None}}, "plugins"),
    ("plugins.record", {"plugins": {}, "account": ""}, "account"),
    ("plugins.record", {"plugins": {}, "extra": 1}, "extra"),
    ("plugins.status", {"account": 5}, "account"),
    ("plugins.drift", {}, "current"),
    ("plugins.drift", {"current": {"p": 1}}, "current"),
    ("plugins.drift", {"current": {}, "account": "x" * 65}, "account"),
    ("settings.dry_run", {"enabled": 1}, "enabled"),
    ("settings.dry_run", {"enabled": "true"}, "enabled"),
    ("settings.dry_run", {"enabled": None}, "enabled"),
    ("settings.dry_run", {"enable": True}, "enable"),
    ("health.record", {"score": 5}, "target"),
    ("health.record", {"target": "codex"}, "score"),
    ("health.record", {"target": "codex", "score": True}, "score"),
    ("health.record", {"target": "codex", "score": "50"}, "score"),
    ("health.record", {"target": "codex", "score": None}, "score"),
    ("health.record", {"target": "codex", "score": 5, "label": 3}, "label"),
    ("health.record", {"target": "bad name", "score": 5}, "target"),
    ("health.history", {}, "target"),
    ("health.history", {"target": "codex", "n": 0}, "n"),
    ("health.history", {"target": "codex", "n": 91}, "n"),
    ("health.history", {"target": "codex", "n": 5.0}, "n"),
    ("health.history", {"target": "codex", "n": "5"}, "n"),
    ("health.history", {"target": "codex", "n": True}, "n"),
])
def test_bad_params_name_the_field_and_change_nothing(daemon, method, params, field):
    c = daemon.client()
    c.call("state.record", record_params("codex"))
    before = c.call("state.all")
    resp = c.request(method, params)
    err = resp["error"]
    assert err["code"] == -32602, resp
    assert err["data"]["field"] == field and err["data"]["reason"]
    assert c.call("state.all") == before


def test_discover_lists_the_new_methods_with_their_params(daemon):
    doc = daemon.client().call("rpc.discover")
    by_name = {m["name"]: m for m in doc["methods"]}
    for name in ("state.account", "state.accounts", "plugins.record", "plugins.status", "plugins.drift",
                 "settings.dry_run", "health.record", "health.history"):
        assert name in by_name
    n = next(p for p in by_name["health.history"]["params"] if p["name"] == "n")
    assert n["schema"] == {"type": "integer", "minimum": 1, "maximum": 90} and not n["required"]
    req = {p["name"] for p in by_name["health.record"]["params"] if p["required"]}
    assert req == {"target", "score"}
