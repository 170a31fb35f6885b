#!/usr/bin/env python3
"""Inside the test host: bench/soak's runs. The same 2-vCPU scenario (boot,
disk writes with fsync checked on both sides, a TCP transfer each way with
a peer in the test host, power off) booted by kvmlite and by QEMU microvm,
interleaved, each run under a deadline. A run that does not end in time,
or whose console shows a guest kernel's death, gets its VMM's state dump
first (kvmlite: SIGUSR1, "kvmlite: dump: " lines on its stderr; QEMU: its
QMP monitor's HMP "info" commands). Every run is appended as one JSON line
to WORKDIR/runs.jsonl; WORKDIR/current names the run in progress (for the
caller, should the test host freeze); a failed run's console, stderr and
dump are copied into WORKDIR/failed/ (the run in progress writes its
console and stderr into WORKDIR/live/). See bench/README.md."""
import argparse
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import vmm as vmm_lib

TAP = "kso0"
HOST_IP = "169.254.33.1"
MAC = "52:54:00:33:00:02"
CMDLINE = "console=ttyS0 reboot=k panic=-1 pci=off"  # kvmlite's default
MEMORY = "512M"
CPUS = 2
# As tests/boot/lib.sh: a guest kernel's death, kvmlite's own failures.
GUEST_DEATH = re.compile(r"Kernel panic|BUG:|Oops|general protection|"
                         r"Attempted to kill init|soft lockup|rcu_.*stall")
KVMLITE_CRASH = re.compile(r"kvmlite: guest crashed|triple fault")
VMM_FAULT = re.compile(
    r"^kvmlite: (seccomp: |seccomp filter: |vCPU [0-9]+: (KVM_RUN|"
    r"KVM_SET_SIGNAL_MASK|seccomp filter): |cannot start (vCPU|the I/O "
    r"thread|disk|network)|KVM_IRQ_LINE )|^==[0-9]+==ERROR: [A-Za-z]+Sanitizer"
    r"|runtime error: ", re.M)
QEMU_CRASH = re.compile(r"KVM internal error|KVM: entry failed|"
                        r"KVM: injection failed")
DUMP_PREFIX = "kvmlite: dump: "
# kvmlite: 0 = the guest powered off; QEMU: 0 too (microvm's ACPI S5).
EXPECT = {"kvmlite": 0, "qemu": 0}


def log(msg):
    print(f"soak: {msg}", file=sys.stderr, flush=True)


class Qmp:
    """A QMP client: SHUTDOWN events, and HMP commands for the dump."""

    def __init__(self, path):
        self.path, self.sock, self.events = path, None, []
        self.lock = threading.Lock()
        self.replies = []
        self.cond = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        for _ in range(200):  # QEMU makes the socket a moment after exec
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.path)
                break
            except OSError:
                time.sleep(0.05)
        else:
            return
        f = s.makefile("rb")
        s.sendall(b'{"execute": "qmp_capabilities"}\n')
        self.sock = s
        while True:
            try:
                line = f.readline()
            except OSError:  # QEMU was killed
                break
            if not line:
                break
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "event" in msg:
                self.events.append(msg)
            elif "return" in msg or "error" in msg:
                with self.cond:
                    self.replies.append(msg)
                    self.cond.notify_all()

    def hmp(self, cmd, timeout=5):
        if self.sock is None:
            return "(no QMP connection)"
        with self.lock, self.cond:
            self.replies.clear()
            req = {"execute": "human-monitor-command",
                   "arguments": {"command-line": cmd}}
            try:
                self.sock.sendall(json.dumps(req).encode() + b"\n")
            except OSError as e:
                return f"(QMP: {e})"
            end = time.monotonic() + timeout
            # The first reply is the capabilities' {"return": {}}, maybe.
            while True:
                for r in self.replies:
                    if isinstance(r.get("return"), str):
                        return r["return"]
                    if "error" in r:
                        return f"(error: {r['error'].get('desc')})"
                left = end - time.monotonic()
                if left <= 0:
                    return "(no answer: QEMU's monitor did not reply)"
                self.cond.wait(left)

    def shutdown_reasons(self):
        return [e.get("data", {}).get("reason", "?") for e in self.events
                if e.get("event") == "SHUTDOWN"]


