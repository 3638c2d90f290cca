"""Triggers against the real daemon (docs/PROTOCOL.md, "Triggers"): the
methods, every bad param (-32602, nothing saved), the process (stdin,
environment, output, the timeout that kills the whole group), and the
notifications."""
import json
import os
import signal
import time

import pytest

from trigger_support import RECORDER, runs_of, set_recorder, settled, stdin_of, trigger, wait_until, write


def test_set_list_log_remove(daemon, tmp):
    c = daemon.client()
    watched = os.path.join(tmp, "w")
    os.mkdir(watched)
    log = os.path.join(tmp, "log")
    got = set_recorder(c, "sync-all", [watched], log)
    assert got["name"] == "sync-all" and got["watch"] == [watched]
    assert got["command"][0] == "/bin/sh"
    assert got["cwd"] == daemon.state_dir
    assert (got["settle_ms"], got["max_wait_ms"], got["lock"], got["timeout_ms"]) == (100, 3000, "sync", 600000)
    assert got["enabled"] is True and got["paused"] is False
    assert (got["state"], got["owed"], got["runs"], got["last"]) == ("idle", False, 0, None)
    assert [t["name"] for t in c.call("trigger.list")] == ["sync-all"]
    # Durable when answered, 0600.
    path = os.path.join(daemon.state_dir, "triggers.json")
    assert os.stat(path).st_mode & 0o777 == 0o600
    with open(path) as f:
        assert json.load(f)["triggers"][0]["name"] == "sync-all"

    write(os.path.join(watched, "a.md"), "one")
    t = settled(c, "sync-all", runs=1)
    assert t["last"]["exit_code"] == 0 and t["last"]["changed"] == 1 and "output" not in t["last"]
    entries = c.call("trigger.log", {"name": "sync-all"})
    assert [e["run"] for e in entries] == [1]
    assert entries[0]["output"] == {"stdout": "", "stderr": ""}
    assert stdin_of(log, 1) == [os.path.join(watched, "a.md")]

    assert c.call("trigger.remove", {"name": "sync-all"}) is True
    assert c.call("trigger.list") == []
    with open(path) as f:
        assert json.load(f)["triggers"] == []
    resp = c.request("trigger.remove", {"name": "sync-all"})
    assert resp["error"]["code"] == 2 and resp["error"]["data"] == {"name": "sync-all"}
    for method in ("trigger.run", "trigger.log", "trigger.pause", "trigger.resume"):
        resp = c.request(method, {"name": "sync-all"})
        assert resp["error"]["code"] == -32602 and resp["error"]["data"]["field"] == "name", (method, resp)


BAD_PARAMS = [
    ({}, "name"),
    ({"name": "a b"}, "name"),
    ({"watch": []}, "watch"),
    ({"watch": ["relative/path"]}, "watch"),
    ({"watch": ["/" + "x" * 5000]}, "watch"),
    ({"watch": ["/p%d" % i for i in range(257)]}, "watch"),
    ({"command": []}, "command"),
    ({"command": "/bin/true"}, "command"),
    ({"command": [""]}, "command"),
    ({"command": ["no-such-command-anywhere"]}, "command"),
    ({"command": ["/etc/passwd"]}, "command"),
    ({"command": ["./relative"]}, "command"),
    ({"cwd": "relative"}, "cwd"),
    ({"cwd": "/no/such/dir"}, "cwd"),
    ({"env": {"A=B": "c"}}, "env"),
    ({"env": {"A": 1}}, "env"),
    ({"settle_ms": -1}, "settle_ms"),
    ({"settle_ms": 60001}, "settle_ms"),
    ({"settle_ms": 0.5}, "settle_ms"),
    ({"settle_ms": 500, "max_wait_ms": 499}, "max_wait_ms"),
    ({"lock": "not a name"}, "lock"),
    ({"lock": 3}, "lock"),
    ({"timeout_ms": 0}, "timeout_ms"),
    ({"timeout_ms": "10"}, "timeout_ms"),
    ({"enabled": "yes"}, "enabled"),
    ({"unknown_param": 1}, "unknown_param"),
]


