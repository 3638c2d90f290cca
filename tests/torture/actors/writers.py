"""Other writers of state.json (STATE.md, "Other writers"), each save adding
one marker target of its own:
- rename writers, HarnessSync's own way (read, modify, NamedTemporaryFile
  in the state dir with suffix .tmp, fsync, os.replace);
- an in-place writer (truncate and write, sometimes in two halves with a
  pause between, as editors and `echo … > state.json` do).
Each save journals its read window (r0, r1) and its write window (p0, p1);
a read-modify-write that overlaps a change can drop it, and the oracle
excuses exactly those ("save" event)."""
import datetime
import json
import os
import tempfile
import time

from journal import now


def entry(seq):
    return {"last_sync": datetime.datetime.now().isoformat(), "status": "success", "scope": "all",
            "file_hashes": {}, "sync_method": {}, "items_synced": seq % 1000, "items_skipped": 0, "items_failed": 0}


class Writer:
    kind = None

    def __init__(self, w, name, mean_gap):
        self.w = w
        self.name = name
        self.rng = w.rng(name)
        self.mean_gap = mean_gap
        self.n = 0
        self.mine = []   # markers saved, not yet removed

    def run(self):
        while self.w.sleep(self.rng.expovariate(1.0 / self.gap())):
            self.n += 1
            self.w.count("writer." + self.kind)
            self.save()

    def gap(self):
        return self.mean_gap

    def read(self):
        """(r0, r1, doc or None, why)"""
        r0 = now()
        try:
            with open(self.w.state_file, "rb") as f:
                text = f.read()
        except FileNotFoundError:
            text = None
        r1 = now()
        if text is None:
            return r0, r1, None, "missing"
        try:
            doc = json.loads(text)
        except ValueError:
            return r0, r1, None, "unparsable (%d bytes)" % len(text)
        if not isinstance(doc, dict) or not isinstance(doc.get("targets"), dict):
            return r0, r1, None, "not a state document"
        return r0, r1, doc, None

    def modify(self, doc):
        marker = "%s-%06d" % (self.name, self.n)
        e = entry(self.n)
        doc["targets"][marker] = e
        removes = []
        if len(self.mine) > 40 or (self.mine and self.rng.random() < 0.3):
            old = self.mine.pop(self.rng.randrange(len(self.mine)))
            doc["targets"].pop(old, None)
            removes.append(old)
        self.mine.append(marker)
        return marker, e, removes


class RenameWriter(Writer):
    kind = "rename"

    def gap(self):
        # Racing the daemon's slowed renames: save as often as it writes.
        return 0.03 if self.w.rename_race.is_set() else self.mean_gap

    def save(self):
        w, rng = self.w, self.rng
        slow = rng.random() < 0.05
        linger = rng.random() < 0.05
        w.journal.log("act", actor=self.name, n=self.n, kind="rename-save", slow=slow, linger=linger)
        with w.gates.hazard("outside"):
            r0, r1, doc, why = self.read()
            if doc is None:
                w.journal.log("save_skip", writer=self.name, n=self.n, why=why, r0=r0, r1=r1)
                return
            marker, e, removes = self.modify(doc)
            if slow:   # a long sync between load and save
                time.sleep(rng.uniform(0.05, 0.5))
            tmp = tempfile.NamedTemporaryFile(mode="w", dir=w.state_dir, suffix=".tmp", delete=False,
                                              encoding="utf-8")
            json.dump(doc, tmp, indent=2, ensure_ascii=False)
            tmp.write("\n")
            tmp.flush()
            os.fsync(tmp.fileno())
            tmp.close()
            if linger:   # a daemon start now must leave this temp file alone
                time.sleep(rng.uniform(0.1, 1.0))
            p0 = now()
            try:
                os.replace(tmp.name, w.state_file)
            except FileNotFoundError:
                w.journal.log("save_fail", writer=self.name, n=self.n, kind=self.kind, marker=marker,
                              why="temp file %s vanished before os.replace" % os.path.basename(tmp.name),
                              r0=r0, r1=r1, p0=p0, p1=now())
                self.mine.remove(marker)
                return
            p1 = now()
        w.journal.log("save", writer=self.name, n=self.n, kind=self.kind, marker=marker, fields=e,
                      removes=removes, r0=r0, r1=r1, p0=p0, p1=p1)


class InPlaceWriter(Writer):
    kind = "inplace"
    # The daemon may wait until the file is closed, or unchanged for 1 s,
    # before it takes it in (STATE.md, "Saves in place"), refusing changes
    # meanwhile: the hazard lasts that long after the save.
    SETTLE = 1.1

    def save(self):
        w, rng = self.w, self.rng
        halves = rng.random() < 0.6
        pause = rng.uniform(0.01, 0.4) if halves else 0.0
        w.journal.log("act", actor=self.name, n=self.n, kind="inplace-save", pause=pause)
        with w.gates.hazard("outside"):
            with w.inplace_mutex:
                r0, r1, doc, why = self.read()
                if doc is None:
                    w.journal.log("save_skip", writer=self.name, n=self.n, why=why, r0=r0, r1=r1)
                    return
                marker, e, removes = self.modify(doc)
                data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
                cut = rng.randrange(1, len(data)) if halves else len(data)
                p0 = now()
                fd = os.open(w.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
                try:
                    write_all(fd, data[:cut])
                    if halves:
                        time.sleep(pause)
                        write_all(fd, data[cut:])
                finally:
                    os.close(fd)
                p1 = now()
            w.journal.log("save", writer=self.name, n=self.n, kind=self.kind, marker=marker, fields=e,
                          removes=removes, r0=r0, r1=r1, p0=p0, p1=p1)
            w.stop.wait(self.SETTLE)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
