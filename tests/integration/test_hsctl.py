"""hsctl end to end against the real daemon: every command, every exit code,
valid --json, autostart (and its race), and a daemon that cannot start."""
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import DAEMON, harnesssyncd_pids

HSCTL = os.environ.get("HS_HSCTL", os.path.join(os.path.dirname(DAEMON), "hsctl"))
COMMANDS = ["status", "drift", "record", "accept", "clear", "migrate", "hash", "accounts", "plugins", "dry-run",
            "health", "trigger", "harnesssync", "lock", "locks", "info", "ping", "shutdown", "call",
            "socket-path"]


class Env:
    """A private state dir and socket; hsctl() runs the real binary there."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.state = os.path.join(tmp, "state")
        self.sock = os.path.join(tmp, "hs.sock")
        self.env = dict(os.environ, HARNESSSYNC_HOME=self.state, HARNESSSYNC_SOCKET=self.sock)
        self.env.pop("HARNESSSYNC_NO_SPAWN", None)

    def hsctl(self, *args, input=None, env=None, timeout=30):
        return subprocess.run([HSCTL, *args], capture_output=True, text=True, input=input, timeout=timeout,
                              env=dict(self.env, **(env or {})))

    def ok(self, *args, code=0, **kw):
        r = self.hsctl(*args, **kw)
        assert r.returncode == code, (args, r.returncode, r.stdout, r.stderr)
        return r

    def json(self, *args, code=0, **kw):
        return json.loads(self.ok("--json", *args, code=code, **kw).stdout)

    def daemon_pids(self):
        return harnesssyncd_pids(lambda argv: self.sock.encode() in argv)

    def stop(self):
        self.hsctl("--no-spawn", "shutdown")
        for pid in self.daemon_pids():
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def env(tmp):
    e = Env(tmp)
    yield e
    e.stop()


def one_line_error(r):
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hsctl: "), r.stderr
    return lines[0]


def test_help_is_complete():
    r = subprocess.run([HSCTL, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for word in COMMANDS + ["--socket", "--state-dir", "--account", "--json", "--timeout", "--no-spawn", "--version",
                            "Exit status", "drift found", "unreachable", "HARNESSSYNC_NO_SPAWN"]:
        assert word in r.stdout, word
    for cmd in COMMANDS:
        r = subprocess.run([HSCTL, cmd, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and cmd in r.stdout, cmd
    r = subprocess.run([HSCTL, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("hsctl ")


@pytest.mark.parametrize("args", [[], ["bogus"], ["drift"], ["record", "codex"], ["--timeout", "x", "ping"],
                                  ["record", "codex", "--scope", "all", "--synced", "-1"], ["ping", "--nope"]])
def test_usage_errors_exit_2_with_one_line(env, args):
    r = env.hsctl(*args)
    assert r.returncode == 2, (args, r.stderr)
    one_line_error(r)
    assert env.daemon_pids() == []  # nothing was started for a bad command line


def test_socket_path(env):
    assert env.ok("socket-path").stdout.strip() == env.sock
    assert env.ok("--socket", "/tmp/x.sock", "socket-path").stdout.strip() == "/tmp/x.sock"
    # The rule (docs/PROTOCOL.md): a name per state dir; tests/integration/
    # test_socket_rule.py has the rest.
    e = dict(env.env)
    del e["HARNESSSYNC_SOCKET"]
    e["XDG_RUNTIME_DIR"] = "/run/user/1234"
    name = "harnesssyncd-%s.sock" % hashlib.sha256(os.path.realpath(env.state).encode()).hexdigest()[:16]
    r = subprocess.run([HSCTL, "socket-path"], capture_output=True, text=True, env=e)
    assert r.stdout.strip() == "/run/user/1234/harnesssync/" + name
    e.pop("XDG_RUNTIME_DIR")
    e["TMPDIR"] = env.tmp
    r = subprocess.run([HSCTL, "socket-path"], capture_output=True, text=True, env=e)
    assert r.stdout.strip() == os.path.join(env.tmp, "harnesssync-%d" % os.geteuid(), "harnesssync", name)
    r = env.hsctl("--socket", "/tmp/" + "x" * 120, "socket-path")
    assert r.returncode == 2 and "longer than" in one_line_error(r)


def test_every_command_end_to_end(env, tmp):
    a, b = os.path.join(tmp, "a.md"), os.path.join(tmp, "b.md")
    with open(a, "w") as f:
        f.write("alpha\n")
    assert env.ok("ping").stdout.startswith("pong")
    entry = env.json("record", "codex", "--scope", "all", "--synced", "5", "--skipped", "2", "--failed", "1",
                     "--file", a, "--file", b + "=" + "b" * 64, "--method", a + "=symlink")
    assert entry["status"] == "partial" and entry["target"] == "codex"
    assert entry["file_hashes"] == {a: hashlib.sha256(b"alpha\n").hexdigest(), b: "b" * 64}
    assert entry["sync_method"] == {a: "symlink"}
    r = env.ok("record", "gemini", "--scope", "user")
    assert r.stdout.startswith("recorded gemini: success")

    # b.md is missing: drift. Human output groups it; --json is valid.
    r = env.ok("drift", "codex", code=1)
    assert "removed:" in r.stdout and b in r.stdout
    d = env.json("drift", "codex", code=1)
    assert d["removed"] == [b] and d["changed"] == [] and d["tracked"] is True
    d = env.json("drift", "codex", "--hashes", "-", code=1, input=json.dumps({a: "0" * 64}))
    assert d["changed"] == [a] and d["removed"] == [b]
    hashes_file = os.path.join(tmp, "h.json")
    with open(hashes_file, "w") as f:
        json.dump({a: hashlib.sha256(b"alpha\n").hexdigest(), b: "b" * 64}, f)
    assert env.json("drift", "codex", "--hashes", hashes_file)["drifted"] == []
    assert env.ok("drift", "gemini").stdout.strip() == "gemini: no drift"
    assert "never synced" in env.ok("drift", "opencode").stdout

    st = env.json("status", code=1)
    assert st == {"ok": False, "drift_detected": True, "drift_targets": ["codex"], "never_synced": ["opencode"],
                  "last_sync": st["last_sync"], "targets": st["targets"]}
    assert st["targets"]["codex"] == {"status": "partial", "last_sync": entry["last_sync"], "items_synced": 5,
                                      "items_failed": 1, "drift": True, "drift_count": 1}
    assert st["targets"]["gemini"]["drift"] is False
    human = env.ok("status", code=1).stdout
    assert "codex" in human and "partial" in human and "1 file" in human and "opencode" in human
    assert env.json("status", "gemini")["ok"] is True

    acc = env.json("accept", "codex", a, b)
    assert acc == {"updated": [a], "removed": [b]}
    assert env.ok("status", "codex").returncode == 0

    h = env.json("hash", a, os.path.join(tmp, "nope"))
    assert h == {a: hashlib.sha256(b"alpha\n").hexdigest(), os.path.join(tmp, "nope"): None}
    assert env.ok("hash", a).stdout == hashlib.sha256(b"alpha\n").hexdigest() + "  " + a + "\n"

    info = env.json("info")
    assert info["name"] == "harnesssyncd" and info["socket"] == env.sock
    assert "pid" in env.ok("info").stdout

    assert env.json("call", "state.target", '{"target": "gemini"}')["scope"] == "user"
    assert env.json("call", "daemon.ping") == "pong"

    old = os.path.join(tmp, "cc2all")
    assert env.json("migrate", "--from", old) == {"migrated": False, "last_sync": None}
    os.mkdir(old)
    with open(os.path.join(old, "sync-state.json"), "w") as f:
        json.dump({"last_sync": "2025-05-05T05:05:05.000005"}, f)
    assert "migrated from" in env.ok("migrate", "--from", old).stdout

    assert env.json("clear", "gemini") == {"cleared": True}
    assert "had no sync record" in env.ok("clear", "gemini").stdout

    assert env.json("shutdown") == {"stopped": True}
    assert not os.path.exists(env.sock)
    assert env.daemon_pids() == []  # really gone: its lock is free ...
    assert env.ok("ping").stdout.startswith("pong")  # ... so a new one starts at once


def test_relative_paths_are_made_absolute(env, tmp):
    """The daemon's working directory is not the caller's: hsctl sends absolute paths."""
    with open(os.path.join(tmp, "rel.md"), "w") as f:
        f.write("x")
    want = {os.path.join(tmp, "rel.md"): hashlib.sha256(b"x").hexdigest()}

    def run(*args):
        r = subprocess.run([HSCTL, "--json", *args], capture_output=True, text=True, cwd=tmp, env=env.env)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    assert run("hash", "rel.md") == want
    assert run("record", "codex", "--scope", "all", "--file", "rel.md")["file_hashes"] == want
    assert run("accept", "codex", "./rel.md") == {"updated": list(want), "removed": []}


def test_accounts(env):
    env.ok("--account", "work", "record", "codex", "--scope", "all")
    assert env.json("--account", "work", "status")["targets"]["codex"]["status"] == "success"
    assert "codex" not in env.json("status")["targets"]
    assert env.json("call", "state.all")["version"] == 2


def test_daemon_errors_exit_4_with_one_line(env, tmp):
    r = env.hsctl("accept", "untracked", os.path.join(tmp, "x"))
    assert r.returncode == 4
    assert "not tracked" in one_line_error(r) and "-32602" in r.stderr
    r = env.hsctl("call", "no.such.method")
    assert r.returncode == 4 and "Method not found" in one_line_error(r)
    r = env.hsctl("--json", "call", "state.target", '{"target": "a b"}')
    assert r.returncode == 4 and json.loads(r.stdout)["error"]["data"]["field"] == "target"
    r = env.hsctl("call", "state.target", "[1]")
    assert r.returncode == 2
    r = env.hsctl("drift", "codex", "--hashes", os.path.join(tmp, "missing.json"))
    assert r.returncode == 2 and "cannot read" in one_line_error(r)
    r = env.hsctl("drift", "codex", "--hashes", "-", input="[not json")
    assert r.returncode == 2


class FakeDaemon:
    """A daemon of another version, in a thread: answers each method from
    `answers` (a result, or a callable of params); anything else gets -32601."""

    def __init__(self, path, answers):
        self.answers = answers
        self.seen = []
        self.ended = 0  # connections read to their end
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        try:
            self._answer_all(conn)
        finally:
            self.ended += 1

    def _answer_all(self, conn):
        with conn, conn.makefile("rwb") as f:
            for line in f:
                msg = json.loads(line)
                self.seen.append(msg["method"])
                answer = self.answers.get(msg["method"])
                if answer is None:
                    out = {"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": "Method not found"}}
                else:
                    result = answer(msg.get("params")) if callable(answer) else answer
                    out = {"jsonrpc": "2.0", "id": msg["id"], "result": result}
                f.write((json.dumps(out) + "\n").encode())
                f.flush()

    def close(self):
        self.listener.close()


def partial_info(env):
    """daemon.info of a daemon that reports its version as hsctl's (no warning)
    but lacks most fields. It has state_file: hsctl checks it against the
    state dir it names ($HARNESSSYNC_HOME)."""
    version = subprocess.run([HSCTL, "--version"], capture_output=True, text=True).stdout.split()[-1]
    return {"name": "harnesssyncd", "version": version, "writes": {}, "state_file": os.path.join(env.state, "state.json")}


def test_an_older_daemons_partial_answer_is_one_line_exit_7(env):
    """hsctl read the answer with .at(): a daemon that lacked a field made it
    call std::terminate (SIGABRT) instead of saying what was wrong."""
    fake = FakeDaemon(env.sock, {"daemon.info": partial_info(env), "state.record": {"target": "codex", "scope": "all"}})
    try:
        r = env.hsctl("--no-spawn", "record", "codex", "--scope", "all")
        assert r.returncode == 7, (r.returncode, r.stderr)
        line = one_line_error(r)
        assert "state.record" in line and '"status"' in line and "hsctl shutdown" in line, line
        # --json prints the answer as it is.
        assert json.loads(env.ok("--no-spawn", "--json", "record", "codex", "--scope", "all").stdout)["target"] == "codex"
        # info shows what there is, "?" for the rest.
        r = env.ok("--no-spawn", "info")
        assert "(protocol ?)" in r.stdout and "? durable writes holding ? changes" in r.stdout, r.stdout
        fake.answers["state.record"] = {"target": "codex", "status": "success", "items_synced": "1"}
        r = env.hsctl("--no-spawn", "record", "codex", "--scope", "all")
        assert r.returncode == 7 and '"items_synced"' in one_line_error(r), r.stderr
        fake.answers["state.record"] = ["not", "an", "entry"]
        r = env.hsctl("--no-spawn", "record", "codex", "--scope", "all")
        assert r.returncode == 7 and "an entry object" in one_line_error(r), r.stderr
        fake.answers["state.all"] = {"version": 2, "targets": {"codex": "not an entry"}}
        fake.answers["state.drift"] = {"target": "codex", "tracked": True, "drifted": []}
        r = env.hsctl("--no-spawn", "status", "codex")
        assert r.returncode == 0 and "codex" in r.stdout, (r.stdout, r.stderr)
    finally:
        fake.close()


POLL_FAULT = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
/* A persistent poll() failure in hsctl only (the daemon it starts inherits
   LD_PRELOAD and gets the real poll): ENOMEM cannot be provoked on demand. */
extern char* program_invocation_short_name;
int poll(struct pollfd* fds, nfds_t n, int timeout) {
  if (strcmp(program_invocation_short_name, "hsctl") == 0) { errno = ENOMEM; return -1; }
  int (*real)(struct pollfd*, nfds_t, int) = (int (*)(struct pollfd*, nfds_t, int))dlsym(RTLD_NEXT, "poll");
  return real(fds, n, timeout);
}
"""


