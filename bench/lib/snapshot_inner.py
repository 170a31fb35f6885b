#!/usr/bin/env python3
"""bench/snapshot's measurements, run where the VMMs run (the local
/dev/kvm for the stub guest, the test host for Debian's kernel): per guest
RAM size, side by side in one run,

kvmlite:
  - cold boot: exec to the guest's marker (port 0xf5, --boot-timing=json);
    the same run takes the guest's snapshot (port 0xf6, --snapshot-dir);
  - restore: `kvmlite restore` from exec to running guest code (first
    KVM_RUN) and to the guest's next marker, and exec to exit;
  - in one process (build/bench_snapshot): reset in place to the next
    marker, restore to the marker, a host snapshot's time and size;
QEMU microvm (the same kernel, initramfs, memory):
  - cold boot: exec to exit (the guest ends the VM at its first step);
  - save: `migrate "exec:cat > FILE"` of the booted guest (time, size);
  - restore: exec with -incoming "exec:cat FILE" to QMP's RESUME event
    (guest code running).

Writes every sample as JSON to --out. See bench/README.md.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time


def log(*a):
    print("snapshot:", *a, file=sys.stderr, flush=True)


def spawn(argv, **kw):
    """(wall seconds, status, stdout, stderr) of @argv run to its end."""
    t0 = time.monotonic()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=kw.get("timeout", 600))
    return (time.monotonic() - t0, p.returncode,
            p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


def timing(stderr):
    for line in reversed(stderr.splitlines()):
        if line.startswith("{\"clock\""):
            return json.loads(line)
    raise SystemExit(f"snapshot: no boot timing in {stderr!r}")


def dir_bytes(d):
    n = a = 0
    for f in os.listdir(d):
        st = os.stat(os.path.join(d, f))
        n += st.st_size
        a += st.st_blocks * 512
    return n, a


class Guest:
    """What to boot: the stub (local) or Debian's kernel (test host)."""

    def __init__(self, a):
        self.a = a
        self.linux = a.kernel is not None

    def kvmlite_args(self, exit_after_restore):
        if not self.linux:
            stub = "snap_stub.elf" if exit_after_restore else "snaphang_stub.elf"
            return ["--kernel", os.path.join(self.a.build, stub)]
        return ["--kernel", self.a.kernel, "--initrd", self.a.initrd,
                "--cmdline", self.cmdline(exit_after_restore)]

    def cmdline(self, exit_after_restore):
        return self.a.cmdline + (" snapexit=1" if exit_after_restore else "")

    def qemu_args(self, exits):
        if not self.linux:
            stub = "exit_stub.elf" if exits else "hang_stub.elf"
            return ["-kernel", os.path.join(self.a.build, stub)]
        return ["-kernel", self.a.kernel, "-initrd", self.a.initrd,
                "-append", self.cmdline(exits)]

    # What the booted guest prints once its snapshot is taken / it waits.
    wait_text = property(lambda s: "SNAPINIT-WAITING" if s.linux
                         else "stub: booted")
    qemu_wait_text = property(lambda s: "SNAPINIT-WAITING" if s.linux
                              else "stub: hello")
    restored_status = property(lambda s: 3 if s.linux else 20)


def kvmlite_cold_and_take(a, g, mem, snapdir):
    """A cold boot that takes the guest's snapshot: exec to the marker."""
    argv = [os.path.join(a.build, "kvmlite"), "run", *g.kvmlite_args(True),
            "--memory", f"{mem}M", "--snapshot-dir", snapdir,
            "--boot-timing=json"]
    if not g.linux:
        wall, rc, out, err = spawn(argv + ["--serial", "none"])
        if rc != 10:
            raise SystemExit(f"snapshot: kvmlite cold boot: status {rc}: {err}")
        t = timing(err)
        return {"marker_ms": t["guest_marker_us"] / 1e3}
    # The Linux guest waits once booted: stop it when it says so.
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in p.stdout:
        if g.wait_text.encode() in line:
            break
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    t = timing(err.decode(errors="replace"))
    return {"marker_ms": t["guest_marker_us"] / 1e3}


def kvmlite_restore(a, g, snapdir):
    wall, rc, out, err = spawn([os.path.join(a.build, "kvmlite"), "restore",
                                snapdir, "--serial", "none",
                                "--boot-timing=json"])
    if rc != g.restored_status:
        raise SystemExit(f"snapshot: kvmlite restore: status {rc}: {err}")
    t = timing(err)
    return {"first_run_ms": t["first_run_us"] / 1e3,
            "marker_ms": t["guest_marker_us"] / 1e3,
            "exit_wall_ms": wall * 1e3}


def kvmlite_in_process(a, g, mem, work, resets):
    init = g.a.initrd if g.linux else "-"
    kernel = g.a.kernel if g.linux else os.path.join(a.build,
                                                     "snaphang_stub.elf")
    cmdline = g.cmdline(False) if g.linux else "console=ttyS0"
    os.makedirs(work, exist_ok=True)
    wall, rc, out, err = spawn([os.path.join(a.build, "bench_snapshot"),
                                kernel, init, cmdline, str(mem), work,
                                str(resets), str(a.rounds), g.wait_text])
    if rc:
        raise SystemExit(f"snapshot: bench_snapshot: status {rc}: {err}")
    return [json.loads(line) for line in out.splitlines() if line]