@pytest.mark.parametrize("bad,field", BAD_PARAMS)
def test_every_bad_param_is_refused_naming_it_and_nothing_is_saved(daemon, tmp, bad, field):
    c = daemon.client()
    good = {"name": "keep", "watch": [tmp], "command": ["/bin/true"]}
    c.call("trigger.set", good)
    path = os.path.join(daemon.state_dir, "triggers.json")
    with open(path, "rb") as f:
        before = f.read()
    params = {"name": "new", "watch": [tmp], "command": ["/bin/true"]}
    params.update(bad)
    if field == "name" and "name" not in bad:
        del params["name"]
    resp = c.request("trigger.set", params)
    assert resp["error"]["code"] == -32602, resp
    assert resp["error"]["data"]["field"] == field, resp
    # Also when it would replace an existing trigger.
    params["name"] = "keep"
    if field != "name":
        resp = c.request("trigger.set", params)
        assert resp["error"]["code"] == -32602 and resp["error"]["data"]["field"] == field, resp
    with open(path, "rb") as f:
        assert f.read() == before
    assert [t["name"] for t in c.call("trigger.list")] == ["keep"]


def test_the_command_is_found_on_the_daemons_path_and_stored_resolved(daemon, tmp):
    c = daemon.client()
    got = c.call("trigger.set", {"name": "t", "watch": [tmp], "command": ["true"]})
    assert os.path.isabs(got["command"][0]) and os.path.basename(got["command"][0]) == "true"


def test_the_command_gets_its_environment_cwd_and_a_star_when_nobody_knows(daemon, tmp):
    c = daemon.client()
    out = os.path.join(tmp, "env")
    script = 'echo "$HARNESSSYNC_TRIGGER|$HARNESSSYNC_SOCKET|$EXTRA|$(pwd)|$(cat)" > %s' % out
    c.call("trigger.set", {"name": "envy", "watch": [tmp + "/none"], "command": ["/bin/sh", "-c", script],
                           "cwd": tmp, "env": {"EXTRA": "x y"}, "lock": None})
    r = c.call("trigger.run", {"name": "envy"})
    assert r == {"queued": True, "run": 1}
    settled(c, "envy", runs=1)
    with open(out) as f:
        assert f.read() == "envy|%s|x y|%s|\n" % (daemon.socket, os.path.realpath(tmp))


def test_output_is_kept_and_a_failure_recorded(daemon, tmp):
    c = daemon.client()
    script = "i=0; while [ $i -lt 20000 ]; do echo out-$i; i=$((i+1)); done; echo bad >&2; printf '\\377\\n'; exit 3"
    c.call("trigger.set", {"name": "loud", "watch": [tmp + "/x"], "command": ["/bin/sh", "-c", script]})
    c.call("trigger.run", {"name": "loud"})
    t = settled(c, "loud", runs=1)
    assert t["last"]["exit_code"] == 3 and t["last"]["signal"] is None
    out = c.call("trigger.log", {"name": "loud", "runs": 1})[0]["output"]
    assert len(out["stdout"].encode()) <= 64 * 1024 + 3
    assert out["stdout"].endswith("out-19999\n\ufffd\n")
    assert out["stderr"] == "bad\n"
    assert "trigger loud: run 1 exited 3" in daemon.output()


def test_a_timeout_kills_the_whole_group_a_grandchild_too(daemon, tmp):
    c = daemon.client()
    pidfile = os.path.join(tmp, "grandchild")
    script = "sleep 300 & echo $! > %s; wait" % pidfile
    c.call("trigger.set", {"name": "slow", "watch": [tmp + "/x"], "command": ["/bin/sh", "-c", script],
                           "timeout_ms": 300})
    c.call("trigger.run", {"name": "slow"})
    t = settled(c, "slow", runs=1)
    assert t["last"]["timed_out"] is True
    assert t["last"]["signal"] == signal.SIGTERM and t["last"]["exit_code"] is None
    with open(pidfile) as f:
        pid = int(f.read())

    def gone():
        try:
            os.kill(pid, 0)
            return False
        except ProcessLookupError:
            return True
    wait_until(gone, what="the grandchild to die")