def qemu_dump(qmp, cpus):
    out = []
    for cmd in ["info status", "info registers -a",
                *[f"info lapic {i}" for i in range(cpus)], "info pic",
                "info irq", "info virtio"]:
        out.append(f"(qemu) {cmd}\n{qmp.hmp(cmd)}")
    for path in re.findall(r"^(/\S+) \[", out[-1].split("\n", 1)[1], re.M):
        st = qmp.hmp(f"info virtio-status {path}")
        out.append(f"(qemu) info virtio-status {path}\n{st}")
        m = re.search(r"num_vqs:\s+(\d+)", st)
        for q in range(int(m.group(1)) if m else 0):
            cmd = f"info virtio-queue-status {path} {q}"
            out.append(f"(qemu) {cmd}\n{qmp.hmp(cmd)}")
    return "\n".join(out)


def handles_usr1(pid):
    bit = 1 << (signal.SIGUSR1 - 1)
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(int(ln.split()[1], 16) & bit for ln in f
                       if ln.startswith(("SigBlk", "SigIgn", "SigCgt")))
    except (OSError, ValueError):
        return False


def kvmlite_dump(p, err_path, force):
    """SIGUSR1, 2 s, and the dump lines kvmlite wrote to its stderr."""
    if p.poll() is not None:
        return "(kvmlite had already exited)"
    handled = handles_usr1(p.pid)
    if not handled and not force:
        return "(kvmlite does not handle SIGUSR1 (it would die of it): not sent)"
    off = os.path.getsize(err_path)
    os.kill(p.pid, signal.SIGUSR1)
    time.sleep(2)
    with open(err_path, errors="replace") as f:
        f.seek(off)
        lines = [ln for ln in f if ln.startswith(DUMP_PREFIX)]
    head = f"SIGUSR1 sent to kvmlite pid {p.pid}"
    if not handled:
        head += " (it does not handle SIGUSR1)"
    if p.poll() is not None:
        head += f"; it then exited ({p.returncode})"
    return f"{head}; {len(lines)} dump line(s):\n" + "".join(lines)


def sha_file(path, size=None):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        left = size
        while left is None or left > 0:
            b = f.read(1 << 20 if left is None else min(1 << 20, left))
            if not b:
                break
            h.update(b)
            if left is not None:
                left -= len(b)
    return h.hexdigest()


def classify(vmm, rc, console, err, reasons, checks):
    """(kind, why) of a failed run, or (None, "") for a pass."""
    if vmm == "kvmlite":
        m = VMM_FAULT.search(err)
        if rc in (70, 71) or m:
            return "vmm-error", f"status {rc}" + (f": {m.group(0)}" if m else "")
    m = GUEST_DEATH.search(console)
    if m:
        line = console[console.rfind("\n", 0, m.start()) + 1:].split("\n", 1)[0]
        return "guest-panic", line.strip()[:200]
    if vmm == "kvmlite":
        m = KVMLITE_CRASH.search(err)
        if rc == 81 or m:
            return "crash-report", (m and err[m.start():].split("\n", 1)[0]) or "status 81"
        if rc == 80:
            return "crash-report", "status 80: the guest reset, with no panic on its console"
    else:
        m = QEMU_CRASH.search(err + console)
        if m:
            return "crash-report", m.group(0)
        if "guest-reset" in reasons:
            return "crash-report", "QMP SHUTDOWN reason guest-reset (a triple fault or reset), with no panic on the console"
    if rc == "timeout":
        return "hang", "no end within the deadline"
    if rc != EXPECT[vmm]:
        last = [ln for ln in err.splitlines() if ln.strip()][-1:] or [""]
        return "vmm-error", f"status {rc}: {last[0][:200]}"
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        return "wrong-output", "checks failed: " + ", ".join(bad)
    return None, ""


