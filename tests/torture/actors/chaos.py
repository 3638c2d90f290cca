"""Daemon SIGKILLs at random moments, and restarts. Clients reconnect on
their own. A kill is a hazard: no fragile session is in flight across it."""

RESTART_TRIES = 3


def restart(w, after_exit=False):
    """Starts the daemon again (the caller holds w.daemon_ops). Ends the run
    when it will not start: nothing after that could be judged."""
    with w.inplace_mutex:
        for _ in range(RESTART_TRIES):
            ok, detail = w.daemon.start()
            if ok:
                return True
            w.journal.log("restart_failed", detail=detail, after_exit=after_exit)
    w.stop.set()
    return False


class ChaosActor:
    def __init__(self, w, name, mean_gap=8.0):
        self.w = w
        self.name = name
        self.rng = w.rng(name)
        self.mean_gap = mean_gap
        self.n = 0

    def run(self):
        w = self.w
        while w.sleep(self.rng.expovariate(1.0 / self.mean_gap)):
            self.n += 1
            down = self.rng.uniform(0.0, 0.3)
            w.journal.log("act", actor=self.name, n=self.n, kind="daemon-kill", down=down)
            w.count("daemon.kill")
            with w.gates.hazard("kill"), w.daemon_ops:
                if not w.running():
                    break
                w.daemon.kill()
                w.stop.wait(down)
                restart(w)
