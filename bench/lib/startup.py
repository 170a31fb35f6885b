#!/usr/bin/env python3
"""bench/startup's measurements, on the local /dev/kvm: a stub guest that
writes the test-exit port at once (build/exit_stub.elf), in kvmlite and in
QEMU microvm, interleaved. Per run: wall time from exec to exit; kvmlite's
own first KVM_RUN (--boot-timing=json, since main()); under strace, the
first KVM_RUN ioctl since execve for both VMMs; with the hang stub, the
VMM's own resident memory (VmRSS minus the guest RAM mapping's Rss).
Writes every sample as JSON to --out. See bench/README.md."""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time


def cmd_kvmlite(a, stub):
    return [a.kvmlite, "run", "--kernel", stub, "--memory", a.memory,
            "--serial", "none"]


def cmd_qemu(a, stub):
    return [a.qemu, "-M", "microvm,x-option-roms=off,isa-serial=off,rtc=off",
            "-enable-kvm", "-cpu", a.qemu_cpu, "-m", a.memory,
            "-nodefaults", "-no-user-config", "-display", "none",
            "-kernel", stub, "-device", "isa-debug-exit,iobase=0xf4,iosize=1"]


CMDS = {"kvmlite": cmd_kvmlite, "qemu": cmd_qemu}
# exit_stub writes 42: kvmlite exits 42, isa-debug-exit (42 << 1) | 1.
EXPECT = {"kvmlite": 42, "qemu": 85}


def spawn_wait(argv, stderr=None):
    """exec -> exit wall time (s), exit status, rusage; posix_spawn + wait4,
    nothing else between the two clock reads."""
    devnull = os.open(os.devnull, os.O_RDWR)
    fa = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
          (os.POSIX_SPAWN_DUP2, stderr if stderr is not None else devnull, 2)]
    t0 = time.monotonic_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=fa)
    _, st, ru = os.wait4(pid, 0)
    t1 = time.monotonic_ns()
    os.close(devnull)
    return (t1 - t0) / 1e3, os.waitstatus_to_exitcode(st), ru


def wall_run(a, vmm):
    with tempfile.TemporaryFile() as err:
        us, rc, ru = spawn_wait(CMDS[vmm](a, a.exit_stub) +
                                (["--boot-timing=json"] if vmm == "kvmlite" else []),
                                stderr=err.fileno())
        err.seek(0)
        text = err.read().decode(errors="replace")
    if rc != EXPECT[vmm]:
        sys.exit(f"startup: {vmm}: status {rc} (expected {EXPECT[vmm]})\n{text}")
    r = {"wall_us": round(us, 1),
         "utime_us": round(ru.ru_utime * 1e6), "stime_us": round(ru.ru_stime * 1e6)}
    if vmm == "kvmlite":
        m = re.search(r"^\{.*\}$", text, re.M)
        if not m:
            sys.exit(f"startup: kvmlite printed no timing JSON:\n{text}")
        t = json.loads(m.group(0))
        for k in ("loaded_us", "vm_created_us", "first_run_us", "exit_us"):
            r[k] = t[k]
    return r


def strace_run(a, vmm):
    """Under strace -f -ttt: execve -> first KVM_RUN ioctl, and -> exit.
    strace slows every syscall, both VMMs alike; a relative measure."""
    with tempfile.NamedTemporaryFile(suffix=".strace") as log:
        argv = [a.strace, "-f", "-ttt", "-qq", "-e", "trace=execve,ioctl,exit_group",
                "-o", log.name, "--"] + CMDS[vmm](a, a.exit_stub)
        _, rc, _ = spawn_wait(argv)
        if rc != EXPECT[vmm]:
            sys.exit(f"startup: strace {vmm}: status {rc}")
        lines = open(log.name, errors="replace").read().splitlines()
    t_exec = t_run = t_exit = None
    n_ioctl = 0
    for ln in lines:
        m = re.match(r"^\d+\s+(\d+\.\d+) (.*)$", ln)
        if not m:
            continue
        t, call = float(m.group(1)), m.group(2)
        if t_exec is None and call.startswith("execve("):
            t_exec = t
        elif call.startswith("ioctl(") and t_run is None:
            n_ioctl += 1
            if "KVM_RUN" in call:
                t_run = t
        elif call.startswith("exit_group("):
            t_exit = t
    if None in (t_exec, t_run):
        sys.exit(f"startup: strace {vmm}: no execve or KVM_RUN in the trace")
    return {"strace_first_run_us": round((t_run - t_exec) * 1e6, 1),
            "strace_exit_us": round(((t_exit or t_run) - t_exec) * 1e6, 1),
            "ioctls_before_run": n_ioctl - 1}


