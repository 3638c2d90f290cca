"""harnesssync.setup.sources(): the Claude Code sources HarnessSync 0.1.4
reads, which the auto-sync trigger watches (docs/HARNESSSYNC.md).

The list is pinned here. With HS_HARNESSSYNC_SRC naming a HarnessSync
source tree (not available in CI), it is also checked against what
HarnessSync's own readers open when they read a project where every source
exists: each file it reads lies under a listed path, and each listed path
that exists is read."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harnesssync import setup

HARNESSSYNC_SRC = os.environ.get("HS_HARNESSSYNC_SRC")


def expected(home, project, plugin_dirs=()):
    cc = os.path.join(home, ".claude")
    user = [os.path.join(cc, n) for n in ("CLAUDE.md", "rules", "skills", "agents", "commands", "settings.json",
                                          ".claude.json", ".mcp.json", "plugins/installed_plugins.json")]
    proj = [os.path.join(project, n) for n in ("CLAUDE.md", "CLAUDE.local.md", ".claude", ".mcp.json")]
    proj += [os.path.join(project, "CLAUDE.%s.md" % t) for t in ("codex", "gemini", "opencode", "cursor", "aider",
                                                                 "windsurf")]
    proj += [os.path.join(project, n) for n in ("hooks/hooks.json", ".harness-sync/overrides", ".harnesssync")]
    return user + list(plugin_dirs) + proj


def test_the_list_for_a_user_and_a_project(tmp, monkeypatch):
    home, project = os.path.join(tmp, "home"), os.path.join(tmp, "p")
    assert setup.sources(home, [project]) == expected(home, project)
    assert setup.sources(home) == expected(home, project)[:9]
    # Absolute however they are given; a project named twice is listed once.
    monkeypatch.chdir(tmp)
    assert setup.sources("home", ["p", project]) == expected(home, project)


def test_defaults_to_path_home(tmp, monkeypatch):
    monkeypatch.setenv("HOME", tmp)
    assert setup.sources() == expected(tmp, "/x")[:9]


def test_user_scope_plugin_install_dirs_are_watched(tmp):
    home = os.path.join(tmp, "home")
    reg = Path(home, ".claude", "plugins", "installed_plugins.json")
    reg.parent.mkdir(parents=True)
    # v2: lists per plugin; project-scope installs are not read by a user sync.
    reg.write_text(json.dumps({"plugins": {
        "a@m": [{"scope": "user", "installPath": "/opt/plugins/a"}, {"scope": "project", "installPath": "/p/b"}],
        "c@m": {"scope": "user", "installPath": "/opt/plugins/c"},
        "d@m": [{"scope": "user", "installPath": "relative/d"}, "junk"]}}))
    assert setup.sources(home)[9:] == ["/opt/plugins/a", "/opt/plugins/c"]
    reg.write_text(json.dumps({"plugins": [{"scope": "user", "installPath": "/opt/plugins/e"}]}))  # v1
    assert setup.sources(home)[9:] == ["/opt/plugins/e"]
    reg.write_text("{not json")
    assert setup.sources(home)[9:] == []


def test_a_project_at_home_does_not_watch_the_state_dir(tmp):
    """~/.harnesssync, a directory, is the state dir, which every sync
    writes: watching it would run the sync for ever."""
    os.mkdir(os.path.join(tmp, ".harnesssync"))
    listed = setup.sources(tmp, [tmp])
    assert os.path.join(tmp, ".harnesssync") not in listed
    assert os.path.join(tmp, "CLAUDE.md") in listed


# -- against HarnessSync's own readers -----------------------------------------

READ_ALL = r'''
import json, os, sys
sys.path.insert(0, sys.argv[1])
project, log = sys.argv[2], sys.argv[3]
seen = []
def audit(event, args):
    if event == "open" and isinstance(args[0], str):
        seen.append(args[0])
    elif event in ("os.listdir", "os.scandir") and args and isinstance(args[0], str):
        seen.append(args[0])
sys.addaudithook(audit)
from pathlib import Path
from src.source_reader import SourceReader, OverrideReader, substitute_config_vars
r = SourceReader(scope="all", project_dir=Path(project))
r.discover_all()
r.get_source_paths()
for t in ("codex", "gemini", "opencode", "cursor", "aider", "windsurf"):
    r.get_harness_override(t)
    OverrideReader(Path(project)).load_overrides(t)
substitute_config_vars("${X}", Path(project))
with open(log, "w") as f:
    json.dump(seen, f)
'''


def populate(home, project):
    def put(path, text="x\n"):
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    cc = os.path.join(home, ".claude")
    plugin = os.path.join(home, "plugins-elsewhere", "p1")
    put(os.path.join(cc, "CLAUDE.md"), "# user\n")
    put(os.path.join(cc, "rules", "r.md"), "---\nscope_patterns: []\n---\nrule\n")
    put(os.path.join(cc, "skills", "s1", "SKILL.md"), "---\nname: s1\n---\n")
    put(os.path.join(cc, "agents", "a1.md"), "---\nname: a1\n---\n")
    put(os.path.join(cc, "commands", "c1.md"), "c\n")
    put(os.path.join(cc, "settings.json"), json.dumps({
        "permissions": {"allow": ["Bash(ls)"]}, "enabledPlugins": {"p1@m": True},
        "hooks": {"PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "true"}]}]},
        "mcpServers": {"s": {"command": "x"}}}))
    put(os.path.join(cc, ".claude.json"), json.dumps({"mcpServers": {"u": {"command": "x"}}, "projects": {
        project: {"mcpServers": {"l": {"command": "x"}}}}}))
    put(os.path.join(cc, ".mcp.json"), json.dumps({"mcpServers": {"m": {"command": "x"}}}))
    put(os.path.join(cc, "plugins", "installed_plugins.json"), json.dumps({"plugins": {
        "p1@m": [{"scope": "user", "installPath": plugin, "version": "1.0"}]}}))
    put(os.path.join(plugin, ".claude-plugin", "plugin.json"), json.dumps({"name": "p1", "version": "1.0"}))
    put(os.path.join(plugin, "skills", "ps", "SKILL.md"), "---\nname: ps\n---\n")
    put(os.path.join(plugin, ".mcp.json"), json.dumps({"mcpServers": {"pm": {"command": "x"}}}))
    put(os.path.join(project, "CLAUDE.md"), "# project\n")
    put(os.path.join(project, "CLAUDE.local.md"), "# local\n")
    put(os.path.join(project, "CLAUDE.codex.md"), "codex only\n")
    for rel in ("CLAUDE.md", "rules/r.md", "skills/s2/SKILL.md", "agents/a2.md", "commands/c2.md",
                "overrides/gemini.md", "CLAUDE.gemini.md"):
        put(os.path.join(project, ".claude", rel), "---\nname: n\n---\n")
    put(os.path.join(project, ".claude", "settings.json"), json.dumps({"permissions": {"allow": ["Read"]}}))
    put(os.path.join(project, ".claude", "settings.local.json"), json.dumps({"permissions": {"deny": ["Write"]}}))
    put(os.path.join(project, ".mcp.json"), json.dumps({"mcpServers": {"pr": {"command": "x"}}}))
    put(os.path.join(project, "hooks", "hooks.json"), json.dumps({"hooks": {}}))
    put(os.path.join(project, ".harness-sync", "overrides", "codex.md"), "o\n")
    put(os.path.join(project, ".harnesssync"), json.dumps({"vars": {"X": "1"}}))
    return plugin


@pytest.mark.skipif(not HARNESSSYNC_SRC, reason="HS_HARNESSSYNC_SRC (a HarnessSync 0.1.4 tree) is not set")
def test_the_list_is_what_harnesssyncs_readers_read(tmp):
    home, project = os.path.join(tmp, "home"), os.path.join(tmp, "work", "p")
    populate(home, project)
    log = os.path.join(tmp, "read.json")
    env = dict(os.environ, HOME=home, PYTHONPATH="")
    r = subprocess.run([sys.executable, "-c", READ_ALL, HARNESSSYNC_SRC, project, log], capture_output=True,
                       text=True, env=env, cwd=project, timeout=120)
    assert r.returncode == 0, r.stderr

    def under(path, root):
        return path == root or path.startswith(root + "/")

    with open(log) as f:
        read = sorted({os.path.abspath(p) for p in json.load(f)
                       if under(os.path.abspath(p), home) or under(os.path.abspath(p), project)})
    listed = setup.sources(home, [project])

    not_listed = [p for p in read if not any(under(p, s) for s in listed)]
    # HarnessSync lists the project dir itself (hooks/, CLAUDE.<t>.md) and the
    # project's git state (config_vars' built-in vars): neither is a source.
    not_listed = [p for p in not_listed if p != project and "/.git" not in p]
    assert not_listed == [], not_listed
    unread = [s for s in listed if os.path.exists(s) and not any(under(p, s) for p in read)]
    assert unread == [], unread
