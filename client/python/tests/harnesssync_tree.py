"""A HarnessSync-shaped tree, written by the tests that need one.

HarnessSync itself is not available where the tests run, so this writes the
parts of its shape that the kit replaces or relies on, as HarnessSync 0.1.4
has them (our own code, reproducing their behaviour):
- src/state_manager.py: a StateManager that keeps state.json itself
  (tempfile + os.replace), as the original does;
- src/lock.py: the original's lock: a non-blocking flock of
  ~/.harnesssync/sync.lock, and a 3 s debounce on the last sync;
- src/orchestrator.py: a SyncOrchestrator whose sync_all() copies the
  project's CLAUDE.md into every target and records each target with
  StateManager, with a gate the test opens, so that "an edit while the sync
  runs" is a fact rather than a timing guess;
- src/hooks/post_tool_use.py: the PostToolUse hook's logic: the config file
  check, the debounce, and the sync under the lock, skipped on
  BlockingIOError.
adopt() appends the two one-line imports of docs/HARNESSSYNC.md.
"""
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

TARGETS = ("codex", "gemini", "opencode")

STATE_MANAGER = '''
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path


class StateManager:
    def __init__(self, state_dir: Path = None):
        self.state_dir = Path(state_dir) if state_dir is not None else Path.home() / ".harnesssync"
        self.state_file = self.state_dir / "state.json"
        self._state = self._load()

    def _load(self):
        try:
            return json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"version": 2, "targets": {}, "accounts": {}}

    def _save(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self._state, f, indent=2)
        os.replace(tmp, self.state_file)

    @property
    def last_sync(self):
        return self._state.get("last_sync")

    def record_sync(self, target, scope, file_hashes, sync_methods, synced, skipped, failed, account=None):
        now = datetime.now().isoformat()
        self._state.setdefault("targets", {})[target] = {
            "last_sync": now, "status": "success" if failed == 0 else "failed", "scope": scope,
            "file_hashes": file_hashes, "sync_method": sync_methods,
            "items_synced": synced, "items_skipped": skipped, "items_failed": failed}
        self._state["last_sync"] = now
        self._save()
'''

LOCK = '''
import fcntl
import os
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

LOCK_FILE_DEFAULT = Path.home() / ".harnesssync" / "sync.lock"
DEBOUNCE_SECONDS = 3.0


@contextmanager
def sync_lock(lock_path: Path = None):
    if lock_path is None:
        lock_path = LOCK_FILE_DEFAULT
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(lock_path), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError when a sync runs
    except Exception:
        os.close(fd)
        raise
    try:
        yield fd
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def should_debounce(state_manager, debounce_seconds: float = DEBOUNCE_SECONDS) -> bool:
    if state_manager is None or not state_manager.last_sync:
        return False
    try:
        last = datetime.fromisoformat(state_manager.last_sync).timestamp()
    except (ValueError, TypeError):
        return False
    return time.time() - last < debounce_seconds
'''

ORCHESTRATOR = '''
import hashlib
import json
import os
import time
from pathlib import Path

from src.state_manager import StateManager

TARGETS = %r


class SyncOrchestrator:
    def __init__(self, project_dir, scope="all", dry_run=False):
        self.project_dir = Path(project_dir)
        self.scope = scope

    def sync_all(self):
        source = self.project_dir / "CLAUDE.md"
        text = source.read_text(encoding="utf-8")
        gate = os.environ.get("FAKE_SYNC_GATE")
        if gate:
            # The test sees that this run has read its source, and decides
            # when it may go on.
            with open(gate + ".started", "a", encoding="utf-8") as f:
                f.write(json.dumps({"pid": os.getpid(), "text": text}) + "\\n")
            deadline = time.monotonic() + 120
            while not os.path.exists(gate + ".go") and time.monotonic() < deadline:
                time.sleep(0.01)
        sm = StateManager()
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        for target in TARGETS:
            out = self.project_dir / "targets" / target / "AGENTS.md"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            sm.record_sync(target, self.scope, {str(source): digest}, {}, 1, 0, 0)
        return {target: "synced" for target in TARGETS}
''' % (TARGETS,)

