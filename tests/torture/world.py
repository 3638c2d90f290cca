"""What every actor shares: the paths of the run, the journal, the gates,
the daemon, the clock and the stop flag, and one seeded RNG per actor."""
import itertools
import os
import random
import threading

from gate import Gates
from journal import Journal, now

BASELINE = ["b%02d" % i for i in range(50)]


class World:
    def __init__(self, run_dir, seed, deadline):
        self.run_dir = run_dir
        self.seed = seed
        self.deadline = deadline          # monotonic: actors start nothing new after it
        self.state_dir = os.path.join(run_dir, "state")
        self.state_file = os.path.join(self.state_dir, "state.json")
        self.socket = os.path.join(run_dir, "hs.sock")
        self.files_dir = os.path.join(run_dir, "files")
        self.fault_control = os.path.join(run_dir, "fault.mode")
        self.fault_log = os.path.join(run_dir, "fault.log")
        os.makedirs(os.path.join(run_dir, "journal"), exist_ok=True)
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        os.makedirs(self.files_dir, exist_ok=True)
        self.journal = Journal(os.path.join(run_dir, "journal", "main.jsonl"))
        self.gates = Gates()
        self.stop = threading.Event()
        # An in-place writer's half-written file must never meet a daemon
        # start: at start-up an unparsable state.json is moved aside by the
        # load rules (STATE.md), a legitimate reset the oracle would blame.
        self.inplace_mutex = threading.Lock()
        # A daemon kill and a fault window never overlap: a daemon started
        # while writes fail could not write its first state.
        self.daemon_ops = threading.Lock()
        self.daemon = None
        # Set while the daemon's renames are slowed: rename writers race it.
        self.rename_race = threading.Event()
        self._ids = itertools.count(1)
        self.counts = {}
        self._counts_lock = threading.Lock()

    def rng(self, actor):
        return random.Random("%s:%s" % (self.seed, actor))

    def next_id(self):
        return next(self._ids)

    def running(self):
        return not self.stop.is_set() and now() < self.deadline

    def count(self, kind, n=1):
        with self._counts_lock:
            self.counts[kind] = self.counts.get(kind, 0) + n

    def sleep(self, seconds):
        """Sleeps, but wakes at the stop flag. False once the run is over."""
        self.stop.wait(max(0.0, min(seconds, self.deadline - now())))
        return self.running()
