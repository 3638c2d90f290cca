"""The run's journal: one JSON object a line, each stamped with
time.monotonic() (CLOCK_MONOTONIC, shared by every process on the machine),
so that the oracle can order what actors in different processes did.

Each line is one os.write(2) on an O_APPEND descriptor: lines from threads
and processes never interleave, and a line written before a SIGKILL is on
the file (it is in the kernel, not in a Python buffer)."""
import json
import os
import time


def now():
    return time.monotonic()


class Journal:
    def __init__(self, path):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def log(self, ev, **fields):
        """Appends one event; `t` is now unless given. Returns the event."""
        fields["ev"] = ev
        fields.setdefault("t", now())
        os.write(self.fd, (json.dumps(fields, separators=(",", ":")) + "\n").encode())
        return fields

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def read_events(paths):
    """Every event of the given journal files, in time order. A line cut by
    a kill (it should not happen: one write per line) is skipped and counted."""
    events, torn = [], 0
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    torn += 1
    events.sort(key=lambda e: e.get("t", 0.0))
    return events, torn


def journal_files(run_dir):
    d = os.path.join(run_dir, "journal")
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".jsonl"))