HOOK = '''
import json
import os
import sys
from pathlib import Path

PLUGIN_ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(PLUGIN_ROOT))

CONFIG_PATTERNS = ["CLAUDE.md", ".mcp.json", "/skills/", "/agents/", "/commands/", "settings.json",
                   "settings.local.json"]


def is_config_file(file_path):
    return bool(file_path) and any(p in file_path for p in CONFIG_PATTERNS)


def main():
    try:
        try:
            hook_data = json.load(sys.stdin)
        except ValueError:
            sys.exit(0)
        file_path = (hook_data.get("tool_input") or {}).get("file_path", "")
        if not is_config_file(file_path):
            sys.exit(0)
        print(f"HarnessSync: config change detected: {file_path}", file=sys.stderr)
        from src.lock import sync_lock, should_debounce, LOCK_FILE_DEFAULT
        from src.state_manager import StateManager
        from src.orchestrator import SyncOrchestrator
        try:
            state_manager = StateManager()
        except Exception:
            state_manager = None
        if should_debounce(state_manager):
            print("HarnessSync: sync skipped (debounce)", file=sys.stderr)
            sys.exit(0)
        try:
            with sync_lock(LOCK_FILE_DEFAULT):
                project_dir = Path(os.environ.get("CLAUDE_PROJECT_DIR", os.getcwd()))
                results = SyncOrchestrator(project_dir=project_dir, scope="all", dry_run=False).sync_all()
                print(f"HarnessSync: synced {len(results)} targets", file=sys.stderr)
        except BlockingIOError:
            print("HarnessSync: sync in progress, skipping", file=sys.stderr)
    except Exception as e:
        print(f"HarnessSync: sync error: {e}", file=sys.stderr)
    sys.exit(0)


if __name__ == "__main__":
    main()
'''

# The two lines docs/HARNESSSYNC.md tells HarnessSync users to append.
ADOPT_STATE_MANAGER = "from harnesssync.state_manager import StateManager  # noqa: E402,F401,F811  harnesssyncd\n"
ADOPT_LOCK = ("from harnesssync.lock import DEBOUNCE_SECONDS, LOCK_FILE_DEFAULT, should_debounce, sync_lock"
              "  # noqa: E402,F401,F811  harnesssyncd\n")


def write(root):
    """Writes the tree under `root` (HarnessSync's original behaviour)."""
    root = Path(root)
    files = {
        "src/__init__.py": "",
        "src/hooks/__init__.py": "",
        "src/state_manager.py": STATE_MANAGER,
        "src/lock.py": LOCK,
        "src/orchestrator.py": ORCHESTRATOR,
        "src/hooks/post_tool_use.py": HOOK,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def adopt(root):
    """The adoption: one line appended to each of the two modules."""
    root = Path(root)
    for rel, line in (("src/state_manager.py", ADOPT_STATE_MANAGER), ("src/lock.py", ADOPT_LOCK)):
        with open(root / rel, "a", encoding="utf-8") as f:
            f.write(line)


class Project:
    """A project with a CLAUDE.md, synced by the tree's hook."""

    def __init__(self, tree, project_dir, env, pkg_dir):
        self.tree = Path(tree)
        self.dir = Path(project_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.gate = str(self.dir.parent / "gate")
        self.env = dict(env, FAKE_SYNC_GATE=self.gate, CLAUDE_PROJECT_DIR=str(self.dir),
                        PYTHONPATH=pkg_dir, PYTHONDONTWRITEBYTECODE="1")
        self.hooks = []

    def edit(self, text):
        (self.dir / "CLAUDE.md").write_text(text, encoding="utf-8")

    def hook(self):
        """Runs the PostToolUse hook for an edit of CLAUDE.md, as Claude Code
        does (in the background; finish() waits for every hook)."""
        event = self.dir.parent / ("hook-%d.json" % len(self.hooks))
        event.write_text(json.dumps({"tool_name": "Edit", "tool_input": {"file_path": str(self.dir / "CLAUDE.md")}}))
        with open(event, "rb") as stdin:
            p = subprocess.Popen([sys.executable, str(self.tree / "src/hooks/post_tool_use.py")], stdin=stdin,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, cwd=str(self.dir),
                                 text=True)
        self.hooks.append(p)
        return p

    def started(self):
        """What each sync run read, in order."""
        try:
            with open(self.gate + ".started", encoding="utf-8") as f:
                return [json.loads(line)["text"] for line in f]
        except FileNotFoundError:
            return []

    def open_gate(self):
        Path(self.gate + ".go").touch()

    def close_gate(self):
        try:
            os.unlink(self.gate + ".go")
        except FileNotFoundError:
            pass

    def kill(self):
        """Ends every hook still running (a failed test's), so that none
        outlives the test and starts a daemon in its removed temp dir."""
        self.open_gate()
        for p in self.hooks:
            if p.poll() is None:
                p.kill()
            p.communicate()
        self.hooks = []

    def finish(self, timeout=120):
        """Waits for every hook; returns each one's stderr."""
        out = []
        for p in self.hooks:
            _, err = p.communicate(timeout=timeout)
            assert p.returncode == 0, err
            out.append(err)
        self.hooks = []
        return out

    def targets(self):
        return {t: (self.dir / "targets" / t / "AGENTS.md").read_text(encoding="utf-8")
                if (self.dir / "targets" / t / "AGENTS.md").exists() else None for t in TARGETS}


def wait_until(cond, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting until " + what)
        time.sleep(0.01)
