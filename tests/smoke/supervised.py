#!/usr/bin/env python3
"""kvmlite as a supervised process (docs/fleets.md): what an orchestrator
(Nomad's exec driver, a Kubernetes pod, systemd) relies on.

- stdout carries the guest's console only; stderr only "kvmlite: " lines;
- stdin at EOF (/dev/null, as supervisors give) does not end or spin it;
- SIGTERM, SIGINT, SIGHUP, SIGQUIT end it with 82 within a second and
  remove the API socket; SIGUSR1 dumps its state and it runs on; SIGPWR
  presses the power button and it runs on (the stub ignores it);
- the guest's test-exit value is the status; a configuration error is 64
  with one line; vmm.shutdown on the API socket is 82;
- after SIGKILL the stale socket is replaced by the next start (a
  restart policy works).

Usage: supervised.py KVMLITE ECHO_STUB HANG_STUB
"""
import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

kvmlite, echo, hang = sys.argv[1:4]
tmp = tempfile.mkdtemp(prefix="supervised.")
sock = os.path.join(tmp, "api.sock")


PROCS = []  # every kvmlite started, killed on a failure


@atexit.register
def _kill_left():
    for p in PROCS:
        if p.poll() is None:
            p.kill()



def fail(msg):
    print(f"FAIL: supervised: {msg}", file=sys.stderr)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    sys.exit(1)


def api(method, endpoint):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock)
    s.sendall(f"{method} /api/v1/{endpoint} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def start(kernel, stdin=subprocess.DEVNULL, extra=()):
    p = subprocess.Popen([kvmlite, "run", "--kernel", kernel, "--api-socket", sock, *extra],
                         stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    PROCS.append(p)
    for _ in range(200):
        try:  # listening (a stale socket at the path does not count)
            socket.socket(socket.AF_UNIX).connect(sock)
            return p
        except OSError:
            pass
        if p.poll() is not None:
            fail(f"ended early ({p.returncode}): {p.stderr.read().decode()}")
        time.sleep(0.025)
    fail("no API socket after 5 s")


def finish(p, status, within=2.0):
    try:
        out, err = p.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        p.kill()
        fail(f"still running {within} s after it was told to end")
    if p.returncode != status:
        fail(f"status {p.returncode}, expected {status}; stderr: {err.decode()}")
    for line in err.decode().splitlines():
        if not line.startswith("kvmlite: "):
            fail(f"a stderr line without the 'kvmlite: ' prefix: {line!r}")
    return out.decode(errors="replace"), err.decode()


if not os.access("/dev/kvm", os.R_OK | os.W_OK):
    print("SKIP: no usable /dev/kvm")
    sys.exit(77)

# Each stopping signal: 82, quickly, the socket gone. stdin is /dev/null.
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
    p = start(hang)
    time.sleep(0.3)  # EOF on stdin must not end it
    if p.poll() is not None:
        fail(f"ended at stdin EOF with {p.returncode}")
    t0 = time.monotonic()
    p.send_signal(sig)
    out, err = finish(p, 82, within=2.0)
    if time.monotonic() - t0 > 1.0:
        fail(f"{sig.name}: took {time.monotonic() - t0:.2f} s")
    if out != "stub: hello from the guest\n":
        fail(f"stdout is not just the console: {out!r}")
    if err.strip().splitlines()[-1:] != ["kvmlite: VM stopped"]:
        fail(f"{sig.name}: stderr {err!r}")
    if os.path.exists(sock):
        fail(f"{sig.name}: the API socket was left behind")
print("PASS: SIGTERM, SIGINT, SIGHUP, SIGQUIT: status 82 within 1 s, socket removed, stdin EOF ignored")

# SIGUSR1 and SIGPWR: it runs on and still answers; input still reaches it.
p = start(echo, stdin=subprocess.PIPE)
os.set_blocking(p.stdout.fileno(), False)


def echoed(text, timeout=5.0):
    p.stdin.write(text.encode())
    p.stdin.flush()
    buf, t0 = b"", time.monotonic()
    while text.encode() not in buf:
        if time.monotonic() - t0 > timeout:
            fail(f"no echo of {text!r}: {buf!r}")
        try:
            buf += os.read(p.stdout.fileno(), 4096)
        except BlockingIOError:
            time.sleep(0.01)


echoed("before\n")
p.send_signal(signal.SIGUSR1)
p.send_signal(signal.SIGPWR)
time.sleep(0.5)
if p.poll() is not None:
    fail(f"SIGUSR1/SIGPWR ended it: {p.returncode}")
echoed("after\n")
code, body = api("GET", "vm.info")
if code != 200 or json.loads(body)["state"] != "Running":
    fail(f"vm.info after the signals: {code} {body!r}")
code, _ = api("PUT", "vmm.shutdown")
out, err = finish(p, 82)
if "kvmlite: dump: vcpu0:" not in err or "kvmlite: VM stopped (vmm.shutdown on the API socket)" not in err:
    fail(f"stderr lacks the dump or the shutdown line: {err!r}")
print("PASS: SIGUSR1 dumps, SIGPWR presses the button, it runs on; vmm.shutdown is 82")

# The guest's verdict is the status: test-exit 9 typed into the echo stub.
p = start(echo, stdin=subprocess.PIPE)
p.stdin.write(b"x\x09")
p.stdin.flush()
out, err = finish(p, 9, within=5.0)
if err:
    fail(f"a clean test-exit printed on stderr: {err!r}")
print("PASS: test-exit 9 is status 9, nothing on stderr")

# SIGKILL leaves a stale socket; a restart replaces it.
p = start(hang)
p.kill()
p.wait()
if not os.path.exists(sock):
    fail("no stale socket after SIGKILL (the test needs one)")
p = start(hang)
code, _ = api("GET", "vmm.ping")
if code != 200:
    fail(f"restarted on a stale socket: ping {code}")
p.terminate()
finish(p, 82)
print("PASS: after SIGKILL, a restart replaces the stale socket")

# A configuration error: 64, one line, no socket left.
r = subprocess.run([kvmlite, "run", "--kernel", hang, "--cpus", "0", "--api-socket", sock],
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
if r.returncode != 64 or len(r.stderr.decode().splitlines()) != 1 or r.stdout:
    fail(f"bad --cpus: {r.returncode} {r.stderr!r}")
if os.path.exists(sock):
    fail("a configuration error left the socket")
os.rmdir(tmp)
print("PASS: a configuration error is status 64 with one line, and no socket")
