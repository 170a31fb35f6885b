#!/usr/bin/env python3
"""Inside the test host: the interleaved series of bench/net. Each VMM
name is a VMM and a back-end:

  kvmlite, qemu              virtio-net on a TAP (link-local
                             169.254.77.1/16; QEMU without vhost)
  kvmlite-passt, qemu-passt  virtio-net on passt: kvmlite --net passt
                             (its own passt), QEMU -netdev stream to a
                             passt started for the run; the guest takes
                             DHCP and reaches the host-side server through
                             the gateway address (passt maps it to the
                             host's loopback); a dummy interface
                             (192.0.2.1/24, default route) gives passt its
                             routes
  kvmlite-vsock, qemu-vsock  vsock: kvmlite's hybrid vsock (Unix sockets),
                             QEMU's vhost-vsock-device (AF_VSOCK in the
                             test host); vsockio in the guest, vsock_host.py
                             here

Boots each VMM ROUNDS times on the same kernel and initramfs (its scenario
picks the back-end from kvlbench= on the guest command line), alternating
the order, and writes every run's numbers as JSON to --out. The receiver's
clock is the headline: the host's for guest -> host, the guest's for
host -> guest.

--tool iperf3: kvmlite and qemu on the TAP only, booted with each vCPU
count of --cpus in every round (VMM order alternating by round and vCPU
count); the guest runs Debian's iperf3 as the client against `iperf3 -s`
here, both directions for each stream count, and prints each test's -J
on one line; the headline is end.sum_received.bits_per_second. See
bench/README.md."""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import vmm as vmm_lib

TAP = "kbn0"
HOST_IP = "169.254.77.1"
MAC = "52:54:00:77:00:02"
CID = 3
UDS = "/tmp/kbn.vsock"
QPASST = "/tmp/kbn-passt.sock"
HERE = os.path.dirname(os.path.abspath(__file__))
LINE = re.compile(r"^NETBENCH role=(\w+) dir=(\w+) bytes=(\d+) secs=([\d.]+)"
                  r" mbps=([\d.]+)", re.M)
VLINE = re.compile(r"^VSOCK(G2H|H2G) VSOCKIO in=(\d+) out=(\d+) "
                   r"in_secs=([\d.]+) out_secs=([\d.]+)", re.M)
ILINE = re.compile(r"^IPERF3 dir=(g2h|h2g) streams=(\d+) (.*)$", re.M)
HLINE = re.compile(r"^VSOCKBENCH dir=([\w-]+) bytes=(\d+) secs=([\d.]+)", re.M)


def cmd(a, vmm, cpus=1):
    backend = vmm.split("-")[1] if "-" in vmm else "tap"
    append = f"kvlbench={backend}"
    if vmm == "kvmlite":
        dev = ["--net", f"tap={TAP},mac={MAC}"]
    elif vmm == "qemu":
        dev = ["-netdev", f"tap,id=n0,ifname={TAP},script=no,downscript=no,"
                          "vhost=off",
               "-device", f"virtio-net-device,netdev=n0,mac={MAC}"]
    elif vmm == "kvmlite-passt":
        dev = ["--net", f"passt,mac={MAC}"]
    elif vmm == "qemu-passt":
        dev = ["-netdev", "stream,id=n0,server=off,addr.type=unix,"
                          f"addr.path={QPASST}",
               "-device", f"virtio-net-device,netdev=n0,mac={MAC}"]
    elif vmm == "kvmlite-vsock":
        dev = ["--vsock", f"cid={CID},uds={UDS}"]
    elif vmm == "qemu-vsock":
        dev = ["-device", f"vhost-vsock-device,guest-cid={CID}"]
    else:
        sys.exit(f"net: unknown VMM {vmm}")
    build = vmm_lib.kvmlite_cmd if vmm.startswith("kvmlite") else \
        vmm_lib.qemu_cmd
    return build(a.kernel, a.initrd, dev, cpus=cpus,
                 cmdline=f"{vmm_lib.CMDLINE} {append}")


def parse(out, role):
    vals = {}
    for m in LINE.finditer(out.replace("\r", "")):
        if m.group(1) == role:
            vals[m.group(2)] = float(m.group(5))
    return vals


def mbps(nbytes, secs):
    return round(nbytes / secs / 1e6, 1) if secs > 0 else 0.0


def fail(vmm, rnd, rc, out, extra):
    tail = "\n".join(out.replace("\r", "").splitlines()[-15:])
    sys.exit(f"net: {vmm} round {rnd}: status {rc}\n{tail}\n{extra}")


