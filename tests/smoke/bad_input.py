#!/usr/bin/env python3
"""Bad input, table-driven: every case gets its documented exit status and a
one-line message naming the culprit; none crashes, none hangs, none leaves
the terminal in raw mode.

Usage: bad_input.py KVMLITE EXIT_STUB HANG_STUB
Each case runs with a pseudo-terminal as stdin/stdout (so kvmlite's
terminal handling is live) and a timeout; the pty's settings must be the
same afterwards. Cases that need /dev/kvm are skipped loudly without it.
"""
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time

KVMLITE, EXIT_STUB, HANG_STUB = sys.argv[1:4]
USAGE, BAD_IMAGE, SANDBOX, STOPPED = 64, 65, 71, 82
HAVE_KVM = os.access("/dev/kvm", os.R_OK | os.W_OK)
W = tempfile.mkdtemp(prefix="kvmlite-bad-input-")


def f(name, data=b"", mode=0o644):
    p = os.path.join(W, name)
    with open(p, "wb") as fh:
        fh.write(data)
    os.chmod(p, mode)
    return p


def bzimage(version=0x020F, xloadflags=1, setup_sects=4, size=None):
    """A synthetic bzImage: setup header fields at their offsets."""
    img = bytearray(512 * (setup_sects + 1) + 4096)
    img[0x1F1] = setup_sects
    img[0x1FE:0x200] = b"\x55\xaa"
    img[0x201] = 0x6A  # header length after 0x202
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, version)
    img[0x211] = 0x01  # loadflags: LOADED_HIGH
    struct.pack_into("<I", img, 0x1F4, len(img) // 16)  # syssize
    struct.pack_into("<I", img, 0x218, 0)
    struct.pack_into("<I", img, 0x22C, 0x37FFFFFF)  # initrd_addr_max
    struct.pack_into("<H", img, 0x236, xloadflags)
    struct.pack_into("<I", img, 0x238, 2048)  # cmdline_size
    struct.pack_into("<I", img, 0x260, 0x100000)  # init_size
    if size is not None:
        img = img[:size]
    return bytes(img)


def elf(cls=2, machine=62, phoff=64, phnum=1):
    h = bytearray(64)
    h[0:4] = b"\x7fELF"
    h[4], h[5], h[6] = cls, 1, 1
    struct.pack_into("<HHI", h, 16, 2, machine, 1)
    struct.pack_into("<QQQ", h, 24, 0x100000, phoff, 0)
    struct.pack_into("<HHHHHH", h, 52, 64, 56, phnum, 64, 0, 0)
    return bytes(h) + bytes(56)


stub = EXIT_STUB
d = os.path.join(W, "adir")
os.mkdir(d)
disk = f("disk.img", bytes(1 << 20))
big_initrd = f("big-initrd", bytes(40 << 20))
long_cmdline = "x" * 70000
loop = os.path.join(W, "loop")
os.symlink("loop", loop)
# A FIFO nobody writes to or reads from: opening it must not block.
fifo = os.path.join(W, "fifo")
os.mkfifo(fifo)

CASES = [
    # name, argv, status, stderr regex, needs /dev/kvm
    ("no arguments", [], USAGE, r"no command given", False),
    ("unknown command", ["frob"], USAGE, r"unknown command 'frob'", False),
    ("run without kernel", ["run"], USAGE, r"--kernel PATH", False),
    ("--kernel without value", ["run", "--kernel"], USAGE, r"--kernel needs a value", False),
    ("--cpus 0", ["run", "--kernel", stub, "--cpus", "0"], USAGE, r"--cpus '0'", False),
    ("--cpus 256", ["run", "--kernel", stub, "--cpus", "256"], USAGE, r"--cpus '256'", False),
    ("--cpus abc", ["run", "--kernel", stub, "--cpus", "abc"], USAGE, r"--cpus 'abc'", False),
    ("--cpus -1", ["run", "--kernel", stub, "--cpus", "-1"], USAGE, r"--cpus '-1'", False),
    ("--memory 0", ["run", "--kernel", stub, "--memory", "0"], USAGE, r"--memory '0'", False),
    ("--memory 1M", ["run", "--kernel", stub, "--memory", "1M"], USAGE, r"--memory '1M'", False),
    ("--memory 2T", ["run", "--kernel", stub, "--memory", "2T"], USAGE, r"--memory '2T'", False),
    ("--memory 12X", ["run", "--kernel", stub, "--memory", "12X"], USAGE, r"--memory '12X'.*not a size", False),
    ("--memory not 4K", ["run", "--kernel", stub, "--memory", "100000001B"], USAGE, r"multiple of 4K", False),
    ("--memory in bytes without B", ["run", "--kernel", stub, "--memory", "268435456"], USAGE,
     r"--memory '268435456': must be from 16M to 1T \(a number without a unit is MiB\)$", False),
    ("--memory overflow", ["run", "--kernel", stub, "--memory", "99999999999999999999G"], USAGE, r"too large", False),
    ("--memory hugepages=maybe", ["run", "--kernel", stub, "--memory", "64M,hugepages=maybe"], USAGE,
     r"--memory '64M,hugepages=maybe': hugepages= wants on or off$", False),
    ("--memory hugepages not 2M", ["run", "--kernel", stub, "--memory", "17M,hugepages=on"], USAGE,
     r"--memory '17M': with hugepages=on it must be a multiple of 2M$", False),
    ("--serial tcp", ["run", "--kernel", stub, "--serial", "tcp:1"], USAGE, r"--serial 'tcp:1'", False),
    ("--serial file:", ["run", "--kernel", stub, "--serial", "file:"], USAGE, r"--serial 'file:'", False),
    ("--serial unwritable", ["run", "--kernel", stub, "--serial", "file:/nonexistent/x"], USAGE,
     r"--serial file:/nonexistent/x: No such file", False),
    ("--boot-timing=xml", ["run", "--kernel", stub, "--boot-timing=xml"], USAGE, r"'xml'", False),
    ("unknown option", ["run", "--kernel", stub, "--turbo"], USAGE, r"unknown option '--turbo'", False),
    ("stray argument", ["run", "--kernel", stub, "extra"], USAGE, r"unexpected argument 'extra'", False),
    ("missing kernel", ["run", "--kernel", "/nonexistent/bzImage"], BAD_IMAGE,
     r"kernel /nonexistent/bzImage: No such file", False),
    ("kernel is a directory", ["run", "--kernel", d], BAD_IMAGE, r"kernel .*adir: not a regular file", False),
    ("kernel is /dev/null", ["run", "--kernel", "/dev/null"], BAD_IMAGE, r"not a regular file", False),
    # A regular file that cannot be mapped (sysfs attributes refuse mmap).
    ("kernel cannot be mapped", ["run", "--kernel", "/sys/kernel/uevent_seqnum"], BAD_IMAGE,
     r"kernel /sys/kernel/uevent_seqnum: cannot map it: ", False),
    ("empty kernel", ["run", "--kernel", f("empty")], BAD_IMAGE, r"kernel .*empty: file is empty", False),
    ("random kernel", ["run", "--kernel", f("random", os.urandom(5000))], BAD_IMAGE,
     r"not a bzImage or ELF", False),
    ("truncated bzImage", ["run", "--kernel", f("trunc.bz", bzimage(size=1000))], BAD_IMAGE,
     r"kernel .*trunc\.bz: .*(trunc|short|beyond|needs)", False),
    ("bzImage protocol 2.00", ["run", "--kernel", f("old.bz", bzimage(version=0x0200))], BAD_IMAGE,
     r"2\.00", False),
    ("bzImage without 64-bit entry", ["run", "--kernel", f("no64.bz", bzimage(xloadflags=0))], BAD_IMAGE,
     r"64", False),
    ("bzImage huge setup_sects", ["run", "--kernel", f("sects.bz", bzimage(setup_sects=200, size=6000))],
     BAD_IMAGE, r"kernel .*sects\.bz:", False),
    ("ELF32 kernel", ["run", "--kernel", f("e32", elf(cls=1))], BAD_IMAGE, r"kernel .*e32: .*(64|class)", False),
    ("ELF for ARM", ["run", "--kernel", f("earm", elf(machine=183))], BAD_IMAGE, r"kernel .*earm: .*(x86|machine)", False),
    ("ELF phdrs outside the file", ["run", "--kernel", f("ephdr", elf(phoff=1 << 40))], BAD_IMAGE,
     r"kernel .*ephdr:", False),
    ("missing initrd", ["run", "--kernel", stub, "--initrd", "/nonexistent/initrd"], BAD_IMAGE,
     r"initrd /nonexistent/initrd: No such file", False),
    # Unreadable even for root: a symbolic link to itself (ELOOP).
    ("unreadable initrd", ["run", "--kernel", stub, "--initrd", loop], BAD_IMAGE,
     r"initrd .*loop: Too many levels of symbolic links", False),
    ("kernel is a FIFO", ["run", "--kernel", fifo], BAD_IMAGE, r"kernel .*fifo: not a regular file", False),
    ("initrd is a FIFO", ["run", "--kernel", stub, "--initrd", fifo], BAD_IMAGE,
     r"initrd .*fifo: not a regular file", False),
    ("empty initrd", ["run", "--kernel", stub, "--initrd", f("empty-initrd")], BAD_IMAGE,
     r"initrd .*empty-initrd: file is empty", False),
    ("initrd larger than RAM", ["run", "--kernel", stub, "--initrd", big_initrd, "--memory", "16M"], USAGE,
     r"initrd .*big-initrd: .*does not fit", False),
    ("command line too long", ["run", "--kernel", stub, "--cmdline", long_cmdline], USAGE,
     r"--cmdline: .*command line", False),
    ("missing disk", ["run", "--kernel", stub, "--disk", "path=/nonexistent/disk.img"], USAGE,
     r"disk /nonexistent/disk.img", False),
    ("disk is a directory", ["run", "--kernel", stub, "--disk", "path=" + d], USAGE, r"disk .*adir", False),
    ("empty disk", ["run", "--kernel", stub, "--disk", "path=" + f("empty-disk")], USAGE,
     r"disk .*empty-disk: .*empty", False),
    ("disk not a multiple of 512", ["run", "--kernel", stub, "--disk", "path=" + f("odd.img", bytes(1000))],
     USAGE, r"disk .*odd\.img: .*512", False),
    ("disk is a FIFO", ["run", "--kernel", stub, "--disk", "path=" + fifo], USAGE,
     r"disk .*fifo: not a regular file or block device", False),
    ("read-only disk is a FIFO", ["run", "--kernel", stub, "--disk", "path=" + fifo + ",ro=on"], USAGE,
     r"disk .*fifo: not a regular file or block device", False),
    ("disk given twice", ["run", "--kernel", stub, "--disk", "path=" + disk, "--disk", "path=" + f("other.img", bytes(4096)),
                          "--disk", "path=" + os.path.join(W, ".", "disk.img") + ",ro=on"], USAGE,
     r"disk .*/\./disk\.img: given twice \(as disk 0 and disk 2\)$", False),
    ("disk without path", ["run", "--kernel", stub, "--disk", "ro=on"], USAGE, r"path=FILE is required", False),
    ("disk unknown key", ["run", "--kernel", stub, "--disk", "path=x,cache=none"], USAGE,
     r"unknown key 'cache'", False),
    ("disk serial too long", ["run", "--kernel", stub, "--disk", "path=x,serial=" + "s" * 21], USAGE,
     r"longer than 20", False),
    ("17 disks", ["run", "--kernel", stub] + ["--disk", "path=" + disk] * 17, USAGE, r"at most 16", False),
    ("20 devices", ["run", "--kernel", stub] + ["--disk", "path=" + disk] * 16 + ["--net", "tap=kvlbad0"] * 4,
     USAGE, r"16 disks, 4 networks: at most 19 virtio devices", False),
    ("20 devices with rng and vsock", ["run", "--kernel", stub, "--rng", "--vsock", "cid=3,uds=" + W + "/v20"]
     + ["--disk", "path=" + disk] * 16 + ["--net", "tap=kvlbad0"] * 2,
     USAGE, r"16 disks, 2 networks, rng, vsock: at most 19 virtio devices", False),
    ("net without tap", ["run", "--kernel", stub, "--net", "mac=52:54:00:00:00:01"], USAGE,
     r"tap=NAME or passt is required", False),
    ("net tap and passt", ["run", "--kernel", stub, "--net", "tap=t0,passt"], USAGE,
     r"--net: tap and passt: give one of them", False),
    ("net passt nobody listening", ["run", "--kernel", stub, "--net", "passt=" + W + "/nope.sock"], USAGE,
     r"net passt .*/nope\.sock: No such file or directory \(is passt listening there\?\)$", False),
    ("net passt not installed", ["run", "--kernel", stub, "--net", "passt"], USAGE,
     r"net passt: passt not found in PATH \(apt-get install passt\)$", False),
    ("vsock cid 2", ["run", "--kernel", stub, "--vsock", "cid=2,uds=" + W + "/v"], USAGE,
     r"--vsock: cid=2: need a whole number from 3 to 4294967294$", False),
    ("vsock without uds", ["run", "--kernel", stub, "--vsock", "cid=3"], USAGE,
     r"--vsock: uds=PATH is required$", False),
    ("vsock uds too long", ["run", "--kernel", stub, "--vsock", "cid=3,uds=/" + "u" * 100], USAGE,
     r"--vsock: uds '/u+' is longer than 96 bytes$", False),
    ("vsock uds not a socket", ["run", "--kernel", stub, "--vsock", "cid=3,uds=" + disk], USAGE,
     r"vsock: uds .*/disk\.img: exists and is not a socket$", False),
    ("vsock uds in use", ["run", "--kernel", stub, "--vsock", "cid=3,uds=" + W + "/busy.sock"], USAGE,
     r"vsock: uds .*/busy\.sock: in use \(someone listens there\)$", False),
    ("vsock uds in a missing directory", ["run", "--kernel", stub, "--vsock", "cid=3,uds=/nonexistent/d/v"],
     USAGE, r"vsock: uds /nonexistent/d/v: No such file or directory$", False),
    ("fs not a directory", ["run", "--kernel", stub, "--fs", "path=" + disk + ",tag=t"], USAGE,
     r"fs .*/disk\.img: not a directory$", False),
    ("fs missing directory", ["run", "--kernel", stub, "--fs", "path=/nonexistent/share,tag=t"], USAGE,
     r"fs /nonexistent/share: No such file or directory$", False),
    ("fs tag twice", ["run", "--kernel", stub, "--fs", "path=" + W + ",tag=t", "--fs", "path=" + W + ",tag=t"],
     USAGE, r"fs .*: tag 't' given twice$", False),
    ("fs without tag", ["run", "--kernel", stub, "--fs", "path=" + W], USAGE, r"--fs: tag=TAG is required$", False),
    ("config fs tag too long", ["run", "--config", f("fs.json", b'{"kernel": "k",\n "fs": [{"path": ".", "tag": "'
                                                      + b"t" * 33 + b'"}]}')],
     USAGE, r"fs\.json:2:\d+: fs\[0\]\.tag: longer than 32 bytes$", False),
    ("config vsock cid", ["run", "--config", f("vsock.json", b'{"kernel": "k",\n "vsock": {"cid": 1, "uds": "v"}}')],
     USAGE, r"vsock\.json:2:\d+: vsock\.cid: expected a whole number from 3 to 4294967294$", False),
    ("net empty tap", ["run", "--kernel", stub, "--net", "tap="], USAGE, r"empty tap name", False),
    ("net tap name too long", ["run", "--kernel", stub, "--net", "tap=a-very-long-tap-name"], USAGE,
     r"tap a-very-long-tap-name", False),
    ("net tap name with slash", ["run", "--kernel", stub, "--net", "tap=a/b"], USAGE, r"tap a/b", False),
    ("net bad MAC", ["run", "--kernel", stub, "--net", "tap=kvlx0,mac=zz:zz"], USAGE,
     r"invalid MAC 'zz:zz'", False),
    ("net multicast MAC", ["run", "--kernel", stub, "--net", "tap=kvlx0,mac=01:00:5e:00:00:01"], USAGE,
     r"invalid MAC", False),
    ("missing config", ["run", "--config", "/nonexistent/vm.json"], USAGE, r"/nonexistent/vm.json", False),
    ("config syntax error", ["run", "--config", f("syntax.json", b'{"kernel": "k",\n "cpus": 2,,}')], USAGE,
     r"syntax\.json:2:\d+:", False),
    ("config unknown key", ["run", "--config", f("unknown.json", b'{"kernel": "k",\n  "cpu": 2}')], USAGE,
     r"unknown\.json:2:3: cpu: unknown key", False),
    ("config wrong type", ["run", "--config", f("type.json", b'{"kernel": "k", "memory": true}')], USAGE,
     r"type\.json:1:\d+: memory: expected", False),
    ("config without kernel", ["run", "--config", f("nokernel.json", b'{"cpus": 2}')], USAGE,
     r'no "kernel" given', False),
    ("config is a directory", ["run", "--config", d], USAGE, r"adir: is a directory", False),
    ("config is a FIFO", ["run", "--config", fifo], USAGE, r"kvmlite: .*fifo: not a regular file", False),
    ("config is /dev/zero", ["run", "--config", "/dev/zero"], USAGE, r"kvmlite: /dev/zero: not a regular file",
     False),
    ("--serial to a FIFO without a reader", ["run", "--kernel", stub, "--serial", "file:" + fifo], USAGE,
     r"--serial file:.*fifo: a FIFO with no reader", False),
    # With a VM running: the exit paths restore the terminal.
    ("stub exits 42", ["run", "--kernel", EXIT_STUB], 42, None, True),
    ("--serial to a FIFO with a reader", ["run", "--kernel", EXIT_STUB, "--serial", "file:" + fifo], 42, None,
     True),
    ("disk locked by another kvmlite", ["run", "--kernel", EXIT_STUB, "--disk", "path=" + disk], USAGE,
     r"disk .*disk\.img: in use by another process", True),
    ("SIGTERM while running", ["run", "--kernel", HANG_STUB], STOPPED, r"VM stopped", True),
]


def run_case(argv, term_after=None, env=None):
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([KVMLITE] + argv, stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                         close_fds=True, env=env)
    try:
        if term_after:
            time.sleep(term_after)
            p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return None, b"", False
    finally:
        os.set_blocking(master, False)
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass
    restored = termios.tcgetattr(slave) == before
    os.close(slave)
    os.close(master)
    return p.returncode, err, restored


def hugepages_free():
    with open("/proc/meminfo") as m:
        for line in m:
            if line.startswith("HugePages_Free:"):
                return int(line.split()[1])
    return 0


# hugepages=on with a host pool too small for the guest: refused up front.
if hugepages_free() < 32:
    CASES.append(("--memory hugepages=on, pool too small",
                  ["run", "--kernel", stub, "--memory", "64M,hugepages=on"], USAGE,
                  r"guest memory \(64 MiB of huge pages\): the host's hugetlb pool has too few free 2M pages", True))
else:
    print("NOTE: bad_input: this host's hugetlb pool has room: the pool-too-small case is not run")


def main():
    passed = failed = skipped = 0
    holder = None
    # Someone listens on busy.sock ("vsock uds in use").
    busy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    busy.bind(os.path.join(W, "busy.sock"))
    busy.listen(1)
    for name, argv, status, pattern, needs_kvm in CASES:
        if needs_kvm and not HAVE_KVM:
            print(f"SKIP: bad_input: {name}: /dev/kvm is not usable here")
            skipped += 1
            continue
        if name.startswith("disk locked"):
            # Another kvmlite holds the image read-write.
            holder = subprocess.Popen([KVMLITE, "run", "--kernel", HANG_STUB, "--serial", "none",
                                       "--disk", "path=" + disk], stdin=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        reader = None
        if name == "--serial to a FIFO with a reader":
            reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        env = dict(os.environ, PATH="/nonexistent") if name == "net passt not installed" else None
        rc, err, restored = run_case(argv, 0.5 if name.startswith("SIGTERM") else None, env)
        if holder:
            holder.terminate()
            holder.wait(timeout=10)
            holder = None
        if reader is not None:
            os.close(reader)
        text = err.decode(errors="replace")
        lines = [l for l in text.splitlines() if l]
        problems = []
        if rc is None:
            problems.append("hung (killed after 20 s)")
        elif rc < 0:
            problems.append(f"crashed with signal {-rc}")
        elif rc != status:
            problems.append(f"status {rc}, expected {status}")
        if pattern is not None:
            if len(lines) != 1:
                problems.append(f"{len(lines)} lines on stderr, expected 1")
            if not re.search(pattern, text):
                problems.append(f"stderr lacks /{pattern}/")
            elif not lines[0].startswith("kvmlite: "):
                problems.append("message does not start with 'kvmlite: '")
        if not restored:
            problems.append("terminal settings not restored")
        if problems:
            failed += 1
            print(f"FAIL: bad_input: {name}: {'; '.join(problems)}; stderr: {text.strip()!r}")
        else:
            passed += 1
            print(f"ok: {name}: {status}" + (f": {lines[0]}" if lines else ""))
    print(f"bad_input: {passed} passed, {failed} failed, {skipped} skipped")
    subprocess.run(["rm", "-rf", W])
    if failed:
        return 1
    return 77 if skipped else 0


sys.exit(main())
