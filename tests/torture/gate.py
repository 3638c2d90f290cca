"""Keeps hazards away from the checks they would blur.

A session that sends and hangs up is owed every message it sent (PROTOCOL.md,
"Hang-up"), but a daemon SIGKILL, a failing disk or another writer's
read-modify-write may each lose them legitimately. The oracle excuses a loss
only when such a hazard overlaps the session's window; so that the window is
clean, a fragile session holds the gates of the hazards it fears, and each
hazard (a kill, a fault window, an outside save) holds its own. Within a
side any number run at once; the sides alternate, each admitting those that
were waiting when its turn came, so neither starves the other."""
import contextlib
import threading

KINDS = ("kill", "fault", "outside")


class Gate:
    def __init__(self):
        self._cv = threading.Condition()
        self._active = {"fragile": 0, "hazard": 0}
        self._waiting = {"fragile": 0, "hazard": 0}
        self._admit = {"fragile": 0, "hazard": 0}

    @staticmethod
    def _other(side):
        return "hazard" if side == "fragile" else "fragile"

    def enter(self, side):
        o = self._other(side)
        with self._cv:
            self._waiting[side] += 1
            while True:
                if self._active[o] == 0:
                    if self._waiting[o] == 0:
                        break
                    if self._admit[side] > 0:
                        self._admit[side] -= 1
                        break
                    if self._active[side] == 0 and self._admit[o] == 0:
                        self._admit[o] = self._waiting[o]
                        self._cv.notify_all()
                self._cv.wait()
            self._waiting[side] -= 1
            self._active[side] += 1

    def leave(self, side):
        o = self._other(side)
        with self._cv:
            self._active[side] -= 1
            if self._active[side] == 0 and self._waiting[o] > 0 and self._admit[o] == 0:
                self._admit[o] = self._waiting[o]
            self._cv.notify_all()


class Gates:
    def __init__(self):
        self.by_kind = {k: Gate() for k in KINDS}

    @contextlib.contextmanager
    def fragile(self, kinds):
        """Holds off every hazard of `kinds` (taken in one fixed order, so
        that two fragile sessions never wait on each other)."""
        taken = []
        try:
            for k in KINDS:
                if k in kinds:
                    self.by_kind[k].enter("fragile")
                    taken.append(k)
            yield
        finally:
            for k in reversed(taken):
                self.by_kind[k].leave("fragile")

    @contextlib.contextmanager
    def hazard(self, kind):
        self.by_kind[kind].enter("hazard")
        try:
            yield
        finally:
            self.by_kind[kind].leave("hazard")
