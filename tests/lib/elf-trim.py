#!/usr/bin/env python3
"""elf-trim.py IN OUT: a copy of the ELF vmlinux IN whose loadable segments
no longer carry their trailing zero bytes in the file (p_filesz shortened:
a loader zero-fills up to p_memsz, as for any .bss), cut after the last
segment, with no section headers (no loader reads them). Debian's vmlinux
stores .bss, .brk and .init.scratch as 21 MiB of zeros: every boot of the
test host read them over 9p."""
import struct
import sys


def main(src, dst):
    data = bytearray(open(src, "rb").read())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit(f"elf-trim: {src}: not a little-endian ELF64 file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    end = phoff + phentsize * phnum
    for i in range(phnum):
        at = phoff + i * phentsize
        p_type, = struct.unpack_from("<I", data, at)
        off, = struct.unpack_from("<Q", data, at + 8)
        filesz, = struct.unpack_from("<Q", data, at + 32)
        if p_type == 1:  # PT_LOAD
            seg = data[off:off + filesz]
            filesz = len(seg.rstrip(b"\0"))
            struct.pack_into("<Q", data, at + 32, filesz)
        end = max(end, off + filesz)
    struct.pack_into("<QHHH", data, 0x28, 0, 0, 0, 0)  # e_shoff, ...
    struct.pack_into("<H", data, 0x3e, 0)  # e_shstrndx
    with open(dst, "wb") as f:
        f.write(data[:end])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: elf-trim.py IN OUT")
    main(sys.argv[1], sys.argv[2])
