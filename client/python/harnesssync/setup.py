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

The trigger itself (`hsctl harnesssync setup`, and setup() here) is defined
with the daemon's triggers: this module is its seam.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, List, Optional, Union

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
