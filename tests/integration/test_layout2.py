"""Layout 2 (docs/STATE-NOTES.md, "Layout 2"): --schema, $HARNESSSYNC_SCHEMA,
following a version 2 file, moving a version 1 file at load."""
import glob
import json
import os
import subprocess

import pytest

from conftest import DAEMON, record_params

V1 = {"version": 1, "last_sync": "2024-01-01T12:00:00",
      "targets": {"codex": {"last_sync": "2024-01-01T12:00:00", "status": "success",
                            "file_hashes": {"a.md": "hash1"}}}}
EMPTY2 = {"version": 2, "targets": {}, "accounts": {}}


def write_state(tmp, doc_or_text):
    d = os.path.join(tmp, "state")
    os.makedirs(d, mode=0o700, exist_ok=True)
    text = doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text)
    with open(os.path.join(d, "state.json"), "w") as f:
        f.write(text)
    return text


def raw_state(daemon):
    with open(os.path.join(daemon.state_dir, "state.json"), encoding="utf-8") as f:
        return f.read()


def test_default_is_layout_2(start):
    """Neither --schema nor $HARNESSSYNC_SCHEMA: HarnessSync 0.1.4's layout."""
    d = start(env={"HARNESSSYNC_SCHEMA": None})
    c = d.client()
    assert c.call("daemon.info")["schema"] == 2
    assert c.call("state.all") == EMPTY2
    c.call("state.record", record_params("codex"))
    assert d.state()["version"] == 2 and d.state()["accounts"] == {}


def test_layout_1_is_asked_for(daemon):
    """The fixture's daemon asks for layout 1 ($HARNESSSYNC_SCHEMA=1)."""
    c = daemon.client()
    assert c.call("daemon.info")["schema"] == 1
    c.call("state.record", record_params("codex"))
    assert daemon.state()["version"] == 1 and "accounts" not in daemon.state()


@pytest.mark.parametrize("how", ["flag", "env"])
def test_layout_2_fresh_document_and_writes(start, how):
    d = start("--schema", "2") if how == "flag" else start(env={"HARNESSSYNC_SCHEMA": "2"})
    c = d.client()
    assert c.call("daemon.info")["schema"] == 2
    assert c.call("state.all") == EMPTY2
    assert not os.path.exists(os.path.join(d.state_dir, "state.json"))  # nothing until a change
    c.call("state.record", record_params("gemini"))
    st = d.state()
    assert st["version"] == 2 and st["accounts"] == {} and "gemini" in st["targets"]
    assert list(st)[:2] == ["version", "last_sync"]


def test_the_flag_wins_over_the_environment(start):
    d = start("--schema", "1", env={"HARNESSSYNC_SCHEMA": "2"})
    assert d.client().call("daemon.info")["schema"] == 1


@pytest.mark.parametrize("args,env", [(["--schema", "3"], {}), (["--schema", "v2"], {}), (["--schema"], {}),
                                      ([], {"HARNESSSYNC_SCHEMA": "3"}), ([], {"HARNESSSYNC_SCHEMA": "two"})])
def test_a_bad_schema_is_a_usage_error(tmp, args, env):
    full_env = dict(os.environ, **env)
    full_env.pop("HARNESSSYNC_SOCKET", None)
    r = subprocess.run([DAEMON, "--state-dir", os.path.join(tmp, "state"), "--socket",
                        os.path.join(tmp, "run", "hs.sock"), *args],
                       capture_output=True, text=True, timeout=20, env=full_env, stdin=subprocess.DEVNULL)
    assert r.returncode == 64, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "schema" in r.stderr.lower(), r.stderr
    assert not os.path.exists(os.path.join(tmp, "state", "state.json"))