@pytest.mark.skipif(os.environ.get("HS_SANITIZED") == "1", reason="a preloaded shim and the sanitizer runtime clash")
def test_a_persistent_poll_error_while_starting_is_reported_at_once(env, tmp):
    """spawn.cpp took any poll() failure for 'not yet' and spun on it until the
    start-up deadline (10 s or more), then reported a timeout."""
    src, shim = os.path.join(tmp, "poll_fault.c"), os.path.join(tmp, "poll_fault.so")
    with open(src, "w") as f:
        f.write(POLL_FAULT)
    cc = subprocess.run(["cc", "-shared", "-fPIC", "-o", shim, src, "-ldl"], capture_output=True, text=True)
    if cc.returncode != 0:
        pytest.skip("no C compiler for the shim: " + cc.stderr)
    t0 = time.monotonic()
    r = env.hsctl("ping", env={"LD_PRELOAD": shim})
    elapsed = time.monotonic() - t0
    assert r.returncode == 3, r.stderr
    line = one_line_error(r)
    assert "poll: Cannot allocate memory" in line, line
    assert elapsed < 5, elapsed


def test_shutdown_never_takes_the_lock_a_new_daemon_needs(env, start):
    """hsctl shutdown used to probe the daemon's lock by taking it: a daemon
    starting in that instant exited 75, and a new daemon that took the lock
    first made hsctl wait its whole --timeout for the old one. A successor
    that takes the lock the moment the old daemon exits stands in for a
    daemon starting at once; hsctl must see the old one gone regardless."""
    for _ in range(5):
        old = start(state_dir=env.state, socket_path=env.sock)
        lock_path = os.path.join(env.state, "harnesssyncd.lock")
        successor_has_lock = threading.Event()
        release = threading.Event()
        failures = []

        def successor():
            try:
                with open(lock_path, "r+") as f:
                    fcntl.flock(f, fcntl.LOCK_EX)  # granted when the old daemon exits
                    successor_has_lock.set()
                    release.wait(30)
            except BaseException as e:  # re-raised on the main thread
                failures.append(e)

        t = threading.Thread(target=successor)
        t.start()
        try:
            t0 = time.monotonic()
            r = env.hsctl("--no-spawn", "--timeout", "20", "shutdown")
            elapsed = time.monotonic() - t0
            assert r.returncode == 0 and r.stdout == "harnesssyncd stopped\n", (r.stdout, r.stderr)
            assert old.wait(10) == 0
            assert successor_has_lock.wait(10)
            assert elapsed < 10, elapsed
        finally:
            release.set()
            t.join(30)
        assert failures == [] and not t.is_alive()
        old.stop()
    # And a real daemon starts at once after hsctl said it stopped.
    env.ok("--no-spawn", "shutdown", code=3)
    new = start(state_dir=env.state, socket_path=env.sock)
    env.ok("--no-spawn", "shutdown")
    assert new.wait(10) == 0


