"""The run's summary: operations by kind, what the oracle excused, the
figures, and every anomaly kind with its first examples (enough to find
them in the journal and replay the seed)."""
import json
import os

EXAMPLES = 3


def injected_faults(run_dir):
    counts = {}
    try:
        with open(os.path.join(run_dir, "fault.log")) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and not parts[1].endswith("-seen"):  # -seen: a record, not a fault
                    k = "%s %s" % (parts[1], {"0": "delayed", "5": "EIO", "28": "ENOSPC"}.get(parts[2], parts[2]))
                    counts[k] = counts.get(k, 0) + 1
    except FileNotFoundError:
        pass
    return counts


def block(title, d):
    if not d:
        return ["%s: none" % title]
    return ["%s:" % title] + ["  %-58s %d" % (k, v) for k, v in sorted(d.items())]


def render(rep, counts, run_dir, seed, seconds, groups):
    lines = ["", "== torture: seed %d, %.0f s of storm, actors %s" % (seed, rep.figures.get("seconds", 0),
                                                                     ",".join(groups))]
    lines += block("operations", counts)
    lines += block("judged", rep.counts)
    lines += block("faults injected (daemon calls failed or delayed)", injected_faults(run_dir))
    lines += block("excused (an outside writer's, a kill's or a fault's doing)", rep.excused)
    lines += ["figures:"] + ["  %-58s %s" % (k, v) for k, v in sorted(rep.figures.items())]
    kinds = rep.kinds()
    lines.append("anomalies: %d" % len(rep.anomalies))
    for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        lines.append("  [%d] %s" % (n, kind))
        for a in [a for a in rep.anomalies if a["kind"] == kind][:EXAMPLES]:
            detail = {k: v for k, v in a.items() if k != "kind"}
            lines.append("      " + json.dumps(detail, sort_keys=True)[:600])
    if rep.anomalies:
        lines.append("replay: %s --seconds %g --seed %d --actors %s" % (
            os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "torture.py")),
            seconds, seed, ",".join(groups)))
        lines.append("(times are seconds from the start of the storm; the journal is <run dir>/journal/)")
    return "\n".join(lines)


def as_json(rep, seed, seconds, groups):
    return {"seed": seed, "seconds": seconds, "actors": groups, "counts": rep.counts, "excused": rep.excused,
            "figures": rep.figures, "anomaly_kinds": rep.kinds(), "anomalies": rep.anomalies}
