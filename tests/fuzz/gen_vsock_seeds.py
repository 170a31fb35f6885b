#!/usr/bin/env python3
"""Seeds for fuzz_virtq_vsock and fuzz_virtq_rng (fuzz_layout.h format):
   tests/fuzz/gen_vsock_seeds.py tests/fuzz/corpus"""
import os
import struct
import sys

CID = 3


def layout(log2):
    size = 1 << log2
    desc, avail = 0, 16 * size
    used = (avail + 6 + 2 * size + 3) & ~3
    return size, desc, avail, used


def ring(log2, chains, flags=0, line=b""):
    """chains: lists of (gpa, len, write); payloads: {gpa: bytes}."""
    size, desc, avail, used = layout(log2)
    mem = bytearray(0x3000)
    d = 0
    heads = []
    for chain in chains:
        heads.append(d)
        for i, (gpa, ln, wr) in enumerate(chain):
            fl = (2 if wr else 0) | (1 if i + 1 < len(chain) else 0)
            struct.pack_into("<QIHH", mem, desc + 16 * d, gpa, ln, fl, (d + 1) % size)
            d += 1
    struct.pack_into("<HH", mem, avail, 0, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into("<H", mem, avail + 4 + 2 * i, h)
    return bytes([log2, flags, len(line), 0]) + bytes(mem), line


def pkt(src_port, dst_port, op, data=b"", length=None, typ=1, flags=0, src_cid=CID):
    ln = len(data) if length is None else length
    return struct.pack("<QQIIIHHIII", src_cid, 2, src_port, dst_port, ln, typ, op, flags,
                       65536, 0) + data


def vsock_seed(name, pkts, line=b"", log2=4):
    base = 0x1000
    chains, payload = [], {}
    for p in pkts:
        chains.append([(base, len(p), False)])
        payload[base] = p
        base += (len(p) + 63) & ~63
    hdr, line = ring(log2, chains, 0, line)
    mem = bytearray(hdr)
    for gpa, p in payload.items():
        mem[4 + gpa:4 + gpa + len(p)] = p
    return bytes(mem) + line


def main():
    out = sys.argv[1]
    v = os.path.join(out, "fuzz_virtq_vsock")
    r = os.path.join(out, "fuzz_virtq_rng")
    seeds = {
        "connect_rw": vsock_seed("connect_rw", [pkt(5000, 1, 1), pkt(5000, 1, 5, b"hello"),
                                               pkt(5000, 1, 7), pkt(5000, 1, 4, flags=3)]),
        "host_line": vsock_seed("host_line", [pkt(77, 1 << 30, 2), pkt(77, 1 << 30, 5, b"x" * 100)],
                                line=b"CONNECT 77\n"),
        "bad": vsock_seed("bad", [pkt(1, 2, 99), pkt(1, 2, 1, typ=2), pkt(1, 2, 5, b"a", length=4000),
                                  pkt(1, 2, 1, src_cid=9), pkt(3, 4, 3)]),
        "nobody": vsock_seed("nobody", [pkt(100 + i, 900, 1) for i in range(12)]),
    }
    for name, data in seeds.items():
        with open(os.path.join(v, name), "wb") as f:
            f.write(data)
    # rng: writable chains of a few sizes.
    for name, chains in {
        "small": [[(0x1000, 64, True)], [(0x2000, 32, True)]],
        "big": [[(0x1000, 0x10000, True), (0x20000, 0x10000, True)]],
        "readable": [[(0x1000, 64, False)], [(0x2000, 16, True)]],
    }.items():
        hdr, _ = ring(3, chains, 2 if name == "big" else 0)
        with open(os.path.join(r, name), "wb") as f:
            f.write(hdr)


if __name__ == "__main__":
    main()
