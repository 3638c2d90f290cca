"""`hsctl trigger` end to end (README.md, hsctl --help): set, ls, log,
pause, resume, rm, and run --wait with the exit status of each outcome;
bad input is exit 2 with one line and saves nothing; `hsctl status` shows
the triggers."""
import json
import os
import signal
import subprocess

import pytest

from test_lock import acquire, hsctl, send_acquire, waiting
from trigger_support import settled, trigger, wait_until, write


def test_set_ls_log_pause_resume_rm(daemon, tmp):
    w = os.path.join(tmp, "w")
    os.mkdir(w)
    out = os.path.join(tmp, "out")
    r = hsctl(daemon, "trigger", "set", "sync", "--watch", w, os.path.join(tmp, "CLAUDE.md"), "--settle", "50",
              "--max-wait", "500", "--lock", "mylock", "--timeout", "30", "--env", "A=b=c", "--cwd", tmp, "--",
              "sh", "-c", "cat >> %s; echo done" % out)
    assert r.returncode == 0, r
    assert "trigger sync: runs" in r.stdout and w in r.stdout and "lock mylock" in r.stdout
    c = daemon.client()
    t = trigger(c, "sync")
    assert t["watch"] == [w, os.path.join(tmp, "CLAUDE.md")]
    assert t["command"][0].startswith("/") and t["command"][1:] == ["-c", "cat >> %s; echo done" % out]
    assert (t["settle_ms"], t["max_wait_ms"], t["lock"], t["timeout_ms"], t["cwd"], t["env"]) == \
        (50, 500, "mylock", 30000, tmp, {"A": "b=c"})

    write(os.path.join(w, "x"), "1")
    settled(c, "sync", runs=1)
    r = hsctl(daemon, "trigger", "ls")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "RUNS", "LAST"]
    assert lines[1].split()[:5] == ["sync", "idle", "1", "exit", "0"]
    r = hsctl(daemon, "--json", "trigger", "ls")
    assert [e["name"] for e in json.loads(r.stdout)] == ["sync"]
    r = hsctl(daemon, "trigger", "log", "sync", "-n", "5")
    assert r.returncode == 0 and r.stdout.startswith("run 1  ") and "exit 0" in r.stdout and "    done" in r.stdout, r
    r = hsctl(daemon, "--json", "trigger", "log", "sync")
    assert json.loads(r.stdout)[0]["output"]["stdout"] == "done\n"

    assert hsctl(daemon, "trigger", "pause", "sync").returncode == 0
    assert trigger(c, "sync")["state"] == "paused"
    write(os.path.join(w, "x"), "2")
    wait_until(lambda: trigger(c, "sync")["owed"], what="the change noted while paused")
    assert trigger(c, "sync")["runs"] == 1
    assert hsctl(daemon, "trigger", "resume").returncode == 0
    settled(c, "sync", runs=2)

    r = hsctl(daemon, "status")
    assert r.returncode == 0 and "sync " in r.stdout and "RUNS" in r.stdout, r
    assert "triggers    1, 0 running, 0 paused" in hsctl(daemon, "info").stdout
    r = hsctl(daemon, "--json", "status")
    assert [t["name"] for t in json.loads(r.stdout)["triggers"]] == ["sync"]

    assert hsctl(daemon, "trigger", "rm", "sync").returncode == 0
    r = hsctl(daemon, "trigger", "ls")
    assert r.stdout == "no triggers\n"
    r = hsctl(daemon, "trigger", "rm", "sync")
    assert r.returncode == 4 and r.stderr.startswith("hsctl: ") and "sync" in r.stderr, r


@pytest.mark.parametrize("script,code", [
    ("exit 0", 0),
    ("echo out; echo err >&2; exit 3", 3),
    ("kill -USR1 $$", 128 + signal.SIGUSR1),
])
def test_run_wait_exits_with_the_runs_result(daemon, tmp, script, code):
    assert hsctl(daemon, "trigger", "set", "t", "--watch", tmp + "/none", "--", "sh", "-c", script).returncode == 0
    r = hsctl(daemon, "trigger", "run", "t", "--wait")
    assert r.returncode == code, r
    if code == 3:
        assert r.stdout == "out\n"
        assert r.stderr.startswith("err\n") and "exit 3" in r.stderr


