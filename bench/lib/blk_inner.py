#!/usr/bin/env python3
"""Inside the test host: the interleaved kvmlite / QEMU microvm series of
bench/blk. Boots each VMM ROUNDS times on the same kernel, initramfs (which
runs blkbench) and disk image, alternating which VMM goes first, and writes
every run's BLKBENCH numbers as JSON to --out. See bench/README.md."""
import argparse
import json
import os
import re
import subprocess
import sys
import time

LINE = re.compile(r"^BLKBENCH (.*)$", re.M)


def cmd_kvmlite(a):
    return ["kvmlite", "run", "--kernel", a.kernel, "--initrd", a.initrd,
            "--cpus", "1", "--memory", "512M", "--serial", "stdio",
            "--disk", f"path={a.image}",
            "--cmdline", "console=ttyS0 quiet panic=-1"]


def cmd_qemu(a):
    return ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm",
            "-cpu", "host", "-m", "512M", "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-serial", "stdio", "-no-reboot",
            "-kernel", a.kernel, "-initrd", a.initrd,
            "-append", "console=ttyS0 quiet panic=-1",
            "-drive", f"id=d0,file={a.image},format=raw,if=none,"
                      "cache=writeback,aio=threads",
            "-device", "virtio-blk-device,drive=d0",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=1"]


# The scenario ends with test_exit 3: kvmlite's status is 3, QEMU's
# isa-debug-exit makes it (3 << 1) | 1.
EXPECT = {"kvmlite": 3, "qemu": 7}
CMDS = {"kvmlite": cmd_kvmlite, "qemu": cmd_qemu}


def run_one(a, vmm, rnd):
    cmd = CMDS[vmm](a)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=a.timeout)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace"), "timeout"
    wall = time.monotonic() - t0
    with open(os.path.join(a.logdir, f"{vmm}-{rnd}.log"), "w") as f:
        f.write(out)
    m = LINE.search(out.replace("\r", ""))
    if rc != EXPECT[vmm] or not m:
        tail = "\n".join(out.replace("\r", "").splitlines()[-15:])
        sys.exit(f"blk: {vmm} round {rnd}: status {rc}, "
                 f"{'no' if not m else 'a'} BLKBENCH line\n{tail}")
    vals = {}
    for kv in m.group(1).split():
        k, v = kv.split("=", 1)
        vals[k] = float(v)
    vals["wall_s"] = round(wall, 2)
    print(f"blk: round {rnd} {vmm:7s} write {vals['seq_write_mbps']:8.1f} MB/s"
          f"  read {vals['seq_read_mbps']:8.1f} MB/s"
          f"  randread {vals['rand_read_iops']:8.0f} IOPS  ({wall:.1f} s)",
          file=sys.stderr, flush=True)
    return vals


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--size", type=int, required=True, help="MiB")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--logdir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vmms", default="kvmlite,qemu")
    a = ap.parse_args()

    # A fully allocated image (tmpfs pages, not holes) of the given size.
    with open(a.image, "wb") as f:
        chunk = bytes(range(256)) * 4096
        for _ in range(a.size):
            f.write(chunk)
    os.makedirs(a.logdir, exist_ok=True)
    vmms = a.vmms.split(",")
    runs = {v: [] for v in vmms}
    for rnd in range(a.rounds):
        order = vmms if rnd % 2 == 0 else vmms[::-1]
        for vmm in order:
            runs[vmm].append(run_one(a, vmm, rnd))
    with open(a.out, "w") as f:
        json.dump(runs, f)


if __name__ == "__main__":
    main()
