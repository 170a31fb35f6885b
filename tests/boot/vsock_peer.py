#!/usr/bin/env python3
"""The host's end of kvmlite's hybrid vsock (Firecracker's protocol), for
the boot tests and bench/net. Each mode prints one line on success and
exits 1 with a message otherwise:

  send UDS PORT FILE [SECS]  connect to UDS, "CONNECT PORT", wait for "OK N"
                             (retrying while the guest says no, up to SECS,
                             default 60), send FILE, shut the write side,
                             read to EOF: VSOCK-SENT port=P host_port=N bytes=B
  recv PATH FILE             listen on PATH (UDS_P for a guest connecting to
                             port P), take one connection, write what comes
                             to FILE: VSOCK-RECV sha256=H bytes=B
  hold UDS PORT [SECS]       connect to a guest listener that never accepts,
                             then send until nothing moves for 3 s:
                             VSOCK-HOLD ok sent=B (B must stay bounded)
  refused UDS PORT           CONNECT to a port nobody listens on: the socket
                             must close without "OK": VSOCK-REFUSED ok
  greet PATH                 listen on PATH, take one connection (within
                             120 s), send "HELLO\\n", read to EOF:
                             VSOCK-GREETED bytes=B (B received)
"""
import hashlib
import os
import socket
import sys
import time


def fail(msg):
    print(f"VSOCK-PEER-FAIL {msg}", flush=True)
    sys.exit(1)


def connect(uds, port, secs=60.0):
    """A socket past the "OK" line, and the host port it named."""
    deadline = time.monotonic() + secs
    last = "no try"
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(uds)
        except OSError as e:
            last = f"connect: {e}"
            s.close()
            time.sleep(0.2)
            continue
        s.sendall(f"CONNECT {port}\n".encode())
        line = b""
        while not line.endswith(b"\n"):
            b = s.recv(1)
            if not b:
                break
            line += b
        if line.startswith(b"OK ") and line.endswith(b"\n"):
            return s, int(line[3:])
        last = f"answer {line!r}"
        s.close()
        time.sleep(0.2)
    fail(f"port {port}: no OK within {secs}s ({last})")


def listen_uds(path):
    """A listening Unix socket at @path, replacing what was there."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(1)
    return ls


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "send":
        uds, port, path = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        secs = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
        s, host_port = connect(uds, port, secs)
        n = 0
        with open(path, "rb") as f:
            while True:
                b = f.read(65536)
                if not b:
                    break
                s.sendall(b)
                n += len(b)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
        print(f"VSOCK-SENT port={port} host_port={host_port} bytes={n}", flush=True)
    elif mode == "recv":
        path, out = sys.argv[2], sys.argv[3]
        c, _ = listen_uds(path).accept()
        h = hashlib.sha256()
        n = 0
        with open(out, "wb") as f:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                h.update(b)
                f.write(b)
                n += len(b)
        print(f"VSOCK-RECV sha256={h.hexdigest()} bytes={n}", flush=True)
    elif mode == "greet":
        path = sys.argv[2]
        ls = listen_uds(path)
        ls.settimeout(120)
        try:
            c, _ = ls.accept()
        except socket.timeout:
            fail(f"{path}: nobody connected within 120 s")
        c.sendall(b"HELLO\n")
        n = 0
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
        print(f"VSOCK-GREETED bytes={n}", flush=True)
    elif mode == "hold":
        uds, port = sys.argv[2], int(sys.argv[3])
        secs = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
        s, _ = connect(uds, port, secs)
        s.setblocking(False)
        sent, idle_since, chunk = 0, time.monotonic(), b"x" * 65536
        while time.monotonic() - idle_since < 3:
            try:
                sent += s.send(chunk)
                idle_since = time.monotonic()
            except BlockingIOError:
                time.sleep(0.05)
        print(f"VSOCK-HOLD ok sent={sent}", flush=True)
        s.close()
    elif mode == "refused":
        uds, port = sys.argv[2], int(sys.argv[3])
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(uds)
        s.settimeout(30)
        s.sendall(f"CONNECT {port}\n".encode())
        got = s.recv(64)
        if got:
            fail(f"port {port}: nobody listens, yet the answer was {got!r}")
        print("VSOCK-REFUSED ok", flush=True)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