class Qmp:
    def __init__(self, path, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.002)
        # Reads give up after @timeout s: a QEMU that never resumes fails
        # its sample instead of hanging the run.
        self.s.settimeout(timeout)
        self.f = self.s.makefile("rwb")
        self.events = []  # those that came while a command waited
        self.read()  # greeting
        self.cmd("qmp_capabilities")

    def read(self):
        line = self.f.readline()
        if not line:
            raise EOFError("QMP closed")
        return json.loads(line)

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode()
                     + b"\n")
        self.f.flush()
        while True:
            r = self.read()
            if "return" in r or "error" in r:
                return r
            if "event" in r:
                self.events.append(r)

    def wait_event(self, name):
        for r in self.events:
            if r.get("event") == name:
                return r
        while True:
            r = self.read()
            if r.get("event") == name:
                return r


def qemu_base(a, mem):
    cpu = a.qemu_cpu
    return [a.qemu, "-M", "microvm", "-enable-kvm", "-cpu", cpu, "-m",
            f"{mem}M", "-smp", "1", "-nodefaults", "-no-user-config",
            "-display", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=1"]


def qemu_cold(a, g, mem):
    wall, rc, out, err = spawn(qemu_base(a, mem) + g.qemu_args(True) +
                               ["-serial", "none"])
    if rc not in (7, 85):
        raise SystemExit(f"snapshot: QEMU cold boot: status {rc}: {err}")
    return {"exit_wall_ms": wall * 1e3}


def qemu_save(a, g, mem, work):
    os.makedirs(work, exist_ok=True)
    sock, state = os.path.join(work, "qmp.sock"), os.path.join(work, "vmstate")
    for f in (sock, state):
        if os.path.exists(f):
            os.unlink(f)
    p = subprocess.Popen(qemu_base(a, mem) + g.qemu_args(False) +
                         ["-serial", "stdio", "-qmp",
                          f"unix:{sock},server=on,wait=off"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    for line in p.stdout:
        if g.qemu_wait_text.encode() in line:
            break
    q = Qmp(sock)
    t0 = time.monotonic()
    q.cmd("migrate", uri=f"exec:cat > {state}")
    while q.cmd("query-migrate")["return"].get("status") not in (
            "completed", "failed"):
        time.sleep(0.001)
    ms = (time.monotonic() - t0) * 1e3
    q.cmd("quit")
    p.wait(timeout=60)
    st = os.stat(state)
    return {"ms": ms, "file_bytes": st.st_size,
            "allocated_bytes": st.st_blocks * 512}, state


def qemu_restore(a, g, mem, work, state):
    sock = os.path.join(work, "qmp-in.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    t0 = time.monotonic()
    p = subprocess.Popen(qemu_base(a, mem) + g.qemu_args(False) +
                         ["-serial", "null", "-qmp",
                          f"unix:{sock},server=on,wait=off",
                          "-incoming", f"exec:cat {state}"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        q = Qmp(sock, timeout=60)
        status = q.cmd("query-status")["return"]
        if status.get("status") != "running":
            q.wait_event("RESUME")
    except (OSError, EOFError) as e:
        # Counted as a failed sample, not a time (bench/README.md).
        log(f"QEMU restore of {state} never resumed ({e!r}); killed")
        p.kill()
        p.wait()
        return {"resume_ms": None}
    ms = (time.monotonic() - t0) * 1e3
    q.cmd("quit")
    p.wait(timeout=60)
    return {"resume_ms": ms}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--kernel")
    ap.add_argument("--initrd")
    ap.add_argument("--cmdline", default="console=ttyS0 quiet panic=-1")
    ap.add_argument("--memories", default="256,2048")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--resets", type=int, default=20)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--qemu-cpu", default="host")
    ap.add_argument("--vmms", default="kvmlite,qemu")
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    g = Guest(a)
    vmms = a.vmms.split(",")
    res = {}
    for mem in [int(m) for m in a.memories.split(",")]:
        r = res[str(mem)] = {"kvmlite": {}, "qemu": {}}
        work = os.path.join(a.work, f"{mem}M")
        os.makedirs(work, exist_ok=True)
        log(f"{mem} MiB: {'Debian kernel' if g.linux else 'stub'}")
        k, q = r["kvmlite"], r["qemu"]
        if "kvmlite" in vmms:
            k["cold"], k["restore"] = [], []
        if "qemu" in vmms:
            q["cold"], q["restore"] = [], []
            q["save"], state = qemu_save(a, g, mem, os.path.join(work, "qemu"))
        for rnd in range(a.rounds):
            snapdir = os.path.join(work, "kvmlite-snap")
            if "kvmlite" in vmms:
                k["cold"].append(kvmlite_cold_and_take(a, g, mem, snapdir))
                k["restore"].append(kvmlite_restore(a, g, snapdir))
            if "qemu" in vmms:
                q["cold"].append(qemu_cold(a, g, mem))
                q["restore"].append(qemu_restore(a, g, mem,
                                                 os.path.join(work, "qemu"),
                                                 state))
        if "kvmlite" in vmms:
            k["snapshot_files"] = dict(zip(("file_bytes", "allocated_bytes"),
                                           dir_bytes(snapdir)))
            k["in_process"] = kvmlite_in_process(
                a, g, mem, os.path.join(work, "lib"), a.resets)
    json.dump(res, open(a.out, "w"), indent=1)


main()
