#!/usr/bin/python3
"""The torture run (issue 17): a real harnesssyncd under a seeded,
time-bounded storm of hostile clients, other writers, daemon kills and disk
faults, then an oracle that checks the promises (oracle.py).

  tests/torture/torture.py --seconds 60 [--seed S] [--daemon PATH] [--shim PATH]
                           [--actors rpc,child,hangup,locks,owed,writers,inplace,chaos,faults,files,probe]
  tests/torture/torture.py --judge RUN_DIR

Prints the seed first; the same seed replays every actor's choices (the
interleaving is the machine's). Exit status: 0 no anomaly, 1 anomalies,
2 the run itself failed. The run dir (journal, daemon logs, state) is kept
when anything was found, or with --keep."""
import argparse
import glob
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import oracle  # noqa: E402
import report  # noqa: E402
import wire  # noqa: E402
from actors import faults, procs  # noqa: E402
from actors.chaos import ChaosActor, restart  # noqa: E402
from actors.files import TARGETS, FilesActor, expected_drift, reported_drift  # noqa: E402
from actors.hangup import HangupActor  # noqa: E402
from actors.locks import LockActor  # noqa: E402
from actors.owed import OwedActor  # noqa: E402
from actors.probe import ProbeActor  # noqa: E402
from actors.rpc import KINDS, RpcActor  # noqa: E402
from actors.rpc_child import RpcChildActor  # noqa: E402
from actors.session import random_fields  # noqa: E402
from actors.watch import WatchActor  # noqa: E402
from actors.writers import InPlaceWriter, RenameWriter  # noqa: E402
from daemon_ctl import DaemonCtl  # noqa: E402
from journal import journal_files, now, read_events  # noqa: E402
from world import BASELINE, World  # noqa: E402

GROUPS = ["rpc", "child", "hangup", "locks", "owed", "writers", "inplace", "chaos", "faults", "files", "probe",
          "readers"]
DEFAULT = GROUPS[:-1]
ROOT = os.path.dirname(os.path.dirname(HERE))
READ_KINDS = [(k, wt) for k, wt in KINDS if k in ("read", "halfclose", "pause-read")]


def make_actors(w, groups):
    table = {
        "rpc": lambda: [RpcActor(w, "r1"), RpcActor(w, "r2"), RpcActor(w, "r3")],
        # RPC clients that always read their answers: no hang-up, so a daemon
        # that loses only what nobody waits for (issue 17, item 1) passes.
        "readers": lambda: [RpcActor(w, "q1", kinds=READ_KINDS), RpcActor(w, "q2", kinds=READ_KINDS)],
        "child": lambda: [RpcChildActor(w, "c1")],
        "hangup": lambda: [HangupActor(w, "h1")],
        "locks": lambda: [LockActor(w, "k1"), LockActor(w, "k2")],
        "owed": lambda: [OwedActor(w, "o1")],
        "writers": lambda: [RenameWriter(w, "w1", 0.4), RenameWriter(w, "w2", 0.4)],
        "inplace": lambda: [InPlaceWriter(w, "i1", 2.0)],
        "chaos": lambda: [ChaosActor(w, "x1")],
        "faults": lambda: [faults.FaultActor(w, "e1")],
        "files": lambda: [FilesActor(w, "f")],
        "probe": lambda: [ProbeActor(w, "probe")],
    }
    out = [WatchActor(w, "watch")]
    for g in groups:
        out.extend(table[g]())
    return out


def run_actor(w, actor):
    try:
        actor.run()
    except Exception:
        w.journal.log("harness_error", actor=actor.name, detail=traceback.format_exc())


def seed_baseline(w):
    """The 50 targets every later state must hold (STATE.md: never reset)."""
    rng = random.Random("%s:baseline" % w.seed)
    fields = {name: random_fields(rng) for name in BASELINE}
    c = wire.Conn.connect(w.socket, now() + 10.0)
    batch = [wire.request(i, "state.record", wire.record_params(name, fields[name])) for i, name in enumerate(BASELINE)]
    c.send(wire.encode(batch, "bare"))
    answers = wire.responses([c.read_message()])
    c.close()
    bad = [a for a in answers if "result" not in a]
    if len(answers) != len(BASELINE) or bad:
        raise SystemExit("torture: could not record the baseline: %s" % (bad[:3] or answers[:3]))
    return fields