def run_one(a, k, rnd, vmm):
    tag = f"{k:03d}-{vmm}"
    with open(os.path.join(a.workdir, "current"), "w") as f:
        json.dump({"k": k, "round": rnd, "vmm": vmm, "start": time.time()}, f)
    disk = "/tmp/soak-disk.img"
    if os.path.exists(disk):
        os.unlink(disk)
    with open(disk, "wb") as f:
        f.truncate((a.disk_mib + 16) << 20)
    for fn in ("/tmp/from-guest.bin",):
        if os.path.exists(fn):
            os.unlink(fn)
    peers = [subprocess.Popen([sys.executable, a.peer, "recv", "5001", "/tmp/from-guest.bin"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT),
             subprocess.Popen([sys.executable, a.peer, "send", "5002", "/tmp/to-guest.bin"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)]
    # On the share, so that a test host that freezes leaves them behind.
    live = os.path.join(a.workdir, "live")
    os.makedirs(live, exist_ok=True)
    console_path = os.path.join(live, f"{tag}.console")
    err_path = os.path.join(live, f"{tag}.err")
    qmp_path = "/tmp/soak-qmp.sock"
    if vmm == "kvmlite":
        cmd = vmm_lib.kvmlite_cmd(a.kernel, a.initrd,
                                  ["--disk", f"path={disk}",
                                   "--net", f"tap={TAP},mac={MAC}"],
                                  cpus=CPUS, memory=MEMORY, cmdline=CMDLINE)
    else:
        if os.path.exists(qmp_path):
            os.unlink(qmp_path)
        cmd = vmm_lib.qemu_cmd(a.kernel, a.initrd, [
            "-drive", f"id=d0,file={disk},format=raw,if=none,cache=writeback,aio=threads",
            "-device", "virtio-blk-device,drive=d0",
            "-netdev", f"tap,id=n0,ifname={TAP},script=no,downscript=no,vhost=off",
            "-device", f"virtio-net-device,netdev=n0,mac={MAC}",
            "-qmp", f"unix:{qmp_path},server=on,wait=off"],
            cpus=CPUS, memory=MEMORY, cmdline=CMDLINE)
    errf = open(err_path, "wb")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=errf)
    qmp = Qmp(qmp_path) if vmm == "qemu" else None
    fatal = threading.Event()
    fatal_line = []

    def reader():
        with open(console_path, "wb", buffering=0) as out:  # kept on a freeze
            buf = b""
            for chunk in iter(lambda: os.read(p.stdout.fileno(), 65536), b""):
                out.write(chunk)
                if fatal.is_set():
                    continue
                buf = (buf + chunk)[-8192:]
                *lines, buf = buf.split(b"\n")
                for ln in lines:
                    t = ln.decode(errors="replace").rstrip("\r")
                    if GUEST_DEATH.search(t):
                        fatal_line.append(t)
                        fatal.set()
                        break
    rd = threading.Thread(target=reader, daemon=True)
    rd.start()

    dumps = []

    def dump(why, force):
        d = kvmlite_dump(p, err_path, force) if vmm == "kvmlite" else qemu_dump(qmp, CPUS)
        dumps.append(f"==== state dump: {why} ({time.monotonic() - t0:.1f} s into the run)\n{d}\n")

    deadline = t0 + a.deadline
    rc, dumped_fatal = None, False
    while rc is None:
        try:
            rc = p.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        if rc is None and fatal.is_set() and not dumped_fatal:
            dumped_fatal = True
            dump(f"the console shows {fatal_line[0][:120]!r}", False)
        if rc is None and time.monotonic() > deadline:
            dump(f"no end after {a.deadline} s", True)
            p.kill()
            p.wait()
            rc = "timeout"
    wall = time.monotonic() - t0
    rd.join(5)
    errf.close()
    peer_out = []
    for q in peers:
        try:
            q.wait(timeout=10)
        except subprocess.TimeoutExpired:
            q.kill()
            q.wait()
        peer_out.append(q.stdout.read().decode(errors="replace"))
    console = open(console_path, "rb").read().decode(errors="replace").replace("\r", "")
    err = open(err_path, "rb").read().decode(errors="replace")
    reasons = qmp.shutdown_reasons() if qmp else []

    def grab(rx):
        m = re.search(rx, console, re.M)
        return m.group(1) if m else None
    disk_sha = grab(r"^SOAK-DISK-SHA ([0-9a-f]{64})$")
    sent = grab(r"^SOAK-NET-SENT ([0-9a-f]{64})$")
    peer_recv = re.search(r"^PEER-SHA256 ([0-9a-f]{64})", peer_out[0], re.M)
    checks = {
        "2 vCPUs": grab(r"^SOAK-NPROC (\d+)$") == str(CPUS),
        "disk read back in the guest": grab(r"^SOAK-DISK (\S+)$") == "ok",
        "disk image on the host": disk_sha is not None and
        sha_file(disk, a.disk_mib << 20) == disk_sha,
        "guest -> host sha256": sent is not None and peer_recv is not None and
        peer_recv.group(1) == sent,
        "host -> guest sha256": grab(r"^SOAK-NET-GOT (\S+ \d+)$") ==
        f"{a.to_guest_sha} {a.net_mib << 20}",
        "scenario ended": re.search(r"^SOAK-END$", console, re.M) is not None,
    }
    kind, why = classify(vmm, rc, console, err, reasons, checks)
    r = {"k": k, "round": rnd, "vmm": vmm, "status": rc, "wall_s": round(wall, 1),
         "kind": kind, "why": why, "shutdown": reasons,
         "dump_lines": sum(d.count("\n" + DUMP_PREFIX) for d in dumps) if vmm == "kvmlite"
         else len(dumps), "files": []}
    if kind is not None or dumps:
        fdir = os.path.join(a.workdir, "failed")
        os.makedirs(fdir, exist_ok=True)
        for suffix, text in (("console", console), ("err", err),
                             ("dump", "".join(dumps)), ("peers", "".join(peer_out))):
            if text:
                fn = os.path.join(fdir, f"{tag}.{suffix}")
                with open(fn, "w") as f:
                    f.write(text)
                r["files"].append(os.path.basename(fn))
    for fn in (console_path, err_path):
        os.unlink(fn)
    with open(os.path.join(a.workdir, "runs.jsonl"), "a") as f:
        f.write(json.dumps(r) + "\n")
    log(f"run {k:3d} (round {rnd:2d}) {vmm:7s} {wall:6.1f} s  "
        + ("pass" if kind is None else f"FAIL {kind}: {why}"))
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--peer", required=True, help="tests/boot/net_peer.py")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--start", type=int, default=0, help="first run index")
    ap.add_argument("--deadline", type=int, default=240)
    ap.add_argument("--disk-mib", type=int, default=8)
    ap.add_argument("--net-mib", type=int, default=16)
    ap.add_argument("--vmms", default="kvmlite,qemu")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    vmms = a.vmms.split(",")
    # Local copies (tmpfs): the images are read at every boot.
    for name in ("kernel", "initrd"):
        dst = f"/tmp/soak-{name}"
        subprocess.run(["cp", getattr(a, name), dst], check=True)
        setattr(a, name, dst)
    with open("/tmp/to-guest.bin", "wb") as f:
        f.write(os.urandom(a.net_mib << 20))
    a.to_guest_sha = sha_file("/tmp/to-guest.bin")
    subprocess.run(["ip", "tuntap", "add", "dev", TAP, "mode", "tap"], check=True)
    subprocess.run(["ip", "addr", "add", f"{HOST_IP}/16", "dev", TAP], check=True)
    subprocess.run(["ip", "link", "set", TAP, "up"], check=True)
    # Run k: round k // len(vmms); the VMMs alternate which goes first.
    total = a.runs * len(vmms)
    try:
        for k in range(a.start, total):
            rnd, i = divmod(k, len(vmms))
            order = vmms if rnd % 2 == 0 else vmms[::-1]
            run_one(a, k, rnd, order[i])
    finally:
        subprocess.run(["ip", "link", "del", TAP])
    os.unlink(os.path.join(a.workdir, "current"))


if __name__ == "__main__":
    main()
