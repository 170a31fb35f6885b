#!/usr/bin/env python3
"""Inside the test host: the interleaved kvmlite / QEMU microvm series of
bench/net. Creates one TAP (link-local 169.254.77.1/16), then boots each
VMM ROUNDS times on the same kernel and initramfs (whose scenario runs
netbench as the client against the host-side netbench server started for
each run), alternating which VMM goes first, and writes every run's numbers
as JSON to --out. See bench/README.md."""
import argparse
import json
import os
import re
import subprocess
import sys

import vmm as vmm_lib

TAP = "kbn0"
HOST_IP = "169.254.77.1"
MAC = "52:54:00:77:00:02"
LINE = re.compile(r"^NETBENCH role=(\w+) dir=(\w+) bytes=(\d+) secs=([\d.]+)"
                  r" mbps=([\d.]+)", re.M)


def cmds(a):
    return {
        "kvmlite": vmm_lib.kvmlite_cmd(a.kernel, a.initrd,
                                       ["--net", f"tap={TAP},mac={MAC}"]),
        "qemu": vmm_lib.qemu_cmd(a.kernel, a.initrd, [
            "-netdev", f"tap,id=n0,ifname={TAP},script=no,downscript=no,"
                       "vhost=off",
            "-device", f"virtio-net-device,netdev=n0,mac={MAC}"]),
    }


def parse(out, role):
    vals = {}
    for m in LINE.finditer(out.replace("\r", "")):
        if m.group(1) == role:
            vals[m.group(2)] = float(m.group(5))
    return vals


def run_one(a, vmm, rnd):
    srv = subprocess.Popen([a.server, "-l", "-p", "5201", "-n", "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first = srv.stdout.readline().decode()
    if not first.startswith("NETBENCH-LISTENING"):
        sys.exit(f"net: the host-side server did not start: {first}")
    out, rc, wall = vmm_lib.run(cmds(a)[vmm], a.timeout)
    if srv.poll() is None:
        srv.kill()
    sout = srv.stdout.read().decode(errors="replace")
    srv.wait()
    with open(os.path.join(a.logdir, f"{vmm}-{rnd}.log"), "w") as f:
        f.write(out + "\n--- host-side server ---\n" + first + sout)
    guest, host = parse(out, "client"), parse(sout, "server")
    if rc != vmm_lib.EXPECT[vmm] or set(guest) != {"g2h", "h2g"} or \
            set(host) != {"g2h", "h2g"}:
        tail = "\n".join(out.replace("\r", "").splitlines()[-15:])
        sys.exit(f"net: {vmm} round {rnd}: status {rc}, guest {guest}, "
                 f"host {host}\n{tail}\n{sout}")
    # The receiver's clock is the headline: from its first byte to EOF.
    vals = {"g2h_mbps": host["g2h"], "h2g_mbps": guest["h2g"],
            "g2h_sender_mbps": guest["g2h"], "h2g_sender_mbps": host["h2g"],
            "wall_s": round(wall, 2)}
    print(f"net: round {rnd} {vmm:7s} guest->host {vals['g2h_mbps']:8.1f} "
          f"MB/s  host->guest {vals['h2g_mbps']:8.1f} MB/s  ({wall:.1f} s)",
          file=sys.stderr, flush=True)
    return vals


def sh(*cmd):
    subprocess.run(cmd, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--server", required=True, help="host netbench binary")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--logdir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vmms", default="kvmlite,qemu")
    a = ap.parse_args()

    sh("ip", "tuntap", "add", "dev", TAP, "mode", "tap")
    sh("ip", "addr", "add", f"{HOST_IP}/16", "dev", TAP)
    sh("ip", "link", "set", TAP, "up")
    os.makedirs(a.logdir, exist_ok=True)
    try:
        runs = vmm_lib.series(a.vmms.split(","), a.rounds,
                              lambda v, rnd: run_one(a, v, rnd))
    finally:
        subprocess.run(["ip", "link", "del", TAP])
    with open(a.out, "w") as f:
        json.dump(runs, f)


if __name__ == "__main__":
    main()