def settle(w, final):
    """After the actors: faults off, the daemon up, one change through it
    (so that it has taken in every outside save), then the end checks."""
    faults.set_mode(w, None)
    w.daemon.sigcont()
    with w.daemon_ops:
        if w.daemon.check_exit() or w.daemon.pid() is None:
            restart(w, after_exit=True)
    c = wire.Conn.connect(w.socket, now() + 30.0, timeout=60.0)
    if c is None:
        final["settle_error"] = "no daemon to connect to at the end"
        return
    r = c.call(1, "state.record", wire.record_params("zz-final", {"scope": "all", "synced": 1, "skipped": 0,
                                                                  "failed": 0}))
    if "result" not in r:
        final["settle_error"] = "the last change, with no fault on, was refused: %s" % json.dumps(r)[:300]
    # How the daemon commits beside other writers: "check" (no
    # RENAME_EXCHANGE) has a documented window (oracle.judge_saves).
    info = c.call(3, "daemon.info").get("result")
    final["other_writers"] = info.get("other_writers") if isinstance(info, dict) else None
    # Every client has ended: no lock may remain (allow the daemon a moment).
    deadline = now() + 10.0
    locks = None
    while now() < deadline:
        locks = c.call(2, "lock.list").get("result")
        if not locks:
            break
        time.sleep(0.1)
    final["locks_end"] = locks or []
    final["drift_end"] = []
    for t in range(TARGETS):
        target = "f%d" % t
        e1 = c.call(3, "state.target", {"target": target}).get("result")
        expected = expected_drift(e1)
        got = c.call(4, "state.drift", {"target": target}).get("result")
        e2 = c.call(5, "state.target", {"target": target}).get("result")
        if got is not None and e1 == e2:
            final["drift_end"].append({"target": target, "expected": expected, "got": reported_drift(got)})
    memory = c.call(6, "state.all").get("result") or {}
    c.close()
    try:
        with open(w.state_file, encoding="utf-8") as f:
            disk = json.load(f)
        if set((memory.get("targets") or {})) != set((disk.get("targets") or {})):
            final["memory_differs"] = {
                "only_in_memory": sorted(set(memory.get("targets") or {}) - set(disk.get("targets") or {}))[:20],
                "only_on_disk": sorted(set(disk.get("targets") or {}) - set(memory.get("targets") or {}))[:20]}
    except (OSError, ValueError):
        pass


def read_final(w, final):
    try:
        with open(w.state_file, encoding="utf-8") as f:
            doc = json.load(f)
        final["parsed"] = True
        final["targets"] = doc.get("targets") if isinstance(doc.get("targets"), dict) else {}
    except (OSError, ValueError) as e:
        final["parsed"] = False
        final["parse_error"] = str(e)
        final["targets"] = {}
    final["backups"] = sorted(os.path.basename(p) for p in glob.glob(os.path.join(w.state_dir, "state.json.bak*")))
    final["sanitizer"] = []
    for log in w.daemon.logs:
        with open(log, errors="replace") as f:
            for line in f:
                if "Sanitizer" in line or "runtime error" in line:
                    final["sanitizer"].append("%s: %s" % (os.path.basename(log), line.strip()[:300]))


def daemon_renames(run_dir):
    """When the daemon renamed into the state dir, as the fault shim saw it
    (fault.log: time, call, errno 0, path; a delayed rename, or one seen
    with no rename mode on), in time.monotonic() seconds."""
    out = []
    try:
        with open(os.path.join(run_dir, "fault.log")) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[1].startswith("rename") and parts[2] == "0":
                    out.append(int(parts[0]) / 1e9)
    except FileNotFoundError:
        pass
    return sorted(out)


def judge_run(run_dir, final):
    """The oracle's verdict on a run dir's journal and final state."""
    events, torn = read_events(journal_files(run_dir))
    final = dict(final, daemon_renames=daemon_renames(run_dir))
    rep = oracle.judge(events, final, t_start=final["t_start"], own_pid=final["own_pid"],
                       check_rss=not final["sanitized"])
    rep.figures["seconds"] = round(final["t_end"] - final["t_start"], 1)
    rep.figures["torn_journal_lines"] = torn
    return rep


