"""HarnessSync's PostToolUse hook, unchanged, on a HarnessSync-shaped tree
(harnesssync_tree.py): with HarnessSync's own lock an edit made while a sync
runs is lost; with the two drop-ins (state_manager and lock) none is."""
import os
import time

import pytest

import harnesssync_tree as hst
from conftest import PKG_DIR, raw_call
from harnesssync import paths

pytestmark = pytest.mark.daemon_method("lock.acquire", "lock.list")


@pytest.fixture
def user(env, monkeypatch):
    monkeypatch.delenv("HARNESSSYNC_SCHEMA", raising=False)  # the daemon's own rule, as for a user
    return env


@pytest.fixture
def make_project(user):
    made = []

    def make(adopted):
        root = hst.write(os.path.join(user["tmp"], "HarnessSync"))
        if adopted:
            hst.adopt(root)
        made.append(hst.Project(root, os.path.join(user["tmp"], "work", "project"), os.environ, PKG_DIR))
        return made[-1]
    yield make
    for project in made:
        project.kill()


def coalescing_waiter(user):
    """A sync is queued behind the running one (lock.list of the user's daemon)."""
    sock = paths.socket_path(os.path.join(user["home"], ".harnesssync"))
    try:
        locks = raw_call(sock, "lock.list", timeout=5)["result"]
    except (OSError, EOFError):
        return False
    return any(w["coalesce"] for lock in locks if lock["name"] == "sync" for w in lock["waiters"])


def two_quick_edits(user, project):
    """Edit CLAUDE.md, and 1 s later, while that edit's sync runs, again."""
    project.edit("rules v1\n")
    a = project.hook()
    hst.wait_until(lambda: project.started() == ["rules v1\n"], "the first sync runs")
    time.sleep(1.0)  # the spacing; the gate, not this, keeps the first sync running
    project.edit("rules v2\n")
    b = project.hook()
    # The second hook has decided: it gave up (HarnessSync's lock), or it
    # waits to run next (the drop-in).
    hst.wait_until(lambda: b.poll() is not None or coalescing_waiter(user), "the second hook decides")
    assert a.poll() is None  # the first sync still runs
    project.open_gate()
    return project.finish()


def test_harnesssyncs_own_lock_loses_the_second_edit(user, make_project):
    """The defect the drop-in fixes, reproduced: the second hook finds the
    flock taken and skips; nothing syncs v2 until some later edit."""
    project = make_project(adopted=False)
    err_a, err_b = two_quick_edits(user, project)
    assert "synced 3 targets" in err_a
    assert "sync in progress, skipping" in err_b
    assert project.targets() == {t: "rules v1\n" for t in hst.TARGETS}  # v2 lost


def test_with_the_drop_ins_both_edits_reach_every_target(user, make_project):
    project = make_project(adopted=True)
    err_a, err_b = two_quick_edits(user, project)
    assert "synced 3 targets" in err_a and "synced 3 targets" in err_b, (err_a, err_b)
    assert project.started() == ["rules v1\n", "rules v2\n"]
    assert project.targets() == {t: "rules v2\n" for t in hst.TARGETS}
    # The drop-in StateManager recorded each target, in the daemon's file.
    from harnesssync import StateManager
    sm = StateManager()
    assert sorted(sm.get_all_status()["targets"]) == sorted(hst.TARGETS)
    sm.close()


def test_a_third_edit_is_covered_by_the_queued_run_and_nothing_runs_twice(user, make_project):
    """While one sync runs and one waits, a third edit's hook is debounced:
    the waiting run has not read CLAUDE.md yet, so it syncs the third edit."""
    project = make_project(adopted=True)
    project.edit("rules v1\n")
    project.hook()
    hst.wait_until(lambda: project.started() == ["rules v1\n"], "the first sync runs")
    project.edit("rules v2\n")
    b = project.hook()
    hst.wait_until(lambda: coalescing_waiter(user), "the second hook waits to run next")
    project.edit("rules v3\n")
    c = project.hook()
    c.wait(60)
    assert b.poll() is None
    project.open_gate()
    err_c = project.finish()[2]
    assert "sync skipped (debounce)" in err_c, err_c
    assert project.started() == ["rules v1\n", "rules v3\n"]  # two runs, the second with the last edit
    assert project.targets() == {t: "rules v3\n" for t in hst.TARGETS}


def test_an_edit_right_after_a_sync_is_not_debounced(user, make_project):
    """HarnessSync's 3 s debounce skipped an edit made just after a sync
    ended; with the drop-in only a queued run debounces."""
    project = make_project(adopted=True)
    project.open_gate()
    project.edit("rules v1\n")
    project.hook()
    project.finish()
    project.edit("rules v2\n")
    project.hook()
    [err] = project.finish()
    assert "synced 3 targets" in err, err
    assert project.targets() == {t: "rules v2\n" for t in hst.TARGETS}
