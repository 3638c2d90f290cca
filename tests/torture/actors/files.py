"""Targets that record real files (the `fN` targets, files under
<run>/files/fN/): edited in place, replaced by rename (as editors save),
deleted, re-created, reached through a symlink that is retargeted, and
below a directory that is renamed away and made again. Between edits the
actor records, accepts, and asks state.drift (no current_hashes), which
must equal what hashing every file says (PROTOCOL.md: "a state.drift
reflects every change made on disk before its request was sent").
Rarely, it accepts a large sparse file and walks away (issue 17, item 4):
the probe actor's changes must not stall meanwhile."""
import hashlib
import os
import shutil

import wire
from journal import now

TARGETS = 6
FILES = ["a.txt", "b.md", "sub/c.json", "link"]
BIG_BYTES = 2 << 30


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def same_hash(a, b):
    if a == b:
        return True
    hexd = set("0123456789abcdef")
    if len(a) >= 16 and len(b) >= 16 and set(a) <= hexd and set(b) <= hexd:
        short, long_ = sorted((a, b), key=len)
        return long_.startswith(short)
    return False


def expected_drift(entry):
    """What hashing every stored path says (STATE.md, "Drift", without
    hashes): {"tracked", "changed", "removed", "errors"} as sorted lists."""
    if entry is None:
        return {"tracked": False, "changed": [], "removed": [], "errors": []}
    changed, removed, errors = [], [], []
    hashes = entry.get("file_hashes") or {}
    for path, stored in hashes.items():
        if not os.path.exists(path):
            if stored != "":
                removed.append(path)
            continue
        try:
            now_hash = sha256(path)
        except OSError:
            errors.append(path)
            continue
        if not same_hash(stored, now_hash):
            changed.append(path)
    return {"tracked": True, "changed": sorted(changed), "removed": sorted(removed), "errors": sorted(errors)}


def reported_drift(result):
    return {"tracked": bool(result.get("tracked")), "changed": sorted(result.get("changed") or []),
            "removed": sorted(result.get("removed") or []),
            "errors": sorted(e.get("path") for e in result.get("errors") or [] if isinstance(e, dict))}


