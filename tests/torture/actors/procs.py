"""Child processes that actors SIGKILL: spawned with the journal's clock
around them, and reaped at once, so that the oracle knows each pid's life
("child" event: t0 spawned, t1 dead) when it judges a lock's holder."""
import os
import signal
import subprocess
import sys

from journal import now

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_live = set()   # children not reaped yet, for kill_all() when the run is cut short


def spawn(script, args):
    t0 = now()
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "children", script), *args],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    p.t0 = t0
    _live.add(p)
    return p


def kill_and_reap(w, p, actor, label):
    """SIGKILLs `p` unless it ended already, and journals its life."""
    killed = p.poll() is None
    if killed:
        p.send_signal(signal.SIGKILL)
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    p.wait()
    t1 = now()
    _live.discard(p)
    w.journal.log("child", pid=p.pid, actor=actor, label=label, t0=p.t0, t1=t1, killed=killed,
                  status=p.returncode)
    if err.strip() and not killed:
        w.journal.log("child_error", pid=p.pid, actor=actor, label=label, stderr=err[-2000:])
    return t1


def kill_all():
    for p in list(_live):
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait()
        _live.discard(p)
