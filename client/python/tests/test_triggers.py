"""Client.trigger_* and subscribe(triggers=True) against the real daemon."""
import os

import pytest

from harnesssync import Client, InvalidParams, NoSuchTrigger

pytestmark = pytest.mark.daemon_method("trigger.set", "trigger.remove", "trigger.list", "trigger.run", "trigger.log",
                                       "trigger.pause", "trigger.resume")


@pytest.fixture
def daemon(start, env):
    return start()


def wait_finished(c, name, run):
    for method, params in c.notifications(timeout=30):
        if method == "trigger.finished" and params["name"] == name and params["run"] >= run:
            return params
    raise AssertionError("no trigger.finished for run %d" % run)


def test_every_trigger_call(daemon, tmp):
    c = Client(daemon.socket, autostart=False)
    t = c.trigger_set("t", [tmp], ["sh", "-c", "echo hi; exit 4"], env={"K": "v"}, settle_ms=10, no_lock=True)
    assert t["name"] == "t" and t["lock"] is None and t["env"] == {"K": "v"} and os.path.isabs(t["command"][0])
    assert [x["name"] for x in c.trigger_list()] == ["t"]
    c.subscribe(triggers=True)
    n = c.trigger_run("t")
    assert n == 1
    fin = wait_finished(c, "t", n)
    assert fin["exit_code"] == 4 and fin["output_tail"]["stdout"] == "hi\n"
    [run] = c.trigger_log("t", runs=1)
    assert run["run"] == 1 and run["output"] == {"stdout": "hi\n", "stderr": ""}
    c.trigger_pause("t")
    assert c.trigger_list()[0]["paused"] is True
    c.trigger_resume()
    assert c.trigger_list()[0]["paused"] is False
    c.trigger_remove("t")
    assert c.trigger_list() == []
    with pytest.raises(NoSuchTrigger) as e:
        c.trigger_remove("t")
    assert e.value.code == 2 and e.value.data == {"name": "t"}


def test_the_daemons_own_files_never_run_a_trigger(daemon, tmp):
    """triggers.json (and its temp files) and harnesssyncd.log are the
    daemon's bookkeeping: a trigger watching the state dir runs for the
    user's files there (state.json too), never for those: each trigger.set
    saves triggers.json, and a run's log lines would feed a loop."""
    c = Client(daemon.socket, autostart=False)
    c.subscribe(triggers=True)
    out = os.path.join(tmp, "stdin.txt")
    c.trigger_set("t", [daemon.state_dir], ["sh", "-c", "cat > " + out], settle_ms=10, no_lock=True)
    for _ in range(3):
        c.trigger_pause("t")
        c.trigger_resume("t")
        c.trigger_set("u", [daemon.state_dir], ["true"], settle_ms=10, no_lock=True)
    with open(os.path.join(daemon.state_dir, "harnesssyncd.log"), "a") as f:
        f.write("a line\n")
    with open(os.path.join(daemon.state_dir, "mine.txt"), "w") as f:
        f.write("x\n")
    assert wait_finished(c, "t", 1)["exit_code"] == 0
    assert [r["changed"] for r in c.trigger_log("t", runs=5)] == [1]
    with open(out) as f:
        assert f.read() == os.path.join(daemon.state_dir, "mine.txt") + "\n"
    # A record writes state.json (through the store's new and swap files).
    c.call("state.record", {"target": "codex", "scope": "all", "file_hashes": {}, "synced": 1, "skipped": 0,
                            "failed": 0})
    assert wait_finished(c, "t", 2)["exit_code"] == 0
    with open(out) as f:
        assert f.read() == os.path.join(daemon.state_dir, "state.json") + "\n"


def test_a_bad_param_names_its_field(daemon, tmp):
    c = Client(daemon.socket, autostart=False)
    with pytest.raises(InvalidParams) as e:
        c.trigger_set("t", ["relative"], ["true"])
    assert e.value.field == "watch"
    with pytest.raises(InvalidParams) as e:
        c.trigger_set("t", [tmp], ["true"], settle_ms=500, max_wait_ms=100)
    assert e.value.field == "max_wait_ms"
    assert c.trigger_list() == []
