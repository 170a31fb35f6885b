#!/usr/bin/env python3
"""The host's end of bench/net's vsock rows, in the test host, for both
VMMs: kvmlite's hybrid vsock (Unix sockets: "unix:PATH") and QEMU's
vhost-vsock (AF_VSOCK: "vsock:CID"). Prints one line per direction:

  sink ADDR PORT         take one connection from the guest (to CID 2
                         PORT: kvmlite's PATH_PORT, or AF_VSOCK PORT) and
                         read it to EOF: VSOCKBENCH dir=g2h bytes=B secs=S
                         (first byte to EOF)
  source ADDR PORT MIB   connect to the guest's PORT (retrying while it is
                         not listening yet) and send MIB MiB:
                         VSOCKBENCH dir=h2g-sender bytes=B secs=S
"""
import os
import socket
import sys
import time


def sink(addr, port):
    if addr.startswith("unix:"):
        path = f"{addr[5:]}_{port}"
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
    else:
        ls = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        ls.bind((socket.VMADDR_CID_ANY, port))
    ls.listen(1)
    print("VSOCKBENCH-LISTENING", flush=True)
    c, _ = ls.accept()
    n, t0 = 0, None
    buf = bytearray(1 << 20)
    while True:
        k = c.recv_into(buf)
        if not k:
            break
        if t0 is None:
            t0 = time.monotonic()
        n += k
    secs = time.monotonic() - t0 if t0 else 0.0
    print(f"VSOCKBENCH dir=g2h bytes={n} secs={secs:.3f}", flush=True)


def connect(addr, port, deadline):
    while time.monotonic() < deadline:
        try:
            if addr.startswith("unix:"):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(addr[5:])
                s.sendall(f"CONNECT {port}\n".encode())
                line = b""
                while not line.endswith(b"\n"):
                    b = s.recv(1)
                    if not b:
                        raise ConnectionRefusedError("no OK")
                    line += b
                if not line.startswith(b"OK "):
                    raise ConnectionRefusedError(line)
            else:
                s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
                s.connect((int(addr[6:]), port))
            return s
        except OSError:
            s.close()
            time.sleep(0.2)
    sys.exit(f"vsock_host: no connection to port {port}")


def source(addr, port, mib):
    s = connect(addr, port, time.monotonic() + 120)
    chunk = b"k" * (1 << 20)
    t0 = time.monotonic()
    for _ in range(mib):
        s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    secs = time.monotonic() - t0
    while s.recv(65536):
        pass
    print(f"VSOCKBENCH dir=h2g-sender bytes={mib << 20} secs={secs:.3f}",
          flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "sink":
        sink(sys.argv[2], int(sys.argv[3]))
    else:
        source(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