def test_a_group_that_ignores_sigterm_is_killed(daemon, tmp):
    c = daemon.client()
    script = "trap '' TERM; sleep 300 & wait"
    c.call("trigger.set", {"name": "stubborn", "watch": [tmp + "/x"], "command": ["/bin/sh", "-c", script],
                           "timeout_ms": 200})
    c.call("trigger.run", {"name": "stubborn"})
    t = settled(c, "stubborn", runs=1)
    assert t["last"]["timed_out"] is True
    assert t["last"]["signal"] == signal.SIGKILL


def test_subscribers_that_ask_get_started_and_finished(daemon, tmp):
    c = daemon.client()
    c.call("trigger.set", {"name": "n", "watch": [tmp + "/x"], "command": ["/bin/sh", "-c", "echo hi; exit 2"]})
    sub = daemon.client()
    sid = sub.call("state.subscribe", {"triggers": True})["subscription"]
    plain = daemon.client()
    plain.call("state.subscribe")
    c.call("trigger.run", {"name": "n"})
    got = []
    while len(got) < 2:
        m = sub.read_line()
        if m.get("method", "").startswith("trigger."):
            got.append(m)
    assert got[0]["method"] == "trigger.started"
    assert got[0]["params"] == {"subscription": sid, "name": "n", "run": 1, "changed": 0}
    fin = got[1]["params"]
    assert got[1]["method"] == "trigger.finished"
    assert (fin["name"], fin["run"], fin["exit_code"], fin["signal"], fin["timed_out"], fin["coalesced"]) == \
        ("n", 1, 2, None, False, False)
    assert fin["output_tail"] == {"stdout": "hi\n", "stderr": ""} and fin["duration_ms"] >= 0
    # Not asked: none sent.
    plain.sock.settimeout(0.3)
    with pytest.raises(Exception):
        while True:
            m = plain.read_line()
            assert not m.get("method", "").startswith("trigger."), m


def test_daemon_info_counts_triggers(daemon, tmp):
    c = daemon.client()
    c.call("trigger.set", {"name": "a", "watch": [tmp], "command": ["/bin/true"]})
    c.call("trigger.set", {"name": "b", "watch": [tmp], "command": ["/bin/true"]})
    c.call("trigger.pause", {"name": "b"})
    info = c.call("daemon.info")["triggers"]
    assert (info["count"], info["running"], info["paused"]) == (2, 0, 1)
    assert info["watch"]["dirs"] >= 1
    assert {"trigger.set", "trigger.remove", "trigger.list", "trigger.run", "trigger.log", "trigger.pause",
            "trigger.resume"} <= set(c.call("daemon.info")["methods"])


def test_a_save_that_fails_is_error_1_and_takes_the_change_back(start, tmp):
    """A file size limit (RLIMIT_FSIZE, which binds root too) makes the
    write of a big triggers.json fail (EFBIG): trigger.set answers error 1,
    the trigger is not there, and triggers.json is as it was."""
    import resource

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    d = start(preexec=limited)
    c = d.client()
    c.call("trigger.set", {"name": "small", "watch": [tmp], "command": ["/bin/true"]})
    path = os.path.join(d.state_dir, "triggers.json")
    with open(path, "rb") as f:
        before = f.read()
    resp = c.request("trigger.set", {"name": "big", "watch": [tmp], "command": ["/bin/echo", "x" * 8000]})
    assert resp["error"]["code"] == 1, resp
    assert resp["error"]["data"]["errno"] == 27  # EFBIG
    assert [t["name"] for t in c.call("trigger.list")] == ["small"]
    with open(path, "rb") as f:
        assert f.read() == before
    # Replacing one: its definition as it was.
    resp = c.request("trigger.set", {"name": "small", "watch": [tmp], "command": ["/bin/echo", "y" * 8000]})
    assert resp["error"]["code"] == 1, resp
    assert trigger(c, "small")["command"] == ["/bin/true"]
    assert c.call("trigger.remove", {"name": "small"}) is True
