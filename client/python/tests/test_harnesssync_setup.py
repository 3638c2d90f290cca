"""The HarnessSync trigger (docs/HARNESSSYNC.md, step 3): `hsctl harnesssync`
and harnesssync.setup agree to the byte (the C++ list is a port of the
Python one: this pins them together), and the trigger they set syncs a
HarnessSync-shaped tree (harnesssync_tree.py) when its CLAUDE.md changes,
edited outside Claude Code, with no hook at all."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import harnesssync_tree as hst
from conftest import PKG_DIR
from harnesssync import Client, setup

HSCTL = os.environ.get("HS_HSCTL", os.path.join(PKG_DIR, "../../build/bin/hsctl"))

pytestmark = pytest.mark.daemon_method("trigger.set", "trigger.list")


def hsctl(*args, env=None):
    return subprocess.run([HSCTL, *args], capture_output=True, text=True, env=env or os.environ, timeout=60)


def registry(home, plugins):
    reg = Path(home, ".claude", "plugins", "installed_plugins.json")
    reg.parent.mkdir(parents=True, exist_ok=True)
    reg.write_text(plugins if isinstance(plugins, str) else json.dumps(plugins))


def tree_cases(tmp):
    """(home, projects) pairs covering every branch of the lists."""
    home = os.path.join(tmp, "home")
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    os.makedirs(os.path.join(a, ".harnesssync"))  # a state dir: not watched
    os.makedirs(b)
    return [
        (home, []),
        (home, [a, b, a + "/", tmp + "//b/./"]),
        ("/", ["/"]),
        (home + "/../home", ["relative/p"]),
    ]


@pytest.mark.parametrize("plugins", [
    None,
    {"plugins": {"a@m": [{"scope": "user", "installPath": "/opt/p/a//"}, {"scope": "project", "installPath": "/x"}],
                 "c@m": {"scope": "user", "installPath": "/opt/p/c"},
                 "d@m": [{"scope": "user", "installPath": "rel/d"}, "junk", {"scope": "user"}]}},
    {"plugins": [{"scope": "user", "installPath": "/opt/p/e"}, {"scope": "user", "installPath": "/opt/p/e"}]},
    "{not json",
    {"plugins": "neither"},
])
def test_hsctl_and_python_list_the_same_sources(env, tmp, monkeypatch, plugins):
    monkeypatch.chdir(tmp)
    for home, projects in tree_cases(tmp):
        if plugins is not None and home != "/":
            registry(home, plugins)
        args = ["--json", "harnesssync", "sources", "--home", home]
        for p in projects:
            args += ["--project", p]
        r = hsctl(*args)
        assert r.returncode == 0, r
        assert json.loads(r.stdout) == setup.sources(home, projects), (home, projects)
    # Without --home: Path.home(), i.e. $HOME.
    r = hsctl("--json", "harnesssync", "sources")
    assert json.loads(r.stdout) == setup.sources()


def test_hsctl_and_python_set_the_same_trigger(env, tmp, start, monkeypatch):
    d = start()
    home = env["home"]
    hs = hst.write(os.path.join(tmp, "HarnessSync"))
    registry(home, {"plugins": {"harness-sync@market": [{"scope": "project", "installPath": "/elsewhere"},
                                                        {"scope": "user", "installPath": str(hs)}]}})
    project = os.path.join(tmp, "work", "p")
    os.makedirs(project)
    monkeypatch.setenv("HARNESSSYNC_SOCKET", d.socket)
    r = hsctl("harnesssync", "setup", "--project", project, "--project", project, "--name", "from-hsctl",
              "--python", sys.executable)
    assert r.returncode == 0, r
    assert "trigger from-hsctl: runs" in r.stdout and "watching:" in r.stdout
    assert "Undo: hsctl trigger rm from-hsctl" in r.stdout
    with Client(d.socket, autostart=False) as c:
        setup.setup([project], name="from-python", python=sys.executable, client=c)
        by_name = {t["name"]: t for t in c.trigger_list()}
    want = setup.trigger_params([project], name="x", python=sys.executable)
    for name in ("from-hsctl", "from-python"):
        t = by_name[name]
        assert (t["watch"], t["command"], t["cwd"]) == (want["watch"], want["command"], want["cwd"]), name
    assert want["command"][2:] == ["harnesssync.run_sync", "--plugin-dir", str(hs), "--project", project]


def test_setup_without_harnesssync_says_so(env, tmp, start, monkeypatch):
    d = start()
    monkeypatch.setenv("HARNESSSYNC_SOCKET", d.socket)
    r = hsctl("harnesssync", "setup")
    assert r.returncode == 2 and "--plugin-dir" in r.stderr, r
    with pytest.raises(ValueError):
        setup.trigger_params()
    r = subprocess.run([sys.executable, "-m", "harnesssync.setup"], capture_output=True, text=True)
    assert r.returncode == 2 and "harnesssync.setup: cannot find HarnessSync" in r.stderr, r


def test_the_trigger_syncs_an_edit_made_outside_claude_code(env, tmp, start, monkeypatch):
    d = start()
    monkeypatch.setenv("HARNESSSYNC_SOCKET", d.socket)
    hs = hst.write(os.path.join(tmp, "HarnessSync"))
    project = os.path.join(tmp, "work", "p")
    os.makedirs(project)
    Path(project, "CLAUDE.md").write_text("rules v1\n")
    r = subprocess.run([sys.executable, "-m", "harnesssync.setup", "--project", project, "--plugin-dir", str(hs),
                        "--python", sys.executable], capture_output=True, text=True)
    assert r.returncode == 0, r
    assert r.stdout.startswith("trigger harnesssync: runs ") and project in r.stdout
    with Client(d.socket, autostart=False) as c:
        for text in ("rules v2\n", "rules v3\n"):
            Path(project, "CLAUDE.md").write_text(text)  # an editor, git: no hook anywhere
            def targets():
                return {t: (p.read_text() if p.exists() else None)
                        for t, p in ((t, Path(project, "targets", t, "AGENTS.md")) for t in hst.TARGETS)}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and targets() != {t: text for t in hst.TARGETS}:
                time.sleep(0.02)
            assert targets() == {t: text for t in hst.TARGETS}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            t = c.trigger_list()[0]
            if t["state"] == "idle" and not t["owed"]:
                break
            time.sleep(0.02)
        last = c.trigger_log("harnesssync", runs=1)[-1]
    assert last["exit_code"] == 0, last
    assert "synced 3 targets for %s" % project in last["output"]["stdout"]
