#!/usr/bin/env python3
"""Snapshots through the command, on the local /dev/kvm, with the snapshot
stub (tests/stub/exit_stub.S, STUB_SNAPSHOT_EXIT): `kvmlite run
--snapshot-dir` takes the guest's snapshot (status 10), `kvmlite restore`
resumes it, twice (status 20, the guest's memory as it was), with its
disks, and every bad snapshot is refused with status 65 and one line
naming the file and the reason: truncated, corrupt, from another version
or format, another CPU, a memory file missing, short or of another
snapshot, a disk resized, missing, or an overlay disk's image modified.

Usage: snapshot_cli.py KVMLITE SNAP_STUB
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

KVMLITE, STUB = sys.argv[1:3]
USAGE, BAD, VMM_ERROR = 64, 65, 70
if not os.access("/dev/kvm", os.R_OK | os.W_OK):
    print("SKIP: snapshot_cli: /dev/kvm is not usable here", file=sys.stderr)
    sys.exit(77)
W = tempfile.mkdtemp(prefix="kvmlite-snapcli-", dir=os.environ.get("TMPDIR"))
fails = []


def run(args, timeout=60):
    p = subprocess.run([KVMLITE] + args, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), \
        p.stderr.decode(errors="replace")


def check(name, ok, why):
    if ok:
        print(f"PASS: snapshot_cli: {name}")
    else:
        print(f"FAIL: snapshot_cli: {name}: {why}", file=sys.stderr)
        fails.append(name)


def image(name, size=1 << 20):
    p = os.path.join(W, name)
    with open(p, "wb") as f:
        f.write(b"\x11" * size)
    return p


def snapshot(name, extra=()):
    d = os.path.join(W, name)
    rc, out, err = run(["run", "--kernel", STUB, "--memory", "32M",
                        "--snapshot-dir", d, *extra])
    check(f"{name}: the guest's snapshot", rc == 10 and
          "stub: booted" in out and os.path.isfile(f"{d}/state") and
          os.path.isfile(f"{d}/memory"), f"status {rc}, out {out!r}, "
          f"err {err!r}, files {os.listdir(d) if os.path.isdir(d) else None}")
    return d


def copy(src, name):
    d = os.path.join(W, name)
    shutil.copytree(src, d)
    return d


def sections(data):
    """(tag, index, payload offset, length) of each section."""
    off, out = 64, []
    while off < len(data):
        tag, index, length = struct.unpack_from("<IIQ", data, off)
        out.append((tag, index, off + 16, length))
        off += 16 + ((length + 7) & ~7)
    return out


def rewrite_state(d, fn):
    """fn(bytearray) edits the state file; the checksum is made right."""
    p = f"{d}/state"
    data = bytearray(open(p, "rb").read())
    fn(data)
    struct.pack_into("<I", data, 40, 0)
    struct.pack_into("<I", data, 40, zlib.crc32(bytes(data)))
    open(p, "wb").write(data)


def refused(name, d, pattern, extra=()):
    """A restore of @d fails with status 65 and one line matching."""
    rc, out, err = run(["restore", d, *extra])
    lines = err.strip().splitlines()
    check(f"refused: {name}", rc == BAD and len(lines) == 1 and
          lines[0].startswith("kvmlite: snapshot ") and
          re.search(pattern, lines[0]) is not None,
          f"status {rc}, stderr {err!r} (want /{pattern}/)")


base = snapshot("base")
for i in range(2):
    rc, out, err = run(["restore", base])
    check(f"restore {i + 1}", rc == 20 and "stub: restored 5a" in out and
          "booted" not in out, f"status {rc}, out {out!r}, err {err!r}")
rc, out, err = run(["restore", base, "--serial", "none",
                    "--boot-timing=json", "--no-seccomp"])
try:
    t = json.loads(err.strip().splitlines()[-1])
    ok = (rc == 20 and out == "" and t["first_run_us"] > 0 and
          t["guest_marker_us"] >= t["first_run_us"])
except (ValueError, IndexError, KeyError, TypeError):
    ok = False
check("restore --serial none --boot-timing=json", ok,
      f"status {rc}, out {out!r}, err {err!r}")

# Disks come back: a plain one and an overlay one, by their paths.
plain, over = image("plain.img"), image("over.img")
disks = snapshot("disks", ["--disk", f"path={plain}",
                           "--disk", f"path={over},overlay=on"])
rc, out, err = run(["restore", disks])
check("restore with disks", rc == 20 and "stub: restored 5a" in out,
      f"status {rc}, err {err!r}")

# A net on passt comes back on a new passt (format 1 recorded no passt,
# and its snapshot could not be restored).
if shutil.which("passt"):
    net = snapshot("passt", ["--net", "passt"])
    rc, out, err = run(["restore", net])
    check("restore with --net passt", rc == 20 and
          "stub: restored 5a" in out, f"status {rc}, err {err!r}")
else:
    print("SKIP: snapshot_cli: restore with --net passt: no passt in PATH "
          "(apt-get install passt)", file=sys.stderr)
    fails.append("passt (skipped)")

# ---- bad snapshots: status 65, one line naming the file ----
refused("no such directory", os.path.join(W, "nonexistent"),
        r"nonexistent: No such file or directory")
d = copy(base, "nostate")
os.unlink(f"{d}/state")
refused("no state file", d, r"nostate/state: No such file")
d = copy(base, "empty")
open(f"{d}/state", "wb").close()
refused("empty state file", d, r"empty/state: truncated")
d = copy(base, "short")
data = open(f"{d}/state", "rb").read()
open(f"{d}/state", "wb").write(data[:len(data) // 2])
refused("truncated state file", d, r"short/state: truncated")
d = copy(base, "corrupt")
data = bytearray(open(f"{d}/state", "rb").read())
data[len(data) // 2] ^= 0x40
open(f"{d}/state", "wb").write(data)
refused("a corrupt byte", d, r"corrupt/state: checksum mismatch")
d = copy(base, "magic")
data = bytearray(open(f"{d}/state", "rb").read())
data[0:8] = b"NOTASNAP"
open(f"{d}/state", "wb").write(data)
refused("not a snapshot", d, r"magic/state: not a kvmlite snapshot")
d = copy(base, "version")
data = bytearray(open(f"{d}/state", "rb").read())
data[16:32] = b"0.2.9".ljust(16, b"\0")
open(f"{d}/state", "wb").write(data)
refused("another kvmlite version", d,
        r"version/state: made by kvmlite 0\.2\.9; this is kvmlite ")
d = copy(base, "format")
data = bytearray(open(f"{d}/state", "rb").read())
struct.pack_into("<I", data, 8, 1)
open(f"{d}/state", "wb").write(data)
refused("another format", d, r"format/state: format 1 ")


def other_cpu(data):
    """vCPU 0's CPUID leaf 1 says another family."""
    for tag, index, off, length in sections(data):
        if tag == 3 and index == 0:
            nent = struct.unpack_from("<I", data, off + 4)[0]
            for e in range(nent):
                at = off + 8 + 40 * e
                fn, sub = struct.unpack_from("<II", data, at)
                if fn == 1 and sub == 0:
                    struct.pack_into("<I", data, at + 12,
                                     struct.unpack_from("<I", data,
                                                        at + 12)[0] ^ 0xf00)
                    return
    raise SystemExit("snapshot_cli: no CPUID leaf 1 in the state")