def run_tcp(a, vmm, rnd):
    passt = None
    if vmm == "qemu-passt":
        passt = subprocess.Popen(["passt", "-q", "-f", "-1", "-s", QPASST],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(QPASST):
                break
            time.sleep(0.05)
    srv = subprocess.Popen([a.server, "-l", "-p", "5201", "-n", "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first = srv.stdout.readline().decode()
    if not first.startswith("NETBENCH-LISTENING"):
        sys.exit(f"net: the host-side server did not start: {first}")
    out, rc, wall = vmm_lib.run(cmd(a, vmm), a.timeout)
    if srv.poll() is None:
        srv.kill()
    sout = srv.stdout.read().decode(errors="replace")
    srv.wait()
    if passt:
        passt.kill()
        passt.wait()
        try:
            os.unlink(QPASST)
        except FileNotFoundError:
            pass
    with open(os.path.join(a.logdir, f"{vmm}-{rnd}.log"), "w") as f:
        f.write(out + "\n--- host-side server ---\n" + first + sout)
    guest, host = parse(out, "client"), parse(sout, "server")
    if rc != vmm_lib.expect(vmm) or set(guest) != {"g2h", "h2g"} or \
            set(host) != {"g2h", "h2g"}:
        fail(vmm, rnd, rc, out, f"guest {guest}, host {host}\n{sout}")
    return {"g2h_mbps": host["g2h"], "h2g_mbps": guest["h2g"],
            "g2h_sender_mbps": guest["g2h"], "h2g_sender_mbps": host["h2g"],
            "wall_s": round(wall, 2)}


def run_vsock(a, vmm, rnd):
    addr = f"unix:{UDS}" if vmm.startswith("kvmlite") else f"vsock:{CID}"
    py = [sys.executable, os.path.join(HERE, "vsock_host.py")]
    sink = subprocess.Popen(py + ["sink", addr, "6000"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first = sink.stdout.readline().decode()
    if not first.startswith("VSOCKBENCH-LISTENING"):
        sys.exit(f"net: the vsock sink did not start: {first}")
    vm_cmd = cmd(a, vmm)
    vm = subprocess.Popen(vm_cmd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    t0 = time.monotonic()
    src = subprocess.run(py + ["source", addr, "5000", str(a.size)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=a.timeout)
    out, rc = vmm_lib.finish(vm, vm_cmd, a.timeout)
    wall = time.monotonic() - t0
    if sink.poll() is None:
        sink.kill()
    hout = sink.stdout.read().decode(errors="replace") + \
        src.stdout.decode(errors="replace")
    sink.wait()
    with open(os.path.join(a.logdir, f"{vmm}-{rnd}.log"), "w") as f:
        f.write(out + "\n--- host side ---\n" + first + hout)
    g = {m.group(1): m for m in VLINE.finditer(out.replace("\r", ""))}
    h = {m.group(1): m for m in HLINE.finditer(hout)}
    if rc != vmm_lib.expect(vmm) or set(g) != {"G2H", "H2G"} or \
            set(h) != {"g2h", "h2g-sender"}:
        fail(vmm, rnd, rc, out, hout)
    want = a.size << 20
    if int(h["g2h"].group(2)) != want or int(g["H2G"].group(2)) != want:
        fail(vmm, rnd, rc, out, f"short transfer: {hout}")
    return {"g2h_mbps": mbps(want, float(h["g2h"].group(3))),
            "h2g_mbps": mbps(want, float(g["H2G"].group(4))),
            "g2h_sender_mbps": mbps(want, float(g["G2H"].group(5))),
            "h2g_sender_mbps": mbps(want, float(h["h2g-sender"].group(3))),
            "wall_s": round(wall, 2)}


def run_iperf3(a, vmm, cpus, rnd):
    srv = subprocess.Popen([a.server, "-s", "-p", "5201"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    out, rc, wall = vmm_lib.run(cmd(a, vmm, cpus), a.timeout)
    srv.terminate()
    try:
        sout = srv.communicate(timeout=10)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        srv.kill()
        sout = srv.communicate()[0].decode(errors="replace")
    out = out.replace("\r", "")
    with open(os.path.join(a.logdir, f"{vmm}-{cpus}cpu-{rnd}.log"), "w") as f:
        f.write(out + "\n--- host-side iperf3 -s ---\n" + sout)
    tests = {}
    for m in ILINE.finditer(out):
        name = f"{m.group(1)}-P{m.group(2)}"
        try:
            j = json.loads(m.group(3))
            end = j["end"]
            rcv, snd = end["sum_received"], end["sum_sent"]
        except (ValueError, KeyError) as e:
            fail(vmm, rnd, rc, out, f"{name}: no iperf3 result ({e}): "
                 f"{m.group(3)[:300]}")
        if j.get("error"):
            fail(vmm, rnd, rc, out, f"{name}: iperf3: {j['error']}")
        tests[name] = {
            "receiver_mbits": round(rcv["bits_per_second"] / 1e6, 1),
            "sender_mbits": round(snd["bits_per_second"] / 1e6, 1),
            "receiver_bytes": rcv["bytes"], "receiver_secs": rcv["seconds"],
            "retransmits": snd.get("retransmits"),
            "cpu": end.get("cpu_utilization_percent")}
    want = {f"{d}-P{p}" for d in ("g2h", "h2g") for p in a.streams}
    if rc != vmm_lib.expect(vmm) or set(tests) != want:
        fail(vmm, rnd, rc, out, f"tests {sorted(tests)}, want {sorted(want)}")
    irqs = [ln[4:] for ln in out.splitlines() if ln.startswith("IRQ ")]
    line = "  ".join(f"{t} {v['receiver_mbits']:.0f}"
                     for t, v in sorted(tests.items()))
    print(f"net: round {rnd} {vmm:8s} {cpus} vCPU  {line} Mbit/s "
          f"({wall:.1f} s)", file=sys.stderr, flush=True)
    return {"cpus": cpus, "round": rnd, "tests": tests, "irqs": irqs,
            "wall_s": round(wall, 2)}


def iperf3_series(a):
    runs = {"kvmlite": [], "qemu": []}
    for rnd in range(a.rounds):
        for i, cpus in enumerate(a.cpus):
            order = ["kvmlite", "qemu"] if (rnd + i) % 2 == 0 else \
                ["qemu", "kvmlite"]
            for vmm in [v for v in order if v in a.vmms.split(",")]:
                runs[vmm].append(run_iperf3(a, vmm, cpus, rnd))
    return runs


def run_one(a, vmm, rnd):
    vals = run_vsock(a, vmm, rnd) if vmm.endswith("-vsock") else \
        run_tcp(a, vmm, rnd)
    print(f"net: round {rnd} {vmm:13s} guest->host {vals['g2h_mbps']:8.1f} "
          f"MB/s  host->guest {vals['h2g_mbps']:8.1f} MB/s  "
          f"({vals['wall_s']:.1f} s)", file=sys.stderr, flush=True)
    return vals


def sh(*c):
    subprocess.run(c, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--server", required=True, help="host netbench binary")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--size", type=int, default=64, help="MiB (vsock)")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--logdir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vmms", default="kvmlite,qemu")
    ap.add_argument("--tool", choices=["netbench", "iperf3"],
                    default="netbench")
    ap.add_argument("--cpus", default="1,2")
    ap.add_argument("--streams", default="1,4")
    ap.add_argument("--seconds", type=int, default=8)
    a = ap.parse_args()
    vmms = a.vmms.split(",")
    a.cpus = [int(x) for x in a.cpus.split(",")]
    a.streams = [int(x) for x in a.streams.split(",")]

    sh("ip", "link", "set", "lo", "up")
    sh("ip", "tuntap", "add", "dev", TAP, "mode", "tap")
    sh("ip", "addr", "add", f"{HOST_IP}/16", "dev", TAP)
    sh("ip", "link", "set", TAP, "up")
    if any(v.endswith("-passt") for v in vmms):
        sh("ip", "link", "add", "kbd0", "type", "dummy")
        sh("ip", "addr", "add", "192.0.2.1/24", "dev", "kbd0")
        sh("ip", "link", "set", "kbd0", "up")
        sh("ip", "route", "add", "default", "via", "192.0.2.254", "dev",
           "kbd0")
        sh("ip", "-6", "addr", "add", "2001:db8::1/64", "dev", "kbd0",
           "nodad")
        sh("ip", "-6", "route", "add", "default", "via", "2001:db8::fe",
           "dev", "kbd0")
    os.makedirs(a.logdir, exist_ok=True)
    try:
        if a.tool == "iperf3":
            runs = iperf3_series(a)
        else:
            runs = vmm_lib.series(vmms, a.rounds,
                                  lambda v, rnd: run_one(a, v, rnd))
    finally:
        subprocess.run(["ip", "link", "del", TAP])
        subprocess.run(["ip", "link", "del", "kbd0"],
                       stderr=subprocess.DEVNULL)
    with open(a.out, "w") as f:
        json.dump(runs, f)


if __name__ == "__main__":
    main()
