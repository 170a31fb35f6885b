#!/usr/bin/env python3
"""Bad variants of a real snapshot, each refused by `kvmlite restore` with
status 65 and one line naming the file and the reason (run in the test
host by tests/boot/test_snapshot.sh, next to the snapshot it took).

Usage: snapshot_bad.py SNAPSHOT_DIR OVERLAY_DISK_IMAGE

A variant is a new directory whose state file is an edited copy (the
checksum made right where the edit is not about it) and whose other files
are symlinks to the snapshot's, or small sparse files of their own.
Prints "snapshot_bad: NAME: refused: LINE" per case, then PASS or FAIL.
"""
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

SNAP, DISK = sys.argv[1:3]
work = tempfile.mkdtemp(prefix="kvmlite-snapbad-")
fails = 0


def variant(name, state=None, memory=None):
    d = os.path.join(work, name)
    os.mkdir(d)
    for f in os.listdir(SNAP):
        if f not in ("state", "memory") or (f == "state" and state is None) \
                or (f == "memory" and memory is None):
            os.symlink(os.path.join(SNAP, f), os.path.join(d, f))
    if state is not None:
        open(os.path.join(d, "state"), "wb").write(state)
    if memory is not None:
        memory(os.path.join(d, "memory"))
    return d


def fixed(data):
    data = bytearray(data)
    struct.pack_into("<I", data, 40, 0)
    struct.pack_into("<I", data, 40, zlib.crc32(bytes(data)))
    return bytes(data)


def refused(name, d, pattern):
    global fails
    p = subprocess.run(["kvmlite", "restore", d, "--serial", "none"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    lines = p.stderr.decode(errors="replace").strip().splitlines()
    if p.returncode == 65 and len(lines) == 1 and re.search(pattern,
                                                            lines[0]):
        print(f"snapshot_bad: {name}: refused: {lines[0]}")
    else:
        print(f"FAIL: snapshot_bad: {name}: status {p.returncode}, "
              f"stderr {lines!r}, want /{pattern}/")
        fails += 1


state = open(os.path.join(SNAP, "state"), "rb").read()
mem_size = os.path.getsize(os.path.join(SNAP, "memory"))
header = open(os.path.join(SNAP, "memory"), "rb").read(4096)

refused("truncated state", variant("short", state[:len(state) // 2]),
        r"short/state: truncated")
corrupt = bytearray(state)
corrupt[len(corrupt) // 3] ^= 0x10
refused("a corrupt byte", variant("corrupt", bytes(corrupt)),
        r"corrupt/state: checksum mismatch")
other = bytearray(state)
other[16:32] = b"0.0.1".ljust(16, b"\0")
refused("another kvmlite version", variant("version", fixed(other)),
        r"version/state: made by kvmlite 0\.0\.1; this is kvmlite")


def other_cpu(data):
    """vCPU 0's CPUID leaf 0 names another vendor."""
    data, off = bytearray(data), 64
    while off < len(data):
        tag, index, length = struct.unpack_from("<IIQ", data, off)
        if tag == 3 and index == 0:
            nent = struct.unpack_from("<I", data, off + 20)[0]
            for e in range(nent):
                at = off + 24 + 40 * e
                if struct.unpack_from("<II", data, at) == (0, 0):
                    data[at + 16:at + 20] = b"Bad!"  # ebx
                    return fixed(data)
        off += 16 + ((length + 7) & ~7)
    raise SystemExit("snapshot_bad: no CPUID leaf 0 in the state")


refused("another CPU", variant("cpu", other_cpu(state)),
        r"taken on another CPU: CPUID leaf 0x0\.0 ebx")


def short_memory(path):
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(mem_size - 4096)


def foreign_memory(path):
    h = bytearray(header)
    h[8] ^= 0xff  # the snapshot id
    with open(path, "wb") as f:
        f.write(h)
        f.truncate(mem_size)


refused("truncated memory file", variant("shortmem", memory=short_memory),
        r"shortmem/memory: truncated or padded")
refused("another snapshot's memory file",
        variant("othermem", memory=foreign_memory),
        r"othermem/memory: belongs to another snapshot")

st = os.stat(DISK)
with open(DISK, "r+b") as f:
    f.truncate(st.st_size + (1 << 20))
refused("the disk resized", SNAP, r"disk .*: its size changed since the "
        r"snapshot \(%d bytes, was %d\)" % (st.st_size + (1 << 20),
                                            st.st_size))
with open(DISK, "r+b") as f:
    f.truncate(st.st_size)
os.utime(DISK, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
refused("the overlay disk's image modified", SNAP,
        r"disk .*: modified since the snapshot")
os.utime(DISK, ns=(st.st_atime_ns, st.st_mtime_ns))

subprocess.run(["rm", "-rf", work])
if fails:
    print(f"FAIL: snapshot_bad: {fails} cases")
    sys.exit(1)
print("PASS: snapshot_bad")
