"""What the auto-sync trigger for HarnessSync watches (docs/HARNESSSYNC.md).

sources(home, projects) lists the Claude Code sources HarnessSync 0.1.4
reads when it syncs, as absolute paths, whether they exist yet or not (a
trigger watches a missing path and sees it appear). The list follows
HarnessSync's own readers (src/source_reader.py and the modules behind it:
config_discovery.py, mcp_reader.py, modular_reader.py, override_manager.py,
config_vars.py), so that an edit of anything a sync reads starts one, and
nothing else does: ~/.claude as a whole is not watched, since Claude Code
writes its transcripts and caches there all the time.

Not covered: files pulled in by `@include` lines of a CLAUDE.md (they can be
anywhere), and plugins installed after the list was made (their install
dirs are read from installed_plugins.json now; a change of that file itself
is watched, and running the setup again adds the new dirs).

The trigger itself: setup() here, `python3 -m harnesssync.setup`, and
`hsctl harnesssync setup` (client/hsctl/harnesssync_sources.cpp keeps the
same list, and test_harnesssync_setup.py pins the two to each other). It
watches sources(), and runs harnesssync.run_sync: HarnessSync's own sync of
each project, as its PostToolUse hook runs it, under the daemon's `sync`
lock.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]

# config_discovery.get_harness_override_paths: the targets that may have a
# CLAUDE.<target>.md override, in a project or its .claude/.
OVERRIDE_TARGETS = ("codex", "gemini", "opencode", "cursor", "aider", "windsurf")


def user_sources(home: PathLike) -> List[Path]:
    """What HarnessSync reads from the user's Claude Code home, ~/.claude
    (SourceReader's cc_home)."""
    cc = Path(os.path.abspath(os.fspath(home))) / ".claude"
    found = [
        cc / "CLAUDE.md",                                # config_discovery.get_rules
        cc / "rules",                                    # get_rules_files: **/*.md
        cc / "skills",                                   # modular_reader.get_skills
        cc / "agents",                                   # get_agents
        cc / "commands",                                 # get_commands
        cc / "settings.json",                            # get_settings, get_hooks, permissions, plugins
        cc / ".claude.json",                             # mcp_reader: user and local-scope MCP servers
        cc / ".mcp.json",                                # mcp_reader: user-scope MCP servers
        cc / "plugins" / "installed_plugins.json",       # mcp_reader: the plugin registry
    ]
    found.extend(plugin_install_dirs(cc / "plugins" / "installed_plugins.json"))
    return found


def plugin_install_dirs(registry: Path) -> List[Path]:
    """The install dirs of the user-scope plugins listed in
    installed_plugins.json (mcp_reader._get_plugin_install_paths: the v1 flat
    form and the v2 lists alike), whose skills, agents, commands, MCP
    servers and manifests HarnessSync reads. [] when it is missing or not
    JSON."""
    try:
        with open(registry, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return []
    plugins = data.get("plugins") if isinstance(data, dict) else None
    installs: List[object] = []
    if isinstance(plugins, dict):
        for entry in plugins.values():
            installs.extend(entry if isinstance(entry, list) else [entry])
    elif isinstance(plugins, list):
        installs.extend(plugins)
    out: List[Path] = []
    for install in installs:
        if not isinstance(install, dict) or install.get("scope") != "user":
            continue
        path = install.get("installPath")
        if isinstance(path, str) and os.path.isabs(path):
            out.append(Path(path))
    return out


def project_sources(project: PathLike) -> List[Path]:
    """What HarnessSync reads from one project."""
    p = Path(os.path.abspath(os.fspath(project)))
    found = [
        p / "CLAUDE.md",                     # config_discovery.get_rules
        p / "CLAUDE.local.md",               # get_rules
        p / ".claude",                       # CLAUDE.md, rules/, skills/, agents/, commands/, settings.json,
                                             # settings.local.json, overrides/, CLAUDE.<target>.md
        p / ".mcp.json",                     # mcp_reader: project-scope MCP servers
    ]
    found.extend(p / ("CLAUDE.%s.md" % t) for t in OVERRIDE_TARGETS)  # get_harness_override_paths
    found += [
        p / "hooks" / "hooks.json",          # modular_reader.get_hooks (plugin-style project hooks)
        p / ".harness-sync" / "overrides",   # override_manager.OverrideManager
    ]
    # config_vars: the project's custom ${VARS}, a file. A directory there is
    # a state dir (a project at ~ has ~/.harnesssync): HarnessSync does not
    # read it, and every sync writes it, so watching it would be a loop.
    if not (p / ".harnesssync").is_dir():
        found.append(p / ".harnesssync")
    return found


def sources(home: Optional[PathLike] = None, projects: Iterable[PathLike] = ()) -> List[str]:
    """The absolute paths a sync of `projects` reads for the user whose home
    is `home` (default: Path.home(), as HarnessSync has it): the user's
    sources first, then each project's, without duplicates."""
    paths = user_sources(Path.home() if home is None else home)
    for project in projects:
        paths.extend(project_sources(project))
    seen = set()
    out: List[str] = []
    for path in paths:
        text = os.fspath(path)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


# HarnessSync's plugin name (.claude-plugin/plugin.json): installed_plugins.json
# lists it as "harness-sync@<marketplace>".
PLUGIN_NAME = "harness-sync"
DEFAULT_TRIGGER = "harnesssync"


def find_plugin_dir(home: Optional[PathLike] = None) -> Optional[str]:
    """HarnessSync's directory: the first user-scope install of the plugin
    harness-sync in ~/.claude/plugins/installed_plugins.json that holds
    src/orchestrator.py; None when there is none."""
    home_dir = Path(os.path.abspath(os.fspath(Path.home() if home is None else home)))
    registry = home_dir / ".claude" / "plugins" / "installed_plugins.json"
    try:
        with open(registry, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    plugins = data.get("plugins") if isinstance(data, dict) else None
    if not isinstance(plugins, dict):
        return None
    for key, entry in plugins.items():
        if str(key).split("@", 1)[0] != PLUGIN_NAME:
            continue
        for install in entry if isinstance(entry, list) else [entry]:
            if not isinstance(install, dict) or install.get("scope") != "user":
                continue
            path = install.get("installPath")
            if isinstance(path, str) and os.path.isabs(path) and os.path.isfile(
                    os.path.join(path, "src", "orchestrator.py")):
                return str(Path(path))
    return None


def trigger_params(projects: Iterable[PathLike] = (), home: Optional[PathLike] = None,
                   plugin_dir: Optional[PathLike] = None, name: str = DEFAULT_TRIGGER,
                   python: Optional[str] = None) -> Dict[str, Any]:
    """trigger.set's params for the HarnessSync trigger: it watches
    sources(home, projects) and runs harnesssync.run_sync with `python`
    (default: this interpreter) over the projects, in the first project (or
    the home directory). Raises ValueError when HarnessSync cannot be found
    (give plugin_dir)."""
    home_dir = Path.home() if home is None else Path(os.path.abspath(os.fspath(home)))
    projects = [os.path.abspath(os.fspath(p)) for p in projects]
    projects = list(dict.fromkeys(projects))  # once each, in order
    hs = os.path.abspath(os.fspath(plugin_dir)) if plugin_dir is not None else find_plugin_dir(home_dir)
    if hs is None:
        raise ValueError("cannot find HarnessSync (no user install of %s in %s); give its directory"
                         % (PLUGIN_NAME, home_dir / ".claude" / "plugins" / "installed_plugins.json"))
    command = [python or sys.executable, "-m", "harnesssync.run_sync", "--plugin-dir", hs]
    for p in projects:
        command += ["--project", p]
    return {"name": name, "watch": sources(home_dir, projects), "command": command,
            "cwd": projects[0] if projects else str(home_dir)}


def setup(projects: Iterable[PathLike] = (), home: Optional[PathLike] = None, plugin_dir: Optional[PathLike] = None,
          name: str = DEFAULT_TRIGGER, python: Optional[str] = None, client: Any = None) -> Dict[str, Any]:
    """Defines (or replaces) the HarnessSync trigger on the daemon (of the
    default state dir, or `client`'s) and returns it as trigger.list shows
    it. See trigger_params()."""
    from .client import Client
    params = trigger_params(projects, home, plugin_dir, name, python)
    own = client is None
    c = Client() if own else client
    try:
        return c.trigger_set(params["name"], params["watch"], params["command"], cwd=params["cwd"])
    finally:
        if own:
            c.close()


def main(argv: Optional[List[str]] = None) -> int:
    """python3 -m harnesssync.setup [--project DIR]... [--plugin-dir DIR] [--name NAME] [--python PATH]"""
    parser = argparse.ArgumentParser(prog="python3 -m harnesssync.setup",
                                     description="Define the trigger that runs HarnessSync's sync when its sources "
                                                 "change (docs/HARNESSSYNC.md, step 3).")
    parser.add_argument("--project", action="append", default=[], help="a project to sync (repeatable)")
    parser.add_argument("--plugin-dir", help="HarnessSync's directory (default: found in installed_plugins.json)")
    parser.add_argument("--name", default=DEFAULT_TRIGGER, help="the trigger's name (default %(default)s)")
    parser.add_argument("--python", help="the python3 that runs the sync (default: this one)")
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        t = setup(args.project, args.home, args.plugin_dir, args.name, args.python or shutil.which("python3"))
    except ValueError as e:
        print("harnesssync.setup: %s" % e, file=sys.stderr)
        return 2
    print("trigger %s: runs %s" % (t["name"], " ".join(t["command"])))
    print("  in %s, when any of these change:" % t["cwd"])
    for path in t["watch"]:
        print("    %s" % path)
    print("Undo: hsctl trigger rm %s" % t["name"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
