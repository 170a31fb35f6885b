#!/usr/bin/env python3
"""Inside the test host: bench/exec's two interleaved series.

exec: `kvmlite exec -- /bin/true` against QEMU microvm booting the same
kernel the way virtme-ng does (the host's / read-only over virtio-9p,
mount tag /dev/root, a small busybox initramfs whose /init loads the
modules, mounts the root under an overlay with a tmpfs upper layer, runs
/bin/true in it and ends the VM); wall time from spawn to exit.

out: the same two, but the command writes --out-kib KiB of text to its
stdout (`yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c N`): the
guest's UART (ttyS0) carries it to the VMM's stdout, which is read and
counted; wall time, and the bytes that arrived.

p9: the busybox test guest (kvmlite run --fs / QEMU -fsdev local) runs
p9bench on two shares (a read-only one with a 64 MiB file and a source
tree, an empty read-write one): sequential read, tree walk, small-file
creates. Both VMMs get the same kernel, initramfs, mount options, memory
and vCPU. Every run goes to --out as JSON. See bench/README.md."""
import argparse
import json
import os
import re
import shutil
import sys

import vmm as vmm_lib

# The QEMU guest's /init writes /bin/true's status (0) to isa-debug-exit.
EXEC_EXPECT = {"kvmlite": 0, "qemu": 1}
P9LINE = re.compile(r"^P9BENCH (.*)$", re.M)
SRC, RW = "/tmp/p9bench-src", "/tmp/p9bench-rw"


OUT_TEXT = b"0123456789abcdefghijklmnopqrstuvwxyz\n"


def exec_cmd(a, v, out=False):
    cmd = ["sh", "-c", f"yes {OUT_TEXT.decode().strip()} | head -c "
           f"{a.out_kib * 1024}"] if out else ["/bin/true"]
    if v == "kvmlite":
        return ["kvmlite", "exec", "--kernel", a.kernel, "--modules",
                a.modules, "--cpus", str(a.cpus), "--memory", a.memory,
                "--"] + cmd
    # virtme-ng's 9p root, on microvm's virtio-mmio.
    return vmm_lib.qemu_cmd(a.kernel, a.qemu_out_initrd if out else
                            a.qemu_initrd, [
        "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,"
                  "multidevs=remap",
        "-device", "virtio-9p-device,fsdev=root,mount_tag=/dev/root"],
        cpus=a.cpus, memory=a.memory, cmdline=a.exec_cmdline)


def p9_cmd(a, v):
    if v == "kvmlite":
        return vmm_lib.kvmlite_cmd(a.kernel, a.p9_initrd, [
            "--fs", f"path={SRC},tag=src,ro=on", "--fs", f"path={RW},tag=rw"],
            cpus=a.cpus, memory=a.memory)
    return vmm_lib.qemu_cmd(a.kernel, a.p9_initrd, [
        "-fsdev", f"local,id=src,path={SRC},security_model=none,readonly=on",
        "-device", "virtio-9p-device,fsdev=src,mount_tag=src",
        "-fsdev", f"local,id=rw,path={RW},security_model=none",
        "-device", "virtio-9p-device,fsdev=rw,mount_tag=rw"],
        cpus=a.cpus, memory=a.memory)


def log(a, name, out):
    with open(os.path.join(a.logdir, name + ".log"), "w") as f:
        f.write(out)


def exec_one(a, v, rnd):
    out, rc, secs = vmm_lib.run(exec_cmd(a, v), a.timeout)
    log(a, f"exec-{v}-{rnd}", out)
    if rc != EXEC_EXPECT[v]:
        sys.exit(f"exec: {v} round {rnd}: status {rc} (expected "
                 f"{EXEC_EXPECT[v]})\n{out[-3000:]}")
    print(f"exec: round {rnd} {v:7s} {secs * 1e3:9.1f} ms", file=sys.stderr,
          flush=True)
    return {"wall_ms": round(secs * 1e3, 1)}


