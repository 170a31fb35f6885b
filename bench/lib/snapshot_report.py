#!/usr/bin/env python3
"""bench/snapshot's report: medians per place, RAM size and measurement,
kvmlite beside QEMU microvm, and the JSON with every sample.

Usage: snapshot_report.py OUT.json KEY=VALUE... PLACE=RUNS.json...
"""
import json
import statistics
import sys

out, args = sys.argv[1], sys.argv[2:]
meta = dict(a.split("=", 1) for a in args if not a.endswith(".json"))
places = dict(a.split("=", 1) for a in args if a.endswith(".json"))


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def mmm(xs):
    xs = [x for x in xs if x is not None]  # failed samples
    return {"min": min(xs), "median": statistics.median(xs),
            "max": max(xs), "n": len(xs)} if xs else None


def f(v, unit="ms"):
    if v is None:
        return "-"
    if unit == "MiB":
        return f"{v / 2**20:.1f} MiB"
    return f"{v:.2f} ms" if v < 100 else f"{v:.0f} ms"


summary = {}
for place, path in places.items():
    runs = json.load(open(path))
    for mem, r in runs.items():
        k, q = r.get("kvmlite", {}), r.get("qemu", {})
        lib = k.get("in_process", [])
        rows = {
            "cold boot (kvmlite: exec to marker; QEMU: exec to exit)":
                ([c["marker_ms"] for c in k.get("cold", [])],
                 [c["exit_wall_ms"] for c in q.get("cold", [])]),
            "restore: exec to running guest code (QEMU: to RESUME)":
                ([c["first_run_ms"] for c in k.get("restore", [])],
                 [c["resume_ms"] for c in q.get("restore", [])]),
            "restore: exec to the guest's next marker":
                ([c["marker_ms"] for c in k.get("restore", [])], []),
            "restore: exec to exit":
                ([c["exit_wall_ms"] for c in k.get("restore", [])], []),
            "restore in process (kvmlite_vm_restore to marker)":
                ([x["marker_ms"] for x in lib
                  if x["what"] == "restore_in_process"], []),
            "reset in place to the next marker":
                ([x["marker_ms"] for x in lib if x["what"] == "reset"], []),
            "kvmlite_vm_reset() call":
                ([x["call_ms"] for x in lib if x["what"] == "reset"], []),
            "snapshot (kvmlite: kvmlite_vm_snapshot; QEMU: migrate to file)":
                ([x["ms"] for x in lib if x["what"] == "host_snapshot"],
                 [q["save"]["ms"]] if "save" in q else []),
        }
        sizes = {
            "snapshot size on disk (allocated)":
                (k.get("snapshot_files", {}).get("allocated_bytes"),
                 q.get("save", {}).get("allocated_bytes")),
        }
        key = f"{place}/{mem}M"
        summary[key] = {n: {"kvmlite": mmm(a), "qemu": mmm(b)}
                        for n, (a, b) in rows.items()}
        summary[key].update({n: {"kvmlite": a, "qemu": b}
                             for n, (a, b) in sizes.items()})
        print(f"\n== {place}, {mem} MiB guest RAM (medians) ==")
        print(f"{'':64} {'kvmlite':>12} {'QEMU microvm':>13} {'ratio':>6}")
        for n, (a, b) in rows.items():
            ma, mb = med(a), med(b)
            ratio = f"{ma / mb:.3f}" if ma and mb else ""
            print(f"{n:64} {f(ma):>12} {f(mb):>13} {ratio:>6}")
        for n, (a, b) in sizes.items():
            print(f"{n:64} {f(a, 'MiB'):>12} {f(b, 'MiB'):>13}")
        if k.get("cold") and k.get("restore"):
            print(f"{'restore to marker / cold boot to marker':64} "
                  f"{med([c['marker_ms'] for c in k['restore']]) / med([c['marker_ms'] for c in k['cold']]):>12.4f}")
json.dump({"meta": meta, "summary": summary,
           "runs": {p: json.load(open(x)) for p, x in places.items()}},
          open(out, "w"), indent=1)
print(f"\nsnapshot: wrote {out}")
