#!/usr/bin/env python3
"""bench/exec's summary: min/median/max per VMM and metric, the
kvmlite/QEMU ratios of the medians, printed and written as JSON with every
run. Usage: exec_report.py RUNS OUT ROUNDS SIZE CREATES MSIZE CMDLINE LOAD [NOTE]"""
import json
import statistics
import sys

METRICS = {"exec": [("wall_ms", "exec /bin/true wall, ms", "lower")],
           "out": [("out_wall_ms", "exec with stdout, wall, ms", "lower")],
           "p9": [("read_mbps", "seq read, MB/s", "higher"),
                  ("walk_entries_per_s", "tree walk, entries/s", "higher"),
                  ("creates_per_s", "4 KiB creates/s", "higher")]}


def main():
    runs_path, out, rounds, size, creates, msize, cmdline, load = sys.argv[1:9]
    extra = sys.argv[9] if len(sys.argv) > 9 else ""
    runs = json.load(open(runs_path))
    summary, ratios = {}, {}
    for s, metrics in METRICS.items():
        if s not in runs:
            continue
        for key, label, better in metrics:
            for v, rs in runs[s].items():
                xs = [r[key] for r in rs]
                summary.setdefault(key, {})[v] = {
                    "min": min(xs), "median": statistics.median(xs),
                    "max": max(xs)}
            k, q = summary[key]["kvmlite"], summary[key]["qemu"]
            ratios[key] = round(k["median"] / q["median"], 3)
            print(f"{label:26s} kvmlite {k['min']:g} / {k['median']:g} / "
                  f"{k['max']:g}   QEMU {q['min']:g} / {q['median']:g} / "
                  f"{q['max']:g}   kvmlite/QEMU {ratios[key]:.2f} "
                  f"({better} is better)")
    meta = {"rounds": int(rounds), "read_size_mib": int(size),
            "creates": int(creates), "msize_p9_series": int(msize),
            "exec_cmdline": cmdline, "load_after": load,
            "note": "emulated test host (QEMU TCG, nested SVM) on a shared "
                    "2-core machine: other helpers' jobs ran at the same time"
                    + (f"; {extra}" if extra else "")}
    with open(out, "w") as f:
        json.dump({"meta": meta, "summary": summary, "ratios": ratios,
                   "runs": runs}, f, indent=1)
    print(f"exec: wrote {out}")


if __name__ == "__main__":
    main()
