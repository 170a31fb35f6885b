#!/usr/bin/env python3
"""bench/soak's summary: from the runs (one JSON line each), per VMM the
runs, passes and failures by kind; the JSON result; and the list of kinds
the boot tests may blame on the emulator (tests/boot/emulator-faults):
those QEMU microvm showed at least once and at least as often (per run) as
kvmlite, on the same interleaved runs. See bench/README.md."""
import argparse
import datetime
import json
import os
import platform
import statistics

KINDS = ["host-freeze", "guest-panic", "hang", "crash-report", "wrong-output",
         "vmm-error"]
# What lib.sh may retry on the list's word (host faults are retried anyway,
# a VMM error never).
LISTABLE = ["guest-panic", "hang", "crash-report"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs_jsonl")
    ap.add_argument("json")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--deadline", type=int)
    ap.add_argument("--disk-mib", type=int)
    ap.add_argument("--net-mib", type=int)
    ap.add_argument("--hosts", type=int)
    ap.add_argument("--elapsed", type=int)
    ap.add_argument("--load-before")
    ap.add_argument("--kernel")
    ap.add_argument("--faults-list")
    a = ap.parse_args()
    runs = [json.loads(ln) for ln in open(a.runs_jsonl) if ln.strip()]
    runs.sort(key=lambda r: r["k"])
    vmms = []
    for r in runs:
        if r["vmm"] not in vmms:
            vmms.append(r["vmm"])
    summary = {}
    for v in vmms:
        rs = [r for r in runs if r["vmm"] == v]
        fails = {k: sum(1 for r in rs if r["kind"] == k) for k in KINDS}
        walls = sorted(r["wall_s"] for r in rs if r["kind"] is None)
        summary[v] = {"runs": len(rs), "passes": sum(1 for r in rs if r["kind"] is None),
                      "failures": fails,
                      "pass_wall_s_median": statistics.median(walls) if walls else None}
    w = max(len(k) for k in KINDS)
    print(f"{'vmm':8s} {'runs':>5s} {'passes':>7s} " + " ".join(f"{k:>{w}s}" for k in KINDS)
          + "  median pass (s)")
    for v in vmms:
        s = summary[v]
        print(f"{v:8s} {s['runs']:5d} {s['passes']:7d} "
              + " ".join(f"{s['failures'][k]:{w}d}" for k in KINDS)
              + f"  {s['pass_wall_s_median']}")
    for r in runs:
        if r["kind"]:
            print(f"  run {r['k']:3d} {r['vmm']:7s} {r['kind']}: {r['why']}"
                  + (f"  [{', '.join(r['files'])}]" if r["files"] else ""))
    listed = []
    if {"kvmlite", "qemu"} <= set(vmms):
        k_runs, q_runs = summary["kvmlite"]["runs"], summary["qemu"]["runs"]
        for k in LISTABLE:
            q, kv = summary["qemu"]["failures"][k], summary["kvmlite"]["failures"][k]
            if q >= 1 and q * k_runs >= kv * q_runs:
                listed.append((k, q, kv))
    out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
           "host": platform.node(), "runs_per_vmm": a.runs,
           "deadline_s": a.deadline, "disk_mib": a.disk_mib, "net_mib": a.net_mib,
           "cpus": 2, "memory": "512M",
           "cmdline": "console=ttyS0 reboot=k panic=-1 pci=off",
           "kernel": a.kernel, "test_hosts": a.hosts, "elapsed_s": a.elapsed,
           "load_before": a.load_before, "kinds": KINDS, "summary": summary,
           "emulator_faults": [k for k, _, _ in listed],
           "failed_files": os.path.basename(a.json[:-5]) + "/",
           "runs": runs}
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)
    print(f"soak: wrote {a.json}", flush=True)
    if a.faults_list and {"kvmlite", "qemu"} <= set(vmms):
        rel = os.path.relpath(a.json, os.path.dirname(os.path.dirname(os.path.dirname(a.faults_list))))
        with open(a.faults_list, "w") as f:
            f.write("# Kinds of failure the boot tests may blame on the emulated test host\n"
                    "# (tests/boot/lib.sh, run_fault): those QEMU microvm showed at least\n"
                    "# once and at least as often per run as kvmlite, on the same runs.\n"
                    f"# Written by bench/soak from {rel}\n"
                    f"# ({summary['kvmlite']['runs']} kvmlite and {summary['qemu']['runs']} "
                    "QEMU microvm runs). Do not edit by hand: rerun bench/soak.\n"
                    "# kind  qemu-failures  kvmlite-failures\n")
            for k, q, kv in listed:
                f.write(f"{k} {q} {kv}\n")
            for k in LISTABLE:
                if k not in [x for x, _, _ in listed]:
                    f.write(f"# not listed: {k} (qemu {summary['qemu']['failures'][k]}, "
                            f"kvmlite {summary['kvmlite']['failures'][k]})\n")
        print(f"soak: wrote {a.faults_list}: {', '.join(k for k, _, _ in listed) or 'no kind'}",
              flush=True)


if __name__ == "__main__":
    main()
