"""A directory fsync that fails after the rename (the one write failure that
cannot be made real here, so it is injected with LD_PRELOAD): the caller is
told nothing was applied, and that must be true on disk and in memory."""
import os

import pytest

from conftest import record_params

SHIM = os.environ.get("HS_FAULT_FSYNC", "")


@pytest.mark.skipif(not os.path.exists(SHIM), reason="build hs_fault_fsync (ctest sets HS_FAULT_FSYNC)")
def test_failed_directory_fsync_after_rename_restores_the_file(start, tmp):
    flag = os.path.join(tmp, "fail-dir-fsync")
    env = {"LD_PRELOAD": SHIM, "HS_FAULT_DIR_FSYNC": flag,
           # ASan wants to be first in the library list; the shim only wraps fsync.
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    d = start(env=env)
    c = d.client()
    c.call("state.record", record_params("before"))
    state = os.path.join(d.state_dir, "state.json")
    with open(state, "rb") as f:
        durable = f.read()

    open(flag, "w").close()
    resp = c.request("state.record", record_params("during"))
    assert resp["error"]["code"] == 1
    assert resp["error"]["data"]["errno"] == 5  # EIO
    assert "fsync" in resp["error"]["message"]
    with open(state, "rb") as f:
        assert f.read() == durable  # the replaced file was put back
    assert set(c.call("state.all")["targets"]) == {"before"}  # and memory agrees
    assert sorted(os.listdir(d.state_dir)) == ["harnesssyncd.lock", "state.json"]

    os.unlink(flag)
    c.call("state.record", record_params("after"))
    assert set(d.state()["targets"]) == {"before", "after"}
    assert d.proc.poll() is None
