#!/usr/bin/env python3
"""The host end of the network boot tests, run inside the test host.

net_peer.py recv PORT OUT   accept one connection, store what arrives in OUT
net_peer.py send PORT FILE  accept one connection, send FILE, close
Prints "PEER-SHA256 <hex>" of the bytes received or sent, then exits.
"""
import hashlib
import socket
import sys


def main():
    mode, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    srv.settimeout(600)
    conn, _ = srv.accept()
    conn.settimeout(600)
    h = hashlib.sha256()
    if mode == "recv":
        with open(path, "wb") as f:
            while True:
                b = conn.recv(1 << 16)
                if not b:
                    break
                h.update(b)
                f.write(b)
    else:
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 16)
                if not b:
                    break
                h.update(b)
                conn.sendall(b)
        conn.shutdown(socket.SHUT_WR)
    conn.close()
    print("PEER-SHA256", h.hexdigest(), flush=True)


main()
