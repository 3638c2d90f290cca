"""Disk-full and I/O errors on the daemon's state writes, switched on and
off through the fault shim's control file (tests/support/fault_state.cpp).
A failing window is a hazard: a change whose write fails while nobody is
there to be told (a notification) is lost legitimately. `delay-rename`
and `delay-renamed` fail nothing: they slow the daemon's renames (before, or
after, the rename itself), so that other writers' saves land between its
last check and its rename, or between its rename and its look at what it
wrote (issue 17, item 3); the rename writers save faster meanwhile
(World.rename_race)."""
import os

from journal import now

FAILING = ["enospc", "eio-write", "eio-fsync", "eio-rename", "eio-dirfsync"]


def set_mode(w, mode):
    """Writes the control file whole (the shim reads it at every call)."""
    if mode is None:
        try:
            os.unlink(w.fault_control)
        except FileNotFoundError:
            pass
        return
    tmp = w.fault_control + ".new"
    with open(tmp, "w") as f:
        f.write(mode + "\n")
    os.replace(tmp, w.fault_control)


class FaultActor:
    def __init__(self, w, name, mean_gap=5.0):
        self.w = w
        self.name = name
        self.rng = w.rng(name)
        self.mean_gap = mean_gap
        self.n = 0

    def run(self):
        w, rng = self.w, self.rng
        try:
            while w.sleep(rng.expovariate(1.0 / self.mean_gap)):
                self.n += 1
                if rng.random() < 0.35:
                    mode = "%s %d" % (rng.choice(["delay-rename", "delay-renamed"]), rng.choice([20, 50, 100]))
                    self.window(mode, rng.uniform(2.0, 6.0), hazard=False)
                else:
                    self.window(rng.choice(FAILING), rng.uniform(0.2, 1.5), hazard=True)
        finally:
            set_mode(w, None)

    def window(self, mode, length, hazard):
        w = self.w
        w.journal.log("act", actor=self.name, n=self.n, kind="fault", mode=mode, length=length)
        w.count("fault." + mode.split()[0])
        if hazard:
            with w.gates.hazard("fault"), w.daemon_ops:
                self.hold(mode, length)
        else:
            w.rename_race.set()
            try:
                self.hold(mode, length)
            finally:
                w.rename_race.clear()

    def hold(self, mode, length):
        w = self.w
        if not w.running():
            return
        t0 = now()
        set_mode(w, mode)
        w.stop.wait(length)
        set_mode(w, None)
        w.journal.log("fault", mode=mode, t0=t0, t1=now(), failing=not mode.startswith("delay"))
