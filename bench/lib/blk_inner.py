#!/usr/bin/env python3
"""Inside the test host: the interleaved kvmlite / QEMU microvm series of
bench/blk. Boots each VMM ROUNDS times on the same kernel, initramfs (which
runs blkbench) and disk image, alternating which VMM goes first, and writes
every run's BLKBENCH numbers as JSON to --out. See bench/README.md."""
import argparse
import json
import os
import re
import sys

import vmm as vmm_lib

LINE = re.compile(r"^BLKBENCH (.*)$", re.M)


def cmds(a):
    return {
        "kvmlite": vmm_lib.kvmlite_cmd(a.kernel, a.initrd,
                                   ["--disk", f"path={a.image}"]),
        "qemu": vmm_lib.qemu_cmd(a.kernel, a.initrd, [
            "-drive", f"id=d0,file={a.image},format=raw,if=none,"
                      "cache=writeback,aio=threads",
            "-device", "virtio-blk-device,drive=d0"]),
    }


def run_one(a, vmm, rnd):
    out, rc, wall = vmm_lib.run(cmds(a)[vmm], a.timeout)
    with open(os.path.join(a.logdir, f"{vmm}-{rnd}.log"), "w") as f:
        f.write(out)
    m = LINE.search(out.replace("\r", ""))
    if rc != vmm_lib.EXPECT[vmm] or not m:
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
    runs = vmm_lib.series(a.vmms.split(","), a.rounds,
                          lambda v, rnd: run_one(a, v, rnd))
    with open(a.out, "w") as f:
        json.dump(runs, f)


if __name__ == "__main__":
    main()