def test_no_spawn_exits_3(env):
    r = env.hsctl("--no-spawn", "ping")
    assert r.returncode == 3 and "autostart is off" in one_line_error(r)
    r = env.hsctl("ping", env={"HARNESSSYNC_NO_SPAWN": "1"})
    assert r.returncode == 3 and "HARNESSSYNC_NO_SPAWN" in one_line_error(r)
    r = env.hsctl("shutdown")  # never starts a daemon just to stop it
    assert r.returncode == 3
    assert env.daemon_pids() == []


def test_autostart_logs_to_the_state_dir_and_detaches(env):
    env.ok("ping")
    pids = env.daemon_pids()
    assert len(pids) == 1
    with open("/proc/%d/stat" % pids[0]) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ppid, pgid, sid = int(fields[1]), int(fields[2]), int(fields[3])
    assert ppid != os.getpid()  # not our child
    # A process group of its own (no signal for our job reaches it), in our
    # session (so that it starts in our scheduler autogroup).
    assert pgid == pids[0] and pgid != os.getpgid(0) and sid == os.getsid(0)
    assert "serving" in open(os.path.join(env.state, "harnesssyncd.log")).read()


def test_an_autostarted_daemon_outlives_the_terminal_it_was_started_from(env):
    """Started from a shell on a terminal: ^C to the shell's job and the
    terminal's hangup (its session leader and foreground job get SIGHUP)
    reach hsctl's job, never the daemon."""
    import pty
    pid, master = pty.fork()
    if pid == 0:  # a session leader on the pty, as a login shell is
        try:
            os.execve("/bin/sh", ["sh", "-c", '"$0" ping && echo started && exec sleep 600', HSCTL], env.env)
        finally:
            os._exit(127)
    out = b""
    while b"started" not in out:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            chunk = b""
        assert chunk, out
        out += chunk
    daemon = env.daemon_pids()
    assert len(daemon) == 1
    os.write(master, b"\x03")  # ^C: SIGINT to the foreground job (sh, then sleep)
    os.close(master)           # the hangup
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status), status
    r = env.hsctl("--no-spawn", "--json", "info")
    assert r.returncode == 0 and json.loads(r.stdout)["pid"] == daemon[0], (r.returncode, r.stderr)