d = copy(base, "cpu")
rewrite_state(d, other_cpu)
refused("another CPU", d, r"taken on another CPU: CPUID leaf 0x1\.0 eax")
d = copy(base, "nomem")
os.unlink(f"{d}/memory")
refused("no memory file", d, r"nomem/memory: No such file")
d = copy(base, "shortmem")
os.truncate(f"{d}/memory", os.path.getsize(f"{d}/memory") - 4096)
refused("truncated memory file", d, r"shortmem/memory: truncated or padded")
d = copy(base, "othermem")
shutil.copy(f"{disks}/memory", f"{d}/memory")
refused("another snapshot's memory file", d,
        r"othermem/memory: belongs to another snapshot")
d = copy(disks, "resized")
os.truncate(plain, 2 << 20)
refused("a disk resized", d, r"disk .*plain\.img: its size changed since "
        r"the snapshot \(2097152 bytes, was 1048576\)")
os.truncate(plain, 1 << 20)
rc, out, err = run(["restore", disks])
check("the disk back at its size", rc == 20, f"status {rc}, err {err!r}")
with open(over, "r+b") as f:
    f.write(b"\x22")
refused("an overlay disk's image modified", disks,
        r"over\.img: modified since the snapshot")
os.unlink(over)
refused("a disk missing", disks, r"over\.img: No such file")

# ---- usage ----
for name, args, pattern in [
        ("restore without a directory", ["restore"], r"directory is required"),
        ("restore with a run option", ["restore", base, "--cpus", "2"],
         r"unknown option '--cpus'"),
        ("restore with two directories", ["restore", base, base],
         r"unexpected argument"),
        ("--snapshot-dir empty", ["run", "--kernel", STUB, "--snapshot-dir="],
         r"--snapshot-dir: empty path")]:
    rc, out, err = run(args)
    check(name, rc == USAGE and len(err.strip().splitlines()) == 1 and
          re.search(pattern, err) is not None, f"status {rc}, err {err!r}")
afile = image("afile", 10)
rc, out, err = run(["run", "--kernel", STUB, "--snapshot-dir", afile])
check("--snapshot-dir naming a file", rc == USAGE and
      "snapshot directory" in err and "Not a directory" in err,
      f"status {rc}, err {err!r}")

# A snapshot the guest asks for that cannot be written stops the VM.
d = os.path.join(W, "blocked")
os.makedirs(f"{d}/memory.new")
rc, out, err = run(["run", "--kernel", STUB, "--memory", "32M",
                    "--snapshot-dir", d])
check("a snapshot that fails", rc == VMM_ERROR and
      f"snapshot {d}: memory: Is a directory" in err and
      not os.path.exists(f"{d}/state"), f"status {rc}, err {err!r}")

if fails:
    print(f"snapshot_cli: {len(fails)} failed; scratch kept in {W}",
          file=sys.stderr)
    sys.exit(1)
shutil.rmtree(W)
print("PASS: snapshot_cli")
