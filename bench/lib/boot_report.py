#!/usr/bin/env python3
"""bench/boot's report: from the inner runs (RUNS.json), print min/median/max
per kernel and VMM and the kvmlite/QEMU ratio of medians, write the JSON
(JSON_OUT) and, with gnuplot, a PNG of the distributions (PNG_OUT).
Usage: boot_report.py RUNS.json JSON_OUT PNG_OUT META.json
(META: settings to record). Also: boot_report.py --plot JSON PNG redraws."""
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile


def summarize(runs):
    summary, ratios = {}, {}
    for s, by_vmm in runs.items():
        summary[s] = {}
        for v, rs in by_vmm.items():
            xs = [r["wall_ms"] for r in rs]
            if not xs:
                continue
            summary[s][v] = {"min": min(xs), "median": statistics.median(xs),
                             "max": max(xs), "n": len(xs)}
            mk = [r["guest_marker_us"] / 1e3 for r in rs if r.get("guest_marker_us")]
            if mk:
                summary[s][v]["kvmlite_marker_median_ms"] = statistics.median(mk)
            fr = [r["first_run_us"] / 1e3 for r in rs if r.get("first_run_us")]
            if fr:
                summary[s][v]["kvmlite_first_run_median_ms"] = statistics.median(fr)
            # The guest kernel's own share (its CLOCK_MONOTONIC at /init) and
            # the rest (VMM set-up, firmware, decompression, VMM exit).
            gm = [r["guest_mono_ms"] for r in rs if "guest_mono_ms" in r]
            if gm:
                summary[s][v]["guest_mono_median_ms"] = statistics.median(gm)
                summary[s][v]["outside_kernel_median_ms"] = statistics.median(
                    [r["wall_ms"] - r["guest_mono_ms"] for r in rs if "guest_mono_ms" in r])
        if {"kvmlite", "qemu"} <= set(summary[s]):
            ratios[s] = summary[s]["kvmlite"]["median"] / summary[s]["qemu"]["median"]
    return summary, ratios


def plot(data, png):
    gp = shutil.which("gnuplot")
    if not gp:
        print("boot: gnuplot is missing, no plot (apt-get install gnuplot-nox)",
              file=sys.stderr)
        return False
    runs, summary = data["runs"], data["summary"]
    series = list(runs)
    colors = {"kvmlite": "#1f77b4", "qemu": "#d62728"}
    off = {"kvmlite": -0.18, "qemu": 0.18}
    with tempfile.TemporaryDirectory() as tmp:
        cmds, xt = [], []
        for i, s in enumerate(series):
            xt.append(f'"{s}" {i}')
            for v, rs in runs[s].items():
                f = os.path.join(tmp, f"{i}-{v}.dat")
                with open(f, "w") as fh:
                    for j, r in enumerate(rs):
                        # small deterministic jitter so equal values show
                        jit = ((j * 37) % 11 - 5) * 0.012
                        fh.write(f"{i + off[v] + jit} {r['wall_ms']}\n")
                title = v if i == 0 else ""
                lbl = "kvmlite" if v == "kvmlite" else "QEMU microvm"
                cmds.append(f"'{f}' using 1:2 with points pt 7 ps 1.1 "
                            f"lc rgb '{colors[v]}' title '{lbl if title else ''}'"
                            if title else
                            f"'{f}' using 1:2 with points pt 7 ps 1.1 "
                            f"lc rgb '{colors[v]}' notitle")
                med = summary[s][v]["median"]
                mf = os.path.join(tmp, f"{i}-{v}.med")
                with open(mf, "w") as fh:
                    fh.write(f"{i + off[v] - 0.12} {med}\n{i + off[v] + 0.12} {med}\n")
                cmds.append(f"'{mf}' using 1:2 with lines lw 3 lc rgb '{colors[v]}' notitle")
        script = f"""
set terminal pngcairo size 1000,600 font ",11"
set output '{png}'
set title "Boot to userspace (exec -> guest /init ends the VM), {data.get('cpus', '?')} vCPU, {data.get('memory', '?')}\\n{len(next(iter(runs.values()))['kvmlite'])} interleaved runs per VMM; bars: medians"
set ylabel "wall time, ms (log scale)"
set logscale y
set grid ytics mytics
set xrange [-0.6:{len(series) - 0.4}]
set xtics ({", ".join(xt)})
set key top left
plot {", ".join(cmds)}
"""
        sf = os.path.join(tmp, "plot.gp")
        open(sf, "w").write(script)
        subprocess.run([gp, sf], check=True)
    return True


def main():
    if sys.argv[1] == "--plot":
        data = json.load(open(sys.argv[2]))
        plot(data, sys.argv[3])
        return
    runs = json.load(open(sys.argv[1]))
    json_out, png = sys.argv[2], sys.argv[3]
    meta = json.load(open(sys.argv[4]))
    summary, ratios = summarize(runs)
    print(f"{'kernel':16s}{'kvmlite min/median/max (ms)':>36s}"
          f"{'QEMU min/median/max (ms)':>36s}{'kvmlite/QEMU':>14s}")
    for s in runs:
        line = f"{s:16s}"
        for v in ("kvmlite", "qemu"):
            m = summary[s].get(v)
            line += (f"{m['min']:12.1f}{m['median']:12.1f}{m['max']:12.1f}"
                     if m else f"{'-':>36s}")
        if s in ratios:
            line += f"{ratios[s]:14.3f}"
        print(line)
    print("medians (ms): guest kernel = the guest's CLOCK_MONOTONIC at /init;"
          " outside = wall - that (VMM, firmware, decompression, exit)")
    for s in runs:
        for v in ("kvmlite", "qemu"):
            m = summary[s].get(v, {})
            if "guest_mono_median_ms" in m:
                print(f"  {s:16s}{v:8s} guest kernel {m['guest_mono_median_ms']:9.1f}"
                      f"   outside {m['outside_kernel_median_ms']:9.1f}"
                      + (f"   kvmlite first KVM_RUN {m['kvmlite_first_run_median_ms']:8.1f}"
                         if "kvmlite_first_run_median_ms" in m else ""))
    out = dict(meta)
    out.update({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "host": platform.node(), "runs": runs, "summary": summary,
                "ratio_kvmlite_over_qemu": ratios})
    json.dump(out, open(json_out, "w"), indent=1)
    print(f"boot: wrote {json_out}", file=sys.stderr)
    if plot(out, png):
        print(f"boot: wrote {png}", file=sys.stderr)


if __name__ == "__main__":
    main()
