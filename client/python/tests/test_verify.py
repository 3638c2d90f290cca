"""The 11 verification checks of HarnessSync's original StateManager design
(its <verify> block), run through harnesssync.StateManager in layout 1."""
import json
import os
import shutil
import tempfile
from pathlib import Path

from harnesssync import StateManager


def test_the_eleven_checks_of_the_original_design(env, monkeypatch):
    monkeypatch.setenv("HARNESSSYNC_SCHEMA", "1")
    tmp = Path(tempfile.mkdtemp(dir=env["tmp"]))
    sm = StateManager(state_dir=tmp)

    # Test 1: Fresh state is empty
    assert sm.last_sync is None, f'Expected None, got {sm.last_sync}'
    assert sm.get_target_status('codex') is None

    # Test 2: Record a sync
    sm.record_sync(
        target='codex',
        scope='user',
        file_hashes={'/home/user/.codex/AGENTS.md': 'abc123def456'},
        sync_methods={'/home/user/.codex/skills/foo': 'symlink'},
        synced=3, skipped=1, failed=0
    )
    status = sm.get_target_status('codex')
    assert status is not None
    assert status['status'] == 'success'
    assert status['items_synced'] == 3
    assert sm.last_sync is not None

    # Test 3: State file exists and is valid JSON
    state_file = tmp / 'state.json'
    assert state_file.exists()
    data = json.loads(state_file.read_text())
    assert data['version'] == 1
    assert 'codex' in data['targets']

    # Test 4: Detect drift
    drifted = sm.detect_drift('codex', {
        '/home/user/.codex/AGENTS.md': 'CHANGED_HASH',
        '/home/user/.codex/new_file.txt': 'newfilehash1'
    })
    assert '/home/user/.codex/AGENTS.md' in drifted, 'Should detect changed hash'
    assert '/home/user/.codex/new_file.txt' in drifted, 'Should detect new file'

    # Test 5: Reload from disk
    sm2 = StateManager(state_dir=tmp)
    assert sm2.get_target_status('codex') is not None
    assert sm2.get_target_status('codex')['items_synced'] == 3

    # Test 6: Partial/failed status
    sm.record_sync('gemini', 'all', {}, {}, synced=2, skipped=0, failed=1)
    assert sm.get_target_status('gemini')['status'] == 'partial'
    sm.record_sync('opencode', 'all', {}, {}, synced=0, skipped=0, failed=3)
    assert sm.get_target_status('opencode')['status'] == 'failed'

    # Test 7: Clear target
    sm.clear_target('opencode')
    assert sm.get_target_status('opencode') is None
    assert sm.get_target_status('codex') is not None  # others untouched

    # Test 8: get_all_status returns full state
    full = sm.get_all_status()
    assert 'version' in full
    assert 'targets' in full

    # Test 9: Legacy state migration (flat cc2all format)
    legacy_dir = tmp / 'legacy'
    legacy_dir.mkdir()
    (legacy_dir / 'state.json').write_text(json.dumps({
        'last_sync': '2024-06-15 10:30:00',
        'scope': 'all',
        'elapsed_ms': 150
    }))
    sm_legacy = StateManager(state_dir=legacy_dir)
    full_legacy = sm_legacy.get_all_status()
    assert full_legacy.get('version') == 1
    assert 'targets' in full_legacy

    # Test 10: Corrupted state recovery
    corrupt_dir = tmp / 'corrupt'
    corrupt_dir.mkdir()
    (corrupt_dir / 'state.json').write_text('{this is not valid json!!!')
    sm_corrupt = StateManager(state_dir=corrupt_dir)
    assert sm_corrupt.get_all_status().get('version') == 1
    backups = list(corrupt_dir.glob('state.json.bak*'))
    assert len(backups) >= 1, 'Expected backup of corrupted file'

    # Test 11: migrate_from_cc2all class method
    old_dir = tmp / 'old_cc2all'
    old_dir.mkdir()
    (old_dir / 'sync-state.json').write_text(json.dumps({'last_sync': '2024-01-01 00:00:00'}))
    new_dir = tmp / 'new_harnesssync'
    sm_migrated = StateManager.migrate_from_cc2all(old_state_dir=old_dir, new_state_dir=new_dir)
    assert sm_migrated.last_sync is not None
    assert (new_dir / 'state.json').exists()

    for m in (sm, sm2, sm_legacy, sm_corrupt, sm_migrated):
        m.close()
    # The daemons are stopped by the `tmp` fixture (their sockets are in it).
    shutil.rmtree(old_dir)
    assert os.path.isdir(tmp)
