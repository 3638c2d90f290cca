"""One layout rule, whoever starts the daemon (docs/STATE.md, "Layout 2"):
--schema, else $HARNESSSYNC_SCHEMA, else 2. hsctl's autostart, the Python
client and the service units pass no --schema, so `hsctl status` first and
then HarnessSync's drop-in StateManager give HarnessSync's own layout, the
same file as when Python starts the daemon.

With HS_HARNESSSYNC_SRC naming a HarnessSync 0.1.4 tree (not available in
CI), the drop-in's answers are also compared with HarnessSync's own
StateManager doing the same steps on a copy of the state."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import DAEMON
from test_socket_rule import World

HARNESSSYNC_SRC = os.environ.get("HS_HARNESSSYNC_SRC")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")

# A version 1 file, as the seed's layout (or a HarnessSync before 0.1.4) left it.
V1 = {"version": 1, "last_sync": "2024-01-01T12:00:00",
      "targets": {"gemini": {"last_sync": "2024-01-01T12:00:00", "status": "success", "scope": "all",
                             "file_hashes": {"/p/GEMINI.md": "abc"}, "sync_method": {}, "items_synced": 1,
                             "items_skipped": 0, "items_failed": 0}}}

# What a sync does with the state, then what HarnessSync's status reads back.
STEPS = r'''
import json, sys
from pathlib import Path
state_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else None
sm = StateManager(state_dir) if state_dir else StateManager()
sm.record_sync("codex", "all", {"/p/CLAUDE.md": "9f86d081884c7d65"}, {}, 3, 0, 0)
sm.record_plugin_sync({"p1": {"version": "1.0", "mcp_count": 2}})
print(json.dumps({"version": sm.get_all_status()["version"], "accounts": sm.list_state_accounts(),
                  "default": sm.get_account_status("default"), "codex": sm.get_target_status("codex")}))
'''


@pytest.fixture
def world(tmp):
    w = World(tmp)
    yield w
    w.stop_all()


def drop_in(world, home):
    out = world.python("from harnesssync import StateManager\n" + STEPS, env={"HOME": home})
    return json.loads(out)


def state_file(home):
    with open(os.path.join(home, ".harnesssync", "state.json")) as f:
        return f.read()


def unstamped(value):
    """Timestamps made now are the only part two runs may differ in."""
    return json.loads(STAMP.sub("T", json.dumps(value)))


def harnesssync_itself(world, state_dir):
    """HarnessSync 0.1.4's own StateManager, the same steps, on state_dir."""
    code = "sys.path.insert(0, %r)\nfrom src.state_manager import StateManager\n" % HARNESSSYNC_SRC
    r = subprocess.run([sys.executable, "-c", "import sys\n" + code + STEPS, state_dir], capture_output=True,
                       text=True, env=world.env, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def new_home(world, name, v1=False):
    home = os.path.join(world.tmp, name)
    os.mkdir(home, 0o755)
    if v1:
        os.mkdir(os.path.join(home, ".harnesssync"), 0o755)
        with open(os.path.join(home, ".harnesssync", "state.json"), "w") as f:
            json.dump(V1, f, indent=2)
    return home


@pytest.mark.parametrize("v1", [False, True], ids=["fresh", "a-version-1-file"])
def test_hsctl_first_then_the_drop_in_gives_harnesssyncs_layout(world, v1):
    home = new_home(world, "home-hsctl", v1)
    r = world.hsctl("status", env={"HOME": home})
    assert r.returncode == (1 if v1 else 0), r.stderr  # 1: the version 1 file's target has drifted
    assert world.info(env={"HOME": home})["schema"] == 2
    if v1:  # moved to version 2 at load, as HarnessSync moves it
        on_disk = json.loads(state_file(home))
        assert on_disk["version"] == 2
        assert on_disk["accounts"] == {"default": {"last_sync": V1["last_sync"], "targets": V1["targets"]}}
    got = drop_in(world, home)
    on_disk = json.loads(state_file(home))
    assert on_disk["version"] == 2 and "accounts" in on_disk
    assert got["version"] == 2 and got["codex"]["status"] == "success"
    if v1:
        # HarnessSync's answers for a state that had version 1 targets.
        assert got["accounts"] == ["default"]
        assert got["default"] == {"last_sync": V1["last_sync"], "targets": V1["targets"]}
    else:
        # ... and for a fresh one (a flat record makes no account).
        assert got["accounts"] == [] and got["default"] is None

    # Started by Python first: the same file.
    home_py = new_home(world, "home-python", v1)
    assert unstamped(drop_in(world, home_py)) == unstamped(got)
    assert STAMP.sub("T", state_file(home_py)) == STAMP.sub("T", state_file(home))

    if HARNESSSYNC_SRC:
        copy = os.path.join(world.tmp, "harnesssync-copy")
        os.mkdir(copy)
        if v1:
            with open(os.path.join(copy, "state.json"), "w") as f:
                json.dump(V1, f, indent=2)
        theirs = harnesssync_itself(world, copy)
        assert unstamped(theirs) == unstamped(got)
        with open(os.path.join(copy, "state.json")) as f:
            assert unstamped(json.load(f)) == unstamped(on_disk)


def test_layout_1_is_asked_for_explicitly(world):
    home = new_home(world, "home-1")
    env = {"HOME": home, "HARNESSSYNC_SCHEMA": "1"}
    assert world.hsctl("status", env=env).returncode == 0
    assert world.info(env=env)["schema"] == 1
    world.python("from harnesssync import StateManager\n" + STEPS, env=env)
    assert json.loads(state_file(home))["version"] == 1


def test_no_client_passes_schema(world):
    """The daemon's command line, as hsctl and Python start it: no --schema."""
    for name, start in (("hsctl", lambda env: world.ok("ping", env=env)),
                        ("python", lambda env: world.python("from harnesssync import StateManager\n"
                                                            "StateManager()", env=env))):
        home = new_home(world, "home-" + name)
        start({"HOME": home})
        pid = world.info(env={"HOME": home})["pid"]
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
        assert argv[0] == os.fsencode(os.path.realpath(DAEMON)) or argv[0].endswith(b"/harnesssyncd"), argv
        assert b"--schema" not in argv, (name, argv)
