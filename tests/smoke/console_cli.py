#!/usr/bin/env python3
"""The kvmlite command with a console nobody reads stops at once.

Usage: console_cli.py KVMLITE SPEW_STUB

The spew stub prints on its UART forever. With kvmlite's stdout a pipe
that is never read, SIGTERM must still end it (status 82) within a bound;
with a terminal nobody reads, typing Ctrl-A x must do the same, and the
terminal's settings must be restored.
"""
import fcntl
import os
import pty
import signal
import subprocess
import sys
import termios
import time

KVMLITE, SPEW = sys.argv[1:3]
STOPPED = 82
LIMIT_S = 3.0  # the bug made these wait forever; they take milliseconds
fails = 0


def check(cond, msg):
    global fails
    if not cond:
        print("FAIL: " + msg, file=sys.stderr)
        fails += 1


def wait_exit(p, limit):
    t = time.monotonic()
    try:
        rc = p.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None, time.monotonic() - t
    return rc, time.monotonic() - t


def pipe_full(rfd, size, limit=20):
    """The writer can put no more in: within a page of full (small writes
    leave the last page part-filled) and no change for 300 ms."""
    end = time.monotonic() + limit
    last, same = -1, 0
    while time.monotonic() < end:
        n = int.from_bytes(fcntl.ioctl(rfd, termios.FIONREAD, b"\0\0\0\0"), "little")
        same = same + 1 if n == last else 0
        last = n
        if n >= size - 4096 and same >= 30:
            return True
        time.sleep(0.01)
    return False


if not os.access("/dev/kvm", os.R_OK | os.W_OK):
    print("SKIP: console_cli: /dev/kvm is not usable here", file=sys.stderr)
    sys.exit(77)

# stdout: a pipe nobody reads.
r, w = os.pipe()
size = fcntl.fcntl(w, 1032)  # F_GETPIPE_SZ
p = subprocess.Popen([KVMLITE, "run", "--kernel", SPEW], stdin=subprocess.DEVNULL,
                     stdout=w, stderr=subprocess.PIPE)
os.close(w)
check(pipe_full(r, size), "the pipe never filled")
time.sleep(0.5)
check(p.poll() is None, "kvmlite ended by itself")
p.send_signal(signal.SIGTERM)
rc, took = wait_exit(p, LIMIT_S)
err = p.stderr.read().decode(errors="replace")
check(rc == STOPPED, f"SIGTERM with an unread stdout pipe: status {rc} after {took:.1f} s, stderr {err!r}")
print(f"SIGTERM with an unread stdout pipe: status {rc} in {took * 1000:.0f} ms")
os.close(r)

# stdin and stdout: a terminal nobody reads; Ctrl-A x typed on it.
master, slave = pty.openpty()
before = termios.tcgetattr(slave)
p = subprocess.Popen([KVMLITE, "run", "--kernel", SPEW], stdin=slave, stdout=slave,
                     stderr=subprocess.PIPE)
time.sleep(3)  # far more than the terminal's buffer
check(p.poll() is None, "kvmlite ended by itself")
os.write(master, b"\x01x")
rc, took = wait_exit(p, LIMIT_S)
err = p.stderr.read().decode(errors="replace")
check(rc == STOPPED, f"Ctrl-A x with an unread terminal: status {rc} after {took:.1f} s, stderr {err!r}")
check(termios.tcgetattr(slave) == before, "the terminal was not restored")
print(f"Ctrl-A x with an unread terminal: status {rc} in {took * 1000:.0f} ms")
os.close(master)
os.close(slave)

if not fails:
    print("PASS: console_cli")
sys.exit(1 if fails else 0)