class FilesActor:
    def __init__(self, w, name, mean_gap=0.1):
        self.w = w
        self.name = name
        self.rng = w.rng(name)
        self.mean_gap = mean_gap
        self.n = 0
        self.c = None
        self.next_id = 1
        self.swaps = 0
        for t in range(TARGETS):
            d = self.dir(t)
            os.makedirs(os.path.join(d, "sub"), exist_ok=True)
            for f in ("a.txt", "b.md", "sub/c.json"):
                self.write(os.path.join(d, f))
            os.symlink("a.txt", os.path.join(d, "link"))

    def dir(self, t):
        return os.path.join(self.w.files_dir, "f%d" % t)

    def path(self, t, f):
        return os.path.join(self.dir(t), f)

    def write(self, path):
        with open(path, "w") as f:
            f.write("%s %d\n" % (os.path.basename(path), self.rng.getrandbits(64)) * self.rng.randint(1, 50))

    def call(self, method, params):
        if self.c is None:
            self.c = wire.Conn.connect(self.w.socket, now() + 5.0, timeout=60.0, stop=self.w.stop)
            if self.c is None:
                return None
            # A subscriber makes the daemon watch the files (inotify) and
            # answer drift from what it watched: the cache must never be
            # stale. Its state.drifted notifications are skipped by call().
            self.next_id += 1
            try:
                self.c.call(self.next_id, "state.subscribe", {"targets": ["f%d" % t for t in range(TARGETS)]})
            except (wire.Closed, OSError, ValueError):
                self.c.close()
                self.c = None
                return None
        self.next_id += 1
        try:
            return self.c.call(self.next_id, method, params)
        except (wire.Closed, OSError, ValueError):
            self.c.close()
            self.c = None
            return None

    def run(self):
        actions = [("edit", 20), ("replace", 10), ("delete", 6), ("recreate", 8), ("retarget", 5), ("dirswap", 3),
                   ("record", 14), ("accept", 6), ("drift", 25), ("big-accept", 0.15)]
        while self.w.sleep(self.rng.expovariate(1.0 / self.mean_gap)):
            self.n += 1
            kind = self.rng.choices([a for a, _ in actions], [x for _, x in actions])[0]
            t = self.rng.randrange(TARGETS)
            f = self.rng.choice(FILES[:3])
            self.w.journal.log("act", actor=self.name, n=self.n, kind=kind, target="f%d" % t, file=f)
            self.w.count("files." + kind)
            getattr(self, "do_" + kind.replace("-", "_"))(t, f)
        if self.c is not None:
            self.c.close()

    # ---- the files ----------------------------------------------------------

    def do_edit(self, t, f):
        p = self.path(t, f)
        if os.path.isdir(os.path.dirname(p)):
            self.write(p)

    def do_replace(self, t, f):
        p = self.path(t, f)
        if not os.path.isdir(os.path.dirname(p)):
            return
        tmp = p + ".swp"
        self.write(tmp)
        os.replace(tmp, p)

    def do_delete(self, t, f):
        try:
            os.unlink(self.path(t, f))
        except FileNotFoundError:
            pass

    def do_recreate(self, t, f):
        p = self.path(t, f)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if not os.path.exists(p):
            self.write(p)

    def do_retarget(self, t, f):
        link = self.path(t, "link")
        tmp = link + ".new"
        os.symlink(self.rng.choice(["a.txt", "b.md", "sub/c.json", "missing"]), tmp)
        os.replace(tmp, link)

    def do_dirswap(self, t, f):
        # mv D D.old; mkdir D; write D/...: a watch left on the moved
        # directory would keep reporting the new files clean. D is the
        # file's own directory (sub) or an ancestor (the target's).
        self.swaps += 1
        whole = self.rng.random() < 0.5
        d = self.dir(t) if whole else os.path.join(self.dir(t), "sub")
        old = "%s.old%d" % (d, self.swaps)
        if os.path.isdir(d):
            os.rename(d, old)
        os.makedirs(os.path.join(self.dir(t), "sub"), exist_ok=True)
        for name in ("a.txt", "b.md", "sub/c.json") if whole else ("sub/c.json",):
            self.write(self.path(t, name))
        if whole:
            os.symlink(self.rng.choice(["a.txt", "b.md"]), self.path(t, "link"))
        parent = os.path.dirname(d)
        for name in os.listdir(parent):
            if name.startswith(os.path.basename(d) + ".old") and name != os.path.basename(old):
                shutil.rmtree(os.path.join(parent, name), ignore_errors=True)

    # ---- the daemon ---------------------------------------------------------

    def do_record(self, t, f):
        hashes = {}
        for name in FILES:
            p = self.path(t, name)
            if os.path.exists(p):
                h = sha256(p)
                hashes[p] = h[:16] if self.rng.random() < 0.3 else h
            elif self.rng.random() < 0.5:
                hashes[p] = ""   # HarnessSync's mark for a file that did not exist
        self.call("state.record", {"target": "f%d" % t, "scope": "all", "file_hashes": hashes,
                                   "synced": len(hashes), "skipped": 0, "failed": 0})

    def do_accept(self, t, f):
        paths = [self.path(t, name) for name in self.rng.sample(FILES, self.rng.randint(1, len(FILES)))]
        self.call("state.accept", {"target": "f%d" % t, "paths": paths})

    def do_drift(self, t, f):
        target = "f%d" % t
        before = self.call("state.target", {"target": target})
        if before is None or "result" not in before:
            return
        expected = expected_drift(before["result"])
        t0 = now()
        got = self.call("state.drift", {"target": target})
        t1 = now()
        after = self.call("state.target", {"target": target})
        if got is None or after is None or "result" not in got or "result" not in after:
            return
        # The entry may change under us (an outside writer's save): compare
        # only when it is the same before and after.
        same = before["result"] == after["result"]
        self.w.journal.log("drift", target=target, t0=t0, t1=t1, same_entry=same, expected=expected,
                           got=reported_drift(got["result"]))
        self.w.count("files.drift-compared" if same else "files.drift-skipped")

    def do_big_accept(self, t, f):
        big = os.path.join(self.w.files_dir, "big.bin")
        if not os.path.exists(big):
            with open(big, "wb") as fh:
                fh.truncate(BIG_BYTES)
        self.call("state.record", {"target": "fbig", "scope": "all", "file_hashes": {big: "0" * 64},
                                   "synced": 1, "skipped": 0, "failed": 0})
        c = wire.Conn.connect(self.w.socket, now() + 5.0, stop=self.w.stop)
        if c is None:
            return
        try:
            c.send(wire.encode(wire.request(1, "state.accept", {"target": "fbig", "paths": [big]}), "bare"))
            c.settimeout(self.rng.uniform(0.5, 2.0))
            try:
                c.read_message()
            except Exception:
                pass
        finally:
            c.close()