def out_one(a, v, rnd):
    out, rc, secs = vmm_lib.run(exec_cmd(a, v, out=True), a.timeout)
    log(a, f"out-{v}-{rnd}", out)
    # The text's lines, whole (QEMU's guest tty adds a CR to each).
    got = out.replace("\r\n", "\n").count(OUT_TEXT.decode()) * len(OUT_TEXT)
    want = a.out_kib * 1024 // len(OUT_TEXT) * len(OUT_TEXT)
    if rc != EXEC_EXPECT[v] or got < want:
        sys.exit(f"out: {v} round {rnd}: status {rc}, {got} of {want} "
                 f"bytes\n{out[-1000:]}")
    print(f"out: round {rnd} {v:7s} {secs * 1e3:9.1f} ms", file=sys.stderr,
          flush=True)
    return {"out_wall_ms": round(secs * 1e3, 1), "bytes": got}


def p9_one(a, v, rnd):
    shutil.rmtree(RW, ignore_errors=True)
    os.makedirs(RW)
    out, rc, secs = vmm_lib.run(p9_cmd(a, v), a.timeout)
    log(a, f"p9-{v}-{rnd}", out)
    m = P9LINE.search(out)
    if rc != vmm_lib.expect(v) or not m:
        sys.exit(f"p9: {v} round {rnd}: status {rc}\n{out[-3000:]}")
    r = {k: float(x) for k, x in (f.split("=") for f in m.group(1).split())}
    created = len(os.listdir(RW))
    if created != r["create_files"]:
        sys.exit(f"p9: {v} round {rnd}: {created} files in the share, "
                 f"the guest made {r['create_files']:.0f}")
    r = {"read_mbps": round(r["read_bytes"] / r["read_secs"] / 1e6, 1),
         "walk_entries_per_s": round(r["walk_entries"] / r["walk_secs"]),
         "creates_per_s": round(r["create_files"] / r["create_secs"]),
         "raw": r, "wall_s": round(secs, 2)}
    print(f"p9: round {rnd} {v:7s} read {r['read_mbps']:8.1f} MB/s  walk "
          f"{r['walk_entries_per_s']:7d}/s  create {r['creates_per_s']:6d}/s",
          file=sys.stderr, flush=True)
    return r


def main():
    ap = argparse.ArgumentParser()
    for k in ("kernel", "modules", "qemu-initrd", "qemu-out-initrd",
              "p9-initrd", "tree",
              "exec-cmdline", "logdir", "out"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--memory", default="512M")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--out-kib", type=int, default=256)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--series", default="exec,p9")
    a = ap.parse_args()
    os.makedirs(a.logdir, exist_ok=True)
    # Everything the VMMs read comes from the test host's tmpfs, not from
    # its own 9p share of this machine (which would be in the path).
    local = "/tmp/execbench"
    shutil.rmtree(local, ignore_errors=True)
    os.makedirs(local)
    for k in ("kernel", "qemu_initrd", "qemu_out_initrd", "p9_initrd"):
        setattr(a, k, shutil.copy(getattr(a, k), local))
    a.modules = shutil.copytree(a.modules, os.path.join(local, "modules"))
    series = a.series.split(",")
    vmms = ["kvmlite", "qemu"]
    runs = {}
    if "p9" in series:
        shutil.rmtree(SRC, ignore_errors=True)
        os.makedirs(SRC)
        with open("/dev/urandom", "rb") as r, open(f"{SRC}/big", "wb") as w:
            for _ in range(a.size):
                w.write(r.read(1 << 20))
        shutil.copytree(a.tree, f"{SRC}/tree", symlinks=True)
    for s, one in (("exec", exec_one), ("out", out_one), ("p9", p9_one)):
        if s not in series:
            continue
        for v in vmms:  # one unrecorded run each: page cache, first use
            one(a, v, "warmup")
        runs[s] = vmm_lib.series(vmms, a.rounds, lambda v, r: one(a, v, r))
        with open(a.out, "w") as f:
            json.dump(runs, f)


if __name__ == "__main__":
    main()
