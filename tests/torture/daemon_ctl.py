"""The daemon under test: started, SIGKILLed, restarted, stopped and
continued, with the fault shim (tests/support/fault_state.cpp) preloaded.
Every start and kill goes to the journal; so does an exit nobody asked for."""
import os
import signal
import subprocess
import threading
import time

from journal import now
from wire import Conn


class DaemonCtl:
    def __init__(self, world, binary, shim, schema):
        self.w = world
        self.binary = binary
        self.shim = shim
        self.schema = schema
        self.proc = None
        self.incarnation = 0
        self.lock = threading.RLock()   # one start or kill at a time
        self.expect_down = False        # a kill we made, not yet restarted
        self.logs = []

    def env(self):
        env = dict(os.environ)
        for k in ("HARNESSSYNC_SOCKET", "HARNESSSYNC_HOME", "HARNESSSYNC_SCHEMA"):
            env.pop(k, None)
        if self.shim:
            env["LD_PRELOAD"] = self.shim
            env["HS_FAULT_STATE_DIR"] = os.path.realpath(self.w.state_dir)
            env["HS_FAULT_CONTROL"] = self.w.fault_control
            env["HS_FAULT_LOG"] = self.w.fault_log
            # ASan wants to be first in the library list; the shim only wraps
            # write, fsync and rename, and calls on to the next definition.
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
        return env

    def start(self, timeout=60.0):
        """Starts a new daemon and waits until it answers a ping. Returns
        (ok, detail)."""
        with self.lock:
            self.incarnation += 1
            log_path = os.path.join(self.w.run_dir, "daemon.%d.log" % self.incarnation)
            self.logs.append(log_path)
            log = open(log_path, "w")
            t0 = now()
            self.proc = subprocess.Popen(
                [self.binary, "--state-dir", self.w.state_dir, "--socket", self.w.socket,
                 "--schema", str(self.schema), "--log-level", "info"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=self.env(), start_new_session=True)
            log.close()
            deadline = t0 + timeout
            while now() < deadline:
                if self.proc.poll() is not None:
                    self.w.journal.log("start_failed", t0=t0, status=self.proc.returncode, log=log_path)
                    return False, "exited with status %s (%s)" % (self.proc.returncode, log_path)
                c = Conn.connect(self.w.socket, min(deadline, now() + 0.2), timeout=5.0)
                if c is None:
                    continue
                try:
                    if c.call(1, "daemon.ping").get("result") == "pong":
                        self.expect_down = False
                        self.w.journal.log("up", t0=t0, t1=now(), pid=self.proc.pid, n=self.incarnation)
                        return True, ""
                except Exception:
                    time.sleep(0.02)
                finally:
                    c.close()
            self.w.journal.log("start_failed", t0=t0, status=None, log=log_path)
            return False, "not ready within %.0f s (%s)" % (timeout, log_path)

    def kill(self):
        """SIGKILL; the "kill" event spans the signal (t) to the reaping (t1):
        the process may still accept a connection in between."""
        with self.lock:
            self.expect_down = True
            t = now()
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGKILL)
            if self.proc is not None:
                self.proc.wait()
            self.w.journal.log("kill", t=t, t1=now(), pid=self.proc.pid if self.proc else None)

    def sigstop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGSTOP)

    def sigcont(self):
        if self.proc is not None:
            try:
                self.proc.send_signal(signal.SIGCONT)
            except ProcessLookupError:
                pass

    def pid(self):
        p = self.proc
        return p.pid if p is not None and p.poll() is None else None

    def check_exit(self):
        """Logs an exit nobody asked for (once) and returns True when the
        daemon is down that way."""
        with self.lock:
            p = self.proc
            if p is None or self.expect_down or p.poll() is None:
                return False
            self.expect_down = True
            self.w.journal.log("exit", status=p.returncode, pid=p.pid, log=self.logs[-1])
            return True

    def stop(self, timeout=20.0):
        """SIGTERM at the end of the run; returns the exit status (None if it
        had to be killed)."""
        with self.lock:
            p = self.proc
            if p is None or p.poll() is not None:
                return p.returncode if p else None
            self.expect_down = True
            p.send_signal(signal.SIGCONT)
            p.send_signal(signal.SIGTERM)
            try:
                return p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                return None
