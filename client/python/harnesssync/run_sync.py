"""The command the HarnessSync trigger runs (harnesssync.setup, docs/HARNESSSYNC.md).

    python3 -m harnesssync.run_sync --plugin-dir HS [--project DIR]...

It does what HarnessSync 0.1.4's PostToolUse hook does under its lock,
SyncOrchestrator(project_dir, scope="all").sync_all(), for each project
(with CLAUDE_PROJECT_DIR and the working directory set to it, as Claude Code
has them), or once with scope "user" when no project is named. It takes no
lock and checks no debounce itself: the daemon runs it holding the `sync`
lock, one run at a time, so HarnessSync's own lock (or the drop-in, which
would wait for the trigger that runs it) must not be taken again here.

Exit status: 0 when every sync ran; 1 when one failed or was blocked
(HarnessSync refuses to sync secrets, say), each said on stderr; 2 for a
plugin dir without HarnessSync's orchestrator.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional


def _orchestrator(plugin_dir: str):
    sys.path.insert(0, plugin_dir)
    from src.orchestrator import SyncOrchestrator  # type: ignore  # HarnessSync's
    return SyncOrchestrator


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m harnesssync.run_sync",
                                     description="Run HarnessSync's sync of each project (the trigger's command).")
    parser.add_argument("--plugin-dir", required=True, help="HarnessSync's directory (it holds src/orchestrator.py)")
    parser.add_argument("--project", action="append", default=[], help="a project to sync (repeatable)")
    args = parser.parse_args(argv)
    try:
        orchestrator = _orchestrator(os.path.abspath(args.plugin_dir))
    except ImportError as e:
        print("harnesssync.run_sync: no HarnessSync in %s (%s)" % (args.plugin_dir, e), file=sys.stderr)
        return 2
    failed = 0
    runs = [(p, "all") for p in args.project] or [(None, "user")]
    for project, scope in runs:
        where = project or "the user scope"
        try:
            if project is not None:
                os.environ["CLAUDE_PROJECT_DIR"] = project
                os.chdir(project)
            project_dir = Path(project) if project is not None else Path.cwd()
            results = orchestrator(project_dir=project_dir, scope=scope, dry_run=False).sync_all()
        except Exception as e:  # one project's failure must not keep the others unsynced
            print("HarnessSync: sync of %s failed: %s" % (where, e), file=sys.stderr)
            failed += 1
            continue
        if isinstance(results, dict) and results.get("_blocked"):
            print("HarnessSync: sync of %s blocked: %s" % (where, results.get("_reason", "")), file=sys.stderr)
            failed += 1
            continue
        targets = [t for t in (results or {}) if not str(t).startswith("_")]
        print("HarnessSync: synced %d targets for %s" % (len(targets), where))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