def test_help_documents_schema():
    r = subprocess.run([DAEMON, "--help"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and "--schema" in r.stdout and "HARNESSSYNC_SCHEMA" in r.stdout


def test_a_version_1_file_is_moved_and_written_at_once(start, tmp):
    write_state(tmp, V1)
    d = start("--schema", "2")
    on_disk = d.state()  # before any change was asked for
    assert on_disk["version"] == 2
    assert on_disk["accounts"] == {"default": {"last_sync": "2024-01-01T12:00:00", "targets": V1["targets"]}}
    assert on_disk["targets"] == V1["targets"] and on_disk["last_sync"] == V1["last_sync"]
    assert d.client().call("state.all") == on_disk
    assert d.client().call("state.account", {"account": "default"}) == on_disk["accounts"]["default"]
    assert "moved to version 2" in d.output()
    # The move happens once: a restart finds version 2 and leaves it alone.
    d.client().call("daemon.shutdown")
    assert d.wait() == 0
    mtime = os.stat(os.path.join(tmp, "state", "state.json")).st_mtime_ns
    d2 = start("--schema", "2")
    assert d2.state() == on_disk
    assert os.stat(os.path.join(tmp, "state", "state.json")).st_mtime_ns == mtime


def test_a_version_1_file_without_targets_gets_empty_accounts(start, tmp):
    write_state(tmp, {"version": 1, "targets": {}})
    d = start("--schema", "2")
    assert d.state() == EMPTY2


def test_a_version_1_file_is_left_alone_in_layout_1(start, tmp):
    text = write_state(tmp, V1)
    d = start()
    assert d.client().call("daemon.info")["schema"] == 1
    assert raw_state(d) == text


def test_layout_1_follows_a_version_2_file(start, tmp):
    doc = {"version": 2, "targets": {}, "accounts": {"work": {"last_sync": None, "targets": {}}}, "x": 1}
    text = write_state(tmp, doc)
    d = start()
    c = d.client()
    assert c.call("daemon.info")["schema"] == 2
    assert raw_state(d) == text  # followed, not rewritten
    c.call("state.record", record_params("codex"))
    st = d.state()
    assert st["version"] == 2 and st["accounts"] == doc["accounts"] and st["x"] == 1


def test_a_version_2_file_without_accounts_gets_them_with_the_first_change(start, tmp):
    write_state(tmp, {"version": 2, "targets": {}})
    d = start()
    c = d.client()
    assert "accounts" not in c.call("state.all")
    c.call("settings.dry_run", {"enabled": True})
    assert d.state() == {"version": 2, "targets": {}, "accounts": {}, "global_dry_run": True}


def test_recording_into_an_account_in_layout_1_makes_version_2(daemon):
    c = daemon.client()
    c.call("state.record", record_params("codex"))
    assert daemon.state()["version"] == 1
    c.call("state.record", record_params("codex", account="work"))
    assert daemon.state()["version"] == 2
    assert c.call("daemon.info")["schema"] == 2


@pytest.mark.parametrize("text,extra", [
    ("{invalid json!!!", {}),
    (json.dumps({"some_old_key": "value", "targets": {"old": True}}), None),
    (json.dumps({"version": "beta", "data": 123}), None),
])
def test_layout_2_unreadable_and_legacy_files(start, tmp, text, extra):
    write_state(tmp, text)
    d = start("--schema", "2")
    st = d.client().call("state.all")
    if extra is not None:  # unreadable: backed up, empty layout 2 document
        assert st == EMPTY2
        assert len(glob.glob(os.path.join(tmp, "state", "state.json.bak.*"))) == 1
    else:  # cc2all: wrapped
        assert list(st) == ["version", "targets", "accounts", "migrated_from"]
        assert st["version"] == 2 and st["accounts"] == {} and st["migrated_from"] == json.loads(text)
        assert raw_state(d) == text  # held in memory until the first change


def test_layout_2_migrate_cc2all(start, tmp):
    old = os.path.join(tmp, "old")
    os.makedirs(old)
    with open(os.path.join(old, "sync-state.json"), "w") as f:
        json.dump({"last_sync": "2023-06-15T10:00:00"}, f)
    d = start("--schema", "2")
    assert d.client().call("state.migrate_cc2all", {"old_state_dir": old})["migrated"] is True
    st = d.state()
    assert st["version"] == 2 and st["accounts"] == {} and st["last_sync"] == "2023-06-15T10:00:00"
