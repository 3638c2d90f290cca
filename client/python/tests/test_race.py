"""The original design's concurrent-writer test, through the daemon: 16
Python processes race record_sync through StateManager (and race to start
the daemon too). The pure-Python original lost 335 of 400 records with 8."""
import os
import subprocess
import sys

from conftest import PKG_DIR
from harnesssync import StateManager

WRITER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from harnesssync import StateManager
sm = StateManager(sys.argv[2])
w = int(sys.argv[3])
for r in range(25):
    sm.record_sync("w%d-r%d" % (w, r), "all", {"/f/%d/%d" % (w, r): "%064x" % r}, {}, r + 1, 0, 0)
"""


def test_sixteen_processes_lose_nothing(env):
    state = os.path.join(env["tmp"], "state")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, PKG_DIR, state, str(w)], stderr=subprocess.PIPE,
                              text=True) for w in range(16)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    sm = StateManager(state)
    targets = sm.get_all_status()["targets"]
    expected = {"w%d-r%d" % (w, r) for w in range(16) for r in range(25)}
    assert set(targets) == expected, "lost %d of 400" % len(expected - set(targets))
    for w in range(16):
        for r in range(25):
            entry = targets["w%d-r%d" % (w, r)]
            assert entry["items_synced"] == r + 1
            assert entry["file_hashes"] == {"/f/%d/%d" % (w, r): "%064x" % r}
    sm.close()