def judge_again(run_dir):
    """--judge: the oracle again on a kept run (after a change to it)."""
    with open(os.path.join(run_dir, "final.json")) as f:
        final = json.load(f)
    events, _ = read_events(journal_files(run_dir))
    begin = next(e for e in events if e["ev"] == "begin")
    rep = judge_run(run_dir, final)
    print(report.render(rep, {}, run_dir, begin["seed"], begin["seconds"], begin["actors"]))
    return 1 if rep.anomalies else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="how long the storm lasts (default 60)")
    ap.add_argument("--seed", type=int, default=int(os.environ["HS_TORTURE_SEED"]) if os.environ.get("HS_TORTURE_SEED")
                    else None, help="default: $HS_TORTURE_SEED, else a random seed (printed)")
    ap.add_argument("--daemon", default=os.environ.get("HS_DAEMON", os.path.join(ROOT, "build/bin/harnesssyncd")),
                    help="default $HS_DAEMON, else build/bin/harnesssyncd")
    ap.add_argument("--shim", default=os.environ.get("HS_FAULT_STATE", ""),
                    help="the fault shim, build/tests/libhs_fault_state.so (default $HS_FAULT_STATE); "
                    "without it, no disk faults")
    ap.add_argument("--actors", default=",".join(DEFAULT), help="comma-separated groups (default %s; also: %s)"
                    % (",".join(DEFAULT), ",".join(g for g in GROUPS if g not in DEFAULT)))
    ap.add_argument("--schema", type=int, choices=[1, 2], default=None, help="the daemon's layout (default: by seed)")
    ap.add_argument("--sanitized", action="store_true",
                    default=os.environ.get("HS_SANITIZED", "").lower() in ("1", "on", "true", "yes"),
                    help="the daemon is an ASan build: its RSS is not judged (default: $HS_SANITIZED)")
    ap.add_argument("--keep", action="store_true", help="keep the run dir even when nothing was found")
    ap.add_argument("--json", help="also write the report here")
    ap.add_argument("--judge", metavar="RUN_DIR", help="only judge a kept run dir again, and report")
    args = ap.parse_args(argv)
    if args.judge:
        return judge_again(args.judge)

    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    groups = [g for g in args.actors.split(",") if g]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        ap.error("unknown actor groups: %s" % ",".join(unknown))
    if "faults" in groups and not args.shim:
        print("torture: no --shim: running without the fault actor", flush=True)
        groups.remove("faults")
    schema = args.schema or random.Random("%s:schema" % seed).choice([1, 2])
    print("torture: seed %d, %.0f s, schema %d, actors %s" % (seed, args.seconds, schema, ",".join(groups)),
          flush=True)

    run_dir = tempfile.mkdtemp(prefix="hs-torture.", dir="/tmp")
    os.chmod(run_dir, 0o700)
    w = World(run_dir, seed, deadline=float("inf"))
    w.daemon = DaemonCtl(w, os.path.abspath(args.daemon), os.path.abspath(args.shim) if args.shim else "", schema)
    print("torture: run dir %s, daemon %s" % (run_dir, args.daemon), flush=True)
    final = {}
    threads = []
    try:
        ok, detail = w.daemon.start()
        if not ok:
            print("torture: the daemon did not start: %s" % detail)
            return 2
        final["baseline"] = seed_baseline(w)
        t_start = now()
        w.journal.log("begin", seed=seed, seconds=args.seconds, actors=groups, schema=schema)
        w.deadline = t_start + args.seconds
        for a in make_actors(w, groups):
            t = threading.Thread(target=run_actor, args=(w, a), name=a.name, daemon=True)
            t.start()
            threads.append(t)
        while now() < w.deadline and not w.stop.is_set():
            w.stop.wait(min(1.0, max(0.0, w.deadline - now())))
        w.stop.set()
        for t in threads:
            t.join(90.0)
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            w.journal.log("harness_error", detail="actors still running 90 s after the end: %s" % stuck)
        try:
            settle(w, final)
        except (wire.Closed, OSError, ValueError) as e:
            final["settle_error"] = "the daemon failed the end checks: %s" % e
        final["exit_status"] = w.daemon.stop()
        if final["exit_status"] is None:
            final["exit_status"] = "ignored SIGTERM"
        read_final(w, final)
        t_end = now()
    finally:
        faults.set_mode(w, None)
        w.stop.set()
        procs.kill_all()
        if w.daemon.pid() is not None:
            w.daemon.kill()
        w.journal.close()

    final.update(t_start=t_start, t_end=t_end, own_pid=os.getpid(), sanitized=args.sanitized)
    with open(os.path.join(run_dir, "final.json"), "w") as f:
        json.dump(final, f)
    rep = judge_run(run_dir, final)
    text = report.render(rep, w.counts, run_dir, seed, args.seconds, groups)
    print(text, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report.as_json(rep, seed, args.seconds, groups), f, indent=1)
    if rep.anomalies or args.keep:
        print("torture: run dir kept: %s" % run_dir)
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 1 if rep.anomalies else 0


if __name__ == "__main__":
    sys.exit(main())
