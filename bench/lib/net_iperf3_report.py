#!/usr/bin/env python3
"""bench/net --tool iperf3: medians and kvmlite/QEMU ratios of medians per
shape (vCPUs, direction, streams) from net_inner.py's runs, printed and
written as JSON. Usage: net_iperf3_report.py RUNS OUT ROUNDS SECONDS VERSION"""
import datetime
import json
import platform
import statistics
import sys


def main():
    runs = json.load(open(sys.argv[1]))
    # {vmm: [{"cpus": C, "round": R, "tests": {"g2h-P1": {...}, ...}}, ...]}
    shapes = sorted({(r["cpus"], t) for rs in runs.values() for r in rs
                     for t in r["tests"]},
                    key=lambda s: (s[0], int(s[1].split("-P")[1]), s[1]))
    summary, ratios = {}, {}
    print(f"{'shape (Mbit/s, receiver)':20s}{'kvmlite min/median/max':>32s}"
          f"{'qemu min/median/max':>32s}{'ratio':>8s}")
    for c, t in shapes:
        key = f"{c}cpu-{t}"
        summary[key] = {}
        for vmm, rs in runs.items():
            xs = [r["tests"][t]["receiver_mbits"] for r in rs
                  if r["cpus"] == c]
            summary[key][vmm] = {"min": min(xs),
                                 "median": statistics.median(xs),
                                 "max": max(xs), "n": len(xs)}
        k, q = summary[key]["kvmlite"], summary[key]["qemu"]
        r = k["median"] / q["median"]
        ratios[key] = round(r, 3)
        print(f"{key:20s}{k['min']:>12.0f}{k['median']:>10.0f}"
              f"{k['max']:>10.0f}{q['min']:>12.0f}{q['median']:>10.0f}"
              f"{q['max']:>10.0f}{r:>8.2f}")
    out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
           "host": platform.node(), "tool": sys.argv[5],
           "rounds": int(sys.argv[3]), "seconds": int(sys.argv[4]),
           "unit": "Mbit/s (10^6 bits/s)",
           "headline": "iperf3 -J end.sum_received.bits_per_second (the "
                       "receiver's bytes and clock); g2h: the guest is the "
                       "client, h2g: the guest is the client with -R",
           "runs": runs, "summary": summary, "ratios_of_medians": ratios}
    json.dump(out, open(sys.argv[2], "w"), indent=1)
    print(f"net: wrote {sys.argv[2]}", file=sys.stderr)


if __name__ == "__main__":
    main()
