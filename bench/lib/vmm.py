"""What bench/blk, bench/net and bench/soak share inside the test host: the
two VMMs' command lines (same kernel, initramfs, memory, vCPUs (one unless
asked), the same guest command line), their exit statuses for the scenario's test_exit 3, one
timed run, and the interleaved series."""
import os
import signal
import subprocess
import time

CMDLINE = "console=ttyS0 quiet panic=-1"
MEMORY = "512M"

# The scenarios end with test_exit 3: kvmlite's status is 3, QEMU's
# isa-debug-exit makes it (3 << 1) | 1.
EXPECT = {"kvmlite": 3, "qemu": 7}


def expect(vmm):
    """The status of @vmm, or of a variant of it ("qemu-passt")."""
    return EXPECT[vmm.split("-")[0]]


def kvmlite_cmd(kernel, initrd, devices, cpus=1, memory=MEMORY,
                cmdline=CMDLINE):
    """kvmlite with @devices (its --disk/--net arguments)."""
    return ["kvmlite", "run", "--kernel", kernel, "--initrd", initrd,
            "--cpus", str(cpus), "--memory", memory, "--serial", "stdio",
            *devices, "--cmdline", cmdline]


def qemu_cmd(kernel, initrd, devices, cpus=1, memory=MEMORY,
             cmdline=CMDLINE):
    """QEMU microvm with @devices (its -drive/-netdev/-device arguments)."""
    return ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm",
            "-cpu", "host", "-m", memory, "-smp", str(cpus),
            "-nodefaults", "-no-user-config", "-display", "none",
            "-serial", "stdio", "-no-reboot",
            "-kernel", kernel, "-initrd", initrd, "-append", cmdline,
            *devices, "-device", "isa-debug-exit,iobase=0xf4,iosize=1"]


def finish(p, cmd, timeout):
    """Wait for the VMM @p (started as @cmd, output piped): (output, status
    or "timeout"). A kvmlite still running at @timeout is asked for its
    state dump (SIGUSR1: "kvmlite: dump: " lines, kept in the output)
    before it is killed, so that a stalled run says where each vCPU and
    queue was."""
    try:
        out, rc = p.communicate(timeout=timeout)[0], p.returncode
    except subprocess.TimeoutExpired:
        if os.path.basename(cmd[0]) == "kvmlite":
            p.send_signal(signal.SIGUSR1)
            try:
                p.communicate(timeout=3)
            except subprocess.TimeoutExpired:
                pass
        p.kill()
        out, rc = p.communicate()[0], "timeout"
    return out.decode(errors="replace"), rc


def run(cmd, timeout):
    """Run a VMM to its end: (console output, status or "timeout", wall s)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, rc = finish(p, cmd, timeout)
    return out, rc, time.monotonic() - t0


def series(vmms, rounds, run_one):
    """run_one(vmm, round) for every round, alternating which VMM goes
    first; {vmm: [result, ...]}."""
    runs = {v: [] for v in vmms}
    for rnd in range(rounds):
        for vmm in (vmms if rnd % 2 == 0 else vmms[::-1]):
            runs[vmm].append(run_one(vmm, rnd))
    return runs