def test_run_wait_says_124_for_a_timeout_and_127_for_a_command_that_cannot_start(daemon, tmp):
    hsctl(daemon, "trigger", "set", "slow", "--watch", tmp + "/none", "--timeout", "0.3", "--", "sleep", "300")
    r = hsctl(daemon, "trigger", "run", "slow", "--wait")
    assert r.returncode == 124, r
    assert "timed out" in r.stderr
    script = os.path.join(tmp, "gone.sh")
    write(script, "#!/bin/sh\nexit 0\n")
    os.chmod(script, 0o755)
    assert hsctl(daemon, "trigger", "set", "gone", "--watch", tmp + "/none", "--", script).returncode == 0
    os.unlink(script)
    r = hsctl(daemon, "trigger", "run", "gone", "--wait")
    assert r.returncode == 127, r
    assert "gone.sh" in r.stderr


def test_run_wait_for_a_coalesced_run_exits_0_with_a_note(daemon, tmp):
    hsctl(daemon, "trigger", "set", "t", "--watch", tmp + "/none", "--", "true")
    holder = daemon.client()
    acquire(holder, "sync")
    cover = daemon.client()
    send_acquire(cover, "sync", wait_ms=600000, coalesce=True)
    wait_until(lambda: waiting(daemon, "sync") == 1)
    r = hsctl(daemon, "trigger", "run", "t", "--wait")
    assert r.returncode == 0, r
    assert "coalesced" in r.stderr


def test_run_without_wait_says_which_run_covers_it(daemon, tmp):
    hsctl(daemon, "trigger", "set", "t", "--watch", tmp + "/none", "--", "true")
    r = hsctl(daemon, "trigger", "run", "t")
    assert r.returncode == 0 and r.stdout == "trigger t: run 1 queued\n", r
    r = hsctl(daemon, "--json", "trigger", "run", "t")
    assert json.loads(r.stdout)["queued"] is True


@pytest.mark.parametrize("args,word", [
    (["set", "bad name", "--watch", "/tmp", "--", "true"], "name"),
    (["set", "t", "--watch", "/tmp", "--settle", "70000", "--", "true"], "settle_ms"),
    (["set", "t", "--watch", "/tmp", "--", "no-such-command-anywhere"], "command"),
    (["set", "t", "--watch", "/tmp", "--cwd", "/no/such/dir", "--", "true"], "cwd"),
    (["set", "t", "--watch", "/tmp", "--env", "NOEQUALS", "--", "true"], "--env"),
    (["set", "t", "--watch", "/tmp", "--lock", "x", "--no-lock", "--", "true"], "excludes"),
    (["set", "t", "--", "true"], "--watch"),
    (["log", "t", "-n", "0"], "runs"),
    (["run", "nope"], "nope"),
])
def test_bad_input_is_one_line_exit_2_and_saves_nothing(daemon, tmp, args, word):
    r = hsctl(daemon, "trigger", *args)
    assert r.returncode == 2, r
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("hsctl: "), r.stderr
    assert word in r.stderr, r.stderr
    assert daemon.client().call("trigger.list") == []


def test_every_subcommand_has_help():
    from test_lock import HSCTL
    for sub in ["set", "ls", "rm", "log", "pause", "resume", "run"]:
        r = subprocess.run([HSCTL, "trigger", sub, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and sub in r.stdout, (sub, r)
    r = subprocess.run([HSCTL, "trigger", "run", "--help"], capture_output=True, text=True)
    assert "124" in r.stdout and "128+N" in r.stdout and "coalesced" in r.stdout


def test_bash_completion_knows_the_trigger_subcommands_and_options():
    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(here, "..", "..", "packaging", "completions", "hsctl.bash")

    def complete(*words):
        cmd = ("source %s; COMP_WORDS=(hsctl %s); COMP_CWORD=%d; _hsctl; echo \"${COMPREPLY[*]}\""
               % (script, " ".join("'%s'" % w for w in words), len(words)))
        return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True).stdout.split()

    assert "trigger" in complete("tr")
    assert set(complete("trigger", "")) >= {"set", "ls", "rm", "log", "pause", "resume", "run"}
    assert set(complete("trigger", "set", "t", "--")) >= {"--watch", "--settle", "--max-wait", "--no-lock", "--env"}
    assert "--wait" in complete("trigger", "run", "t", "--")