def guest_ram_rss(pid, vmm, mem_kib):
    """(Rss of the guest RAM mapping, VmRSS, RssAnon/File/Shmem) in KiB."""
    ram = 0
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for ln in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", ln):
                cur = {"name": ln.split()[5] if len(ln.split()) > 5 else "",
                       "perms": ln.split()[1]}
            elif ln.startswith("Size:"):
                cur["size"] = int(ln.split()[1])
            elif ln.startswith("Rss:"):
                rss = int(ln.split()[1])
                # Both VMMs' guest RAM: an anonymous mapping of exactly
                # the RAM size (kvmlite's is private anonymous memory).
                if (cur["name"] == "" and cur["perms"].startswith("rw") and
                        cur["size"] == mem_kib):
                    ram += rss
    st = {}
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            k, _, v = ln.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM", "Threads"):
                st[k] = int(v.split()[0])
    return ram, st


def rss_run(a, vmm, mem_kib):
    argv = CMDS[vmm](a, a.hang_stub)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(a.settle)
        if p.poll() is not None:
            sys.exit(f"startup: {vmm} hang stub exited ({p.returncode}): "
                     f"{p.stderr.read().decode(errors='replace')}")
        ram, st = guest_ram_rss(p.pid, vmm, mem_kib)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return {"vmrss_kib": st["VmRSS"], "guest_ram_rss_kib": ram,
            "own_rss_kib": st["VmRSS"] - ram, "rss_anon_kib": st["RssAnon"],
            "rss_file_kib": st["RssFile"], "rss_shmem_kib": st["RssShmem"],
            "threads": st["Threads"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kvmlite", required=True)
    ap.add_argument("--qemu", default="/usr/bin/qemu-system-x86_64")
    ap.add_argument("--qemu-cpu", default="host,-arch-capabilities")
    ap.add_argument("--strace", default="/usr/bin/strace")
    ap.add_argument("--exit-stub", required=True)
    ap.add_argument("--hang-stub", required=True)
    ap.add_argument("--memory", default="32M")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--rss-rounds", type=int, default=3)
    ap.add_argument("--settle", type=float, default=0.5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    mem_kib = int(a.memory.rstrip("M")) * 1024
    vmms = ["kvmlite", "qemu"]
    runs = {v: {"wall": [], "strace": [], "rss": []} for v in vmms}
    runs["baseline"] = {"kvmlite_version_wall_us": [], "true_wall_us": []}
    # Warm the page cache and KVM once per VMM (not recorded).
    for v in vmms:
        wall_run(a, v)
    for rnd in range(a.rounds):
        order = vmms if rnd % 2 == 0 else vmms[::-1]
        for v in order:
            runs[v]["wall"].append(wall_run(a, v))
        us, rc, _ = spawn_wait([a.kvmlite, "--version"])
        runs["baseline"]["kvmlite_version_wall_us"].append(round(us, 1))
        us, rc, _ = spawn_wait(["/bin/true"])
        runs["baseline"]["true_wall_us"].append(round(us, 1))
        print(f"startup: round {rnd}: kvmlite {runs['kvmlite']['wall'][-1]['wall_us'] / 1e3:7.2f} ms"
              f"  qemu {runs['qemu']['wall'][-1]['wall_us'] / 1e3:7.2f} ms",
              file=sys.stderr, flush=True)
    if os.access(a.strace, os.X_OK):
        for rnd in range(max(3, a.rounds // 4)):
            for v in (vmms if rnd % 2 == 0 else vmms[::-1]):
                runs[v]["strace"].append(strace_run(a, v))
    for rnd in range(a.rss_rounds):
        for v in (vmms if rnd % 2 == 0 else vmms[::-1]):
            runs[v]["rss"].append(rss_run(a, v, mem_kib))
    with open(a.out, "w") as f:
        json.dump(runs, f)


if __name__ == "__main__":
    main()
