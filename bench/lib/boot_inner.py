#!/usr/bin/env python3
"""Inside the test host (or directly on hardware KVM): bench/boot's series.
For every kernel, ROUNDS interleaved boots of kvmlite and of QEMU microvm
(same kernel, initramfs, command line, memory and vCPUs), alternating which
VMM goes first. Each boot: wall time from exec (posix_spawn) to the VMM's
exit (wait4), the guest's /init ending the VM at once through the test-exit
port; kvmlite's --boot-timing=json also gives its own view. Writes every run
as JSON to --out. See bench/README.md."""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

# /init writes 3 to port 0xf4: kvmlite exits 3, isa-debug-exit (3 << 1) | 1.
EXPECT = {"kvmlite": 3, "qemu": 7}


def cmd_kvmlite(a, kernel):
    return [a.kvmlite, "run", "--kernel", kernel, "--initrd", a.initrd,
            "--cpus", str(a.cpus), "--memory", a.memory, "--serial", "stdio",
            "--cmdline", a.cmdline, "--boot-timing=json"]


def cmd_qemu(a, kernel):
    return [a.qemu, "-M", "microvm", "-enable-kvm", "-cpu", a.qemu_cpu,
            "-m", a.memory, "-smp", str(a.cpus),
            "-nodefaults", "-no-user-config", "-display", "none",
            "-serial", "stdio", "-no-reboot",
            "-kernel", kernel, "-initrd", a.initrd, "-append", a.cmdline,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=1"]


CMDS = {"kvmlite": cmd_kvmlite, "qemu": cmd_qemu}


def run_one(a, series, kernel, vmm, rnd):
    argv = CMDS[vmm](a, kernel)
    log = os.path.join(a.logdir, f"{series}-{vmm}-{rnd}.log")
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err_path = log + ".stderr"
    err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    fa = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, out, 1),
          (os.POSIX_SPAWN_DUP2, err, 2)]
    t0 = time.monotonic_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=fa)
    deadline = time.monotonic() + a.timeout
    while True:  # wait4 with a timeout, polling only after the first second
        wpid, st, ru = os.wait4(pid, os.WNOHANG) if time.monotonic_ns() - t0 > 1e9 \
            else os.wait4(pid, 0)
        if wpid:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.wait4(pid, 0)
            sys.exit(f"boot: {series} {vmm} round {rnd}: timeout; log {log}")
        time.sleep(0.01)
    t1 = time.monotonic_ns()
    for fd in (out, err, null):
        os.close(fd)
    rc = os.waitstatus_to_exitcode(st)
    errtext = open(err_path, errors="replace").read()
    if rc != EXPECT[vmm]:
        tail = "\n".join(open(log, errors="replace").read().splitlines()[-15:])
        sys.exit(f"boot: {series} {vmm} round {rnd}: status {rc} "
                 f"(expected {EXPECT[vmm]})\n{tail}\n{errtext[-2000:]}")
    r = {"wall_ms": round((t1 - t0) / 1e6, 2),
         "cpu_ms": round((ru.ru_utime + ru.ru_stime) * 1e3, 1)}
    m = re.search(r"BOOTINIT guest_mono_ms=([0-9.]+)",
                  open(log, errors="replace").read())
    if m:
        r["guest_mono_ms"] = float(m.group(1))
    if vmm == "kvmlite":
        m = re.search(r"^\{\"clock\".*\}$", errtext, re.M)
        if m:
            t = json.loads(m.group(0))
            for k in ("first_run_us", "guest_marker_us", "exit_us"):
                r[k] = t[k]
    print(f"boot: {series:14s} round {rnd} {vmm:7s} {r['wall_ms']:9.1f} ms"
          + (f"  guest mono {r['guest_mono_ms']:8.1f} ms" if "guest_mono_ms" in r else "")
          + (f"  (marker {r['guest_marker_us'] / 1e3:.1f} ms)"
             if r.get("guest_marker_us") else ""), file=sys.stderr, flush=True)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", action="append", required=True,
                    help="SERIES=PATH, repeatable")
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--cmdline", required=True)
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--memory", default="256M")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=180)
    ap.add_argument("--kvmlite", default="kvmlite")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--qemu-cpu", default="host")
    ap.add_argument("--vmms", default="kvmlite,qemu")
    ap.add_argument("--logdir", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    for name in ("kvmlite", "qemu"):
        p = getattr(a, name)
        if "/" not in p:
            for d in os.environ.get("PATH", "").split(":"):
                if os.access(os.path.join(d, p), os.X_OK):
                    setattr(a, name, os.path.join(d, p))
                    break
    os.makedirs(a.logdir, exist_ok=True)
    vmms = a.vmms.split(",")
    kernels = [k.split("=", 1) for k in a.kernel]
    # Images are read from a local copy (the test host's tmpfs): reading
    # them from the 9p share would be in the measured path (~2.5 s for
    # Debian's 60 MB vmlinux under emulation) and dominate it.
    local = tempfile.mkdtemp(prefix="bootbench.")
    for i, (s, k) in enumerate(kernels):
        kernels[i][1] = os.path.join(local, s)
        shutil.copyfile(k, kernels[i][1])
    a.initrd = shutil.copyfile(a.initrd, os.path.join(local, "initrd.gz"))
    runs = {s: {v: [] for v in vmms} for s, _ in kernels}
    # One unrecorded boot per VMM and kernel: page cache, first-use costs.
    for s, k in kernels:
        for v in vmms:
            run_one(a, s, k, v, "warmup")
    for rnd in range(a.rounds):
        for s, k in kernels:
            for v in (vmms if rnd % 2 == 0 else vmms[::-1]):
                runs[s][v].append(run_one(a, s, k, v, rnd))
            with open(a.out, "w") as f:  # partial results survive a failure
                json.dump(runs, f)
    with open(a.out, "w") as f:
        json.dump(runs, f)


if __name__ == "__main__":
    main()