def test_sixteen_hsctl_race_to_start_exactly_one_daemon(env):
    procs = [subprocess.Popen([HSCTL, "--json", "info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env.env) for _ in range(16)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 16, outs
    pids = {json.loads(out)["pid"] for out, _ in outs}
    assert len(pids) == 1
    assert env.daemon_pids() == list(pids)


def test_dead_socket_is_replaced_by_autostart(env):
    os.makedirs(env.state, mode=0o700)
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(env.sock)
    dead.close()
    assert env.ok("ping").stdout.startswith("pong")


def test_daemon_that_cannot_start_is_reported_with_its_reason(env):
    os.makedirs(env.state, mode=0o700)
    with open(os.path.join(env.state, "state.json"), "w") as f:
        f.write('{"version": 3, "targets": {}}')
    t0 = time.monotonic()
    r = env.hsctl("status")
    assert r.returncode == 3
    line = one_line_error(r)
    assert "could not start" in line and "version 3" in line
    assert time.monotonic() - t0 < 5  # through the readiness pipe, not a timeout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a dir unwritable for real")
def test_unwritable_state_dir_is_reported(env, tmp):
    os.chmod(tmp, 0o755)
    os.mkdir(env.state, 0o555)
    os.chown(env.state, 65534, 65534)  # nobody's, read-only even to nobody

    def as_nobody():
        os.setgid(65534)
        os.setuid(65534)

    e = dict(env.env, HARNESSSYNC_SOCKET=os.path.join(env.state, "hs.sock"))
    r = subprocess.run([HSCTL, "ping"], capture_output=True, text=True, env=e, preexec_fn=as_nobody, timeout=30)
    assert r.returncode == 3
    assert "Permission denied" in one_line_error(r)


def test_version_mismatch_warns(env, tmp):
    """A scripted peer that claims another version: hsctl warns on stderr."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(env.sock)
    srv.listen(1)

    def serve():
        c, _ = srv.accept()
        f = c.makefile("rwb")
        for _ in range(2):
            req = json.loads(f.readline())
            result = {"name": "harnesssyncd", "version": "0.0.1", "protocol": 1,
                      "state_file": os.path.join(env.state, "state.json")} if req["method"] == "daemon.info" \
                else "pong"
            f.write((json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}) + "\n").encode())
            f.flush()
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    r = env.hsctl("--no-spawn", "ping")
    t.join(10)
    srv.close()
    assert r.returncode == 0
    assert "harnesssyncd is version 0.0.1" in one_line_error(r)


def test_autostart_with_stdio_closed(env):
    """Started from a context without stdin/stdout/stderr (some hooks are):
    the readiness pipe must not land on fd 0-2 and be clobbered."""
    rd, wr = os.pipe()
    p = subprocess.Popen(["bash", "-c", '"$0" ping <&- >&- 2>&-; echo "rc=$?" >&%d' % wr, HSCTL],
                         env=env.env, pass_fds=(wr,))
    os.close(wr)
    out = os.read(rd, 100).decode()
    p.wait(30)
    assert out.strip() == "rc=0"
    assert len(env.daemon_pids()) == 1


def test_accounts_and_plugins(env):
    """accounts and plugins read what HarnessSync's other sections hold."""
    assert env.ok("accounts").stdout == "no accounts\n"
    assert env.json("accounts") == []
    assert env.ok("plugins").stdout == "no plugins recorded\n"
    env.ok("--account", "work", "record", "codex", "--scope", "all")
    env.ok("--account", "home", "record", "codex", "--scope", "all")
    assert env.ok("accounts").stdout == "home\nwork\n"
    assert env.json("accounts") == ["home", "work"]
    plugins = {"context7": {"version": "1.2.0", "mcp_count": 2}, "linear": {"enabled": True}}
    env.ok("call", "plugins.record", json.dumps({"plugins": plugins, "account": "work"}))
    assert env.json("--account", "work", "plugins") == plugins
    assert env.json("plugins") == {}
    lines = env.ok("--account", "work", "plugins").stdout.splitlines()
    assert lines[0].split() == ["PLUGIN", "VERSION", "MCP", "SERVERS"]
    assert lines[1].split() == ["context7", "1.2.0", "2"]
    assert lines[2].split() == ["linear", "-", "-"]
    assert lines[3] == "(account work)"


def test_dry_run(env):
    assert env.ok("dry-run").stdout == "global dry run: off\n"
    assert env.ok("dry-run", "on").stdout == "global dry run: on\n"
    assert env.json("dry-run") == {"global_dry_run": True}
    assert env.json("dry-run", "off") == {"global_dry_run": False}
    assert env.json("call", "state.all")["global_dry_run"] is False
    r = env.ok("dry-run", "maybe", code=2)
    assert "maybe" in one_line_error(r)
    r = env.ok("--account", "work", "dry-run", "on", code=2)
    assert "global" in one_line_error(r)


def test_health(env):
    assert env.ok("health", "codex").stdout == "codex has no health scores\n"
    assert env.json("health", "codex") == []
    assert env.ok("health", "codex", "84", "--label", "good").stdout == "recorded codex health 84 (good)\n"
    e = env.json("health", "codex", "42.5")
    assert e["score"] == 42.5 and e["label"] == "" and e["timestamp"]
    assert env.json("health", "codex", "250")["score"] == 100
    hist = env.json("health", "codex")
    assert [h["score"] for h in hist] == [84, 42.5, 100]
    assert isinstance(hist[0]["score"], int)  # an integer stays an integer
    assert [h["score"] for h in env.json("health", "codex", "-n", "2")] == [42.5, 100]
    lines = env.ok("health", "codex", "-n", "1").stdout.splitlines()
    assert lines[0].split() == ["TIMESTAMP", "SCORE", "LABEL"]
    assert lines[1].split()[1:] == ["100"]
    # The file holds what the daemon stored: integer scores as integers.
    with open(os.path.join(env.state, "state.json")) as f:
        assert json.load(f)["health_score_history"]["codex"][0] == hist[0]
    for args, word in [(["codex", "-n", "0"], "-n"), (["codex", "-n", "91"], "-n"), (["codex", "high"], "high"),
                       (["codex", "--label", "x"], "--label"), (["codex", "5", "-n", "3"], "-n")]:
        r = env.ok("health", *args, code=2)
        assert word in one_line_error(r), args
    r = env.ok("--account", "work", "health", "codex", code=2)
    assert "account" in one_line_error(r)
    r = env.ok("health", "no spaces", "5", code=4)
    assert "target" in one_line_error(r)



def test_info_shows_the_layout(env):
    """hsctl passes no --schema: the daemon it starts has the daemon's
    default layout, 2 (HarnessSync's), or the one $HARNESSSYNC_SCHEMA asks for."""
    env.env.pop("HARNESSSYNC_SCHEMA", None)
    assert env.json("info")["schema"] == 2
    assert "layout      schema 2\n" in env.ok("info").stdout
    env.ok("shutdown")
    env.env["HARNESSSYNC_SCHEMA"] = "1"
    assert env.json("info")["schema"] == 1
    assert "layout      schema 1\n" in env.ok("info").stdout


# ---- the state dir check, sent with the call ----------------------------------


def wait_for(pred, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.01)


def test_the_check_and_a_call_that_only_reads_go_out_together(env):
    """One round trip for both: this daemon answers nothing until it has read
    two requests, so an hsctl that waited for the check's answer before
    sending its call would time out."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(env.sock)
    srv.listen(1)
    info = partial_info(env)
    drift = {"target": "codex", "tracked": True, "drifted": [], "changed": [], "added": [], "removed": [],
             "errors": []}

    def serve():
        c, _ = srv.accept()
        with c, c.makefile("rwb") as f:
            reqs = [json.loads(f.readline()), json.loads(f.readline())]
            for req in reversed(reqs):  # out of order, too: matched by id
                result = info if req["method"] == "daemon.info" else drift
                f.write((json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}) + "\n").encode())
            f.flush()
            f.readline()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    r = env.hsctl("--no-spawn", "--timeout", "5", "drift", "codex")
    srv.close()
    assert r.returncode == 0 and r.stdout == "codex: no drift\n", (r.returncode, r.stdout, r.stderr)


def test_a_daemon_of_another_state_dir_is_sent_nothing_that_changes_anything(env):
    """The check keeps its word with the call sent alongside: a call that
    changes something waits for it (the wrong daemon never sees it), and a
    read-only call's answer from the wrong daemon is not shown."""
    other = os.path.join(env.tmp, "other")
    info = dict(partial_info(env), state_file=os.path.join(other, "state.json"))
    fake = FakeDaemon(env.sock, {"daemon.info": info,
                                 "state.record": {"target": "codex", "status": "success"},
                                 "lock.acquire": {"acquired": True, "coalesced": False, "holder_pid": 1},
                                 "state.drift": {"target": "codex", "tracked": True, "drifted": ["/x"],
                                                 "changed": ["/x"]}})
    marker = os.path.join(env.tmp, "ran")
    want = "hsctl: harnesssyncd at %s serves %s/state.json, not %s/state.json" % (env.sock, other, env.state)
    try:
        runs = [("record", "codex", "--scope", "all"), ("lock", "sync", "--", "touch", marker),
                ("accept", "codex", marker), ("clear", "codex"), ("drift", "codex"), ("status",)]
        for n, args in enumerate(runs, 1):
            r = env.hsctl("--no-spawn", *args)
            assert r.returncode == 6 and r.stdout == "", (args, r.returncode, r.stdout, r.stderr)
            assert one_line_error(r) == want, args
            wait_for(lambda: fake.ended == n, "the fake daemon to read everything hsctl sent")
        assert not os.path.exists(marker)
        # Only the two read-only calls were sent along with the check.
        assert fake.seen == ["daemon.info"] * 4 + ["daemon.info", "state.drift", "daemon.info", "state.all"], fake.seen
    finally:
        fake.close()
