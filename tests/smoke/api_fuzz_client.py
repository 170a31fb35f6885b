#!/usr/bin/env python3
"""The API socket against a fuzzing client, while the guest is typed at.

kvmlite runs the echo stub (tests/stub/exit_stub.S, STUB_ECHO) with its
console on pipes, --api-socket and --snapshot-dir (among the valid
requests fuzzed is a vm.snapshot there, which pauses the guest). A typist thread sends a line every
50 ms and times its echo; meanwhile clients send random bytes, truncated
and mutated requests, headers and bodies far over the limits, bytes one at
a time with pauses, and hold every connection slot idle. Asserted: every
reply is well-formed HTTP with a JSON error for 4xx/5xx, the guest's echo
never waits more than ECHO_MAX_S, the server answers again once the abuse
ends, and vmm.shutdown still ends kvmlite with 82. Everything is bounded
(counts and deadlines) and stays on this machine's Unix socket.

Usage: api_fuzz_client.py KVMLITE ECHO_STUB [SEED]
"""
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ECHO_MAX_S = 2.0
VALID = [
    b"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /api/v1/vm.info HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /api/v1/vm.counters HTTP/1.1\r\nHost: x\r\n\r\n",
    b"PUT /api/v1/vm.snapshot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 39\r\n\r\n{\"destination_url\": \"file:///tmp/snap\"}",
    b"PUT /api/v1/vm.snapshot HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n",
    b"GET /api/v1/vm.nothing?x=1 HTTP/1.0\r\n\r\n",
    b"PUT /api/v1/vm.power-button HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
]
STATUS = re.compile(rb"^HTTP/1\.1 (\d{3}) [^\r\n]*\r\n")


PROCS = []  # kvmlite, killed on a failure


def fail(msg):
    print(f"FAIL: api_fuzz_client: {msg}", file=sys.stderr)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    sys.exit(1)


def connect(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def read_all(s, limit=1 << 20):
    data = b""
    try:
        while len(data) < limit:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def check_replies(data, what):
    """Every reply in @data: a status line, headers, a JSON body on errors."""
    while data:
        m = STATUS.match(data)
        if not m:
            fail(f"{what}: not an HTTP reply: {data[:80]!r}")
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            fail(f"{what}: reply without end of headers: {data[:120]!r}")
        code = int(m.group(1))
        length = re.search(rb"\r\nContent-Length: (\d+)\r\n", head + b"\r\n")
        n = int(length.group(1)) if length else 0
        body, data = rest[:n], rest[n:]
        if len(body) != n:
            return  # cut short by a close we caused: fine
        if code >= 400:
            try:
                j = json.loads(body)
            except ValueError:
                fail(f"{what}: {code} without a JSON body: {body!r}")
            if not isinstance(j.get("error"), str):
                fail(f"{what}: {code} body lacks an error: {body!r}")
        elif code not in (200, 204):
            fail(f"{what}: unexpected status {code}")


def request(path, raw, what, timeout=5.0):
    s = connect(path, timeout)
    try:
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
        data = read_all(s)
    except (BrokenPipeError, ConnectionResetError):
        data = b""  # closed on us mid-send (over a limit): fine
    finally:
        s.close()
    check_replies(data, what)
    return data


def cpu_seconds(pid):
    """User + system CPU of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mutate(rng, raw):
    b = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(4)
        if op == 0 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1:
            b.insert(rng.randrange(len(b) + 1), rng.randrange(256))
        elif op == 2 and b:
            del b[rng.randrange(len(b))]
        else:
            i = rng.randrange(len(b) + 1)
            b[i:i] = rng.choice([b"\r\n", b":", b" ", b"\0", b"%", b"9" * 30])
    return bytes(b)


def main():
    kvmlite, stub = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time())
    rng = random.Random(seed)
    print(f"seed {seed}")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: no usable /dev/kvm")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="api_fuzz.")
    path = os.path.join(tmp, "api.sock")
    snaps = os.path.join(tmp, "snaps")
    body = json.dumps({"destination_url": "file://" + snaps}).encode()
    snapshot = (b"PUT /api/v1/vm.snapshot HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body)
    VALID.append(snapshot)
    p = subprocess.Popen([kvmlite, "run", "--kernel", stub, "--api-socket", path,
                          "--snapshot-dir", snaps],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    PROCS.append(p)
    for _ in range(100):
        if os.path.exists(path) or p.poll() is not None:
            break
        time.sleep(0.05)
    if not os.path.exists(path):
        fail(f"no socket: {p.stderr.read().decode(errors='replace')}")

    worst = [0.0]
    typist_error = []
    stop = threading.Event()

    def typist():
        """Types a numbered line every 50 ms and waits for its echo."""
        buf = b""
        os.set_blocking(p.stdout.fileno(), False)
        n = 0
        while not stop.is_set():
            line = f"line{n}\n".encode()
            t0 = time.monotonic()
            p.stdin.write(line)
            p.stdin.flush()
            while line not in buf:
                if time.monotonic() - t0 > 10:
                    typist_error.append(f"no echo of {line!r} in 10 s")
                    return
                try:
                    chunk = os.read(p.stdout.fileno(), 4096)
                except BlockingIOError:
                    chunk = b""
                if chunk:
                    buf = buf[-4096:] + chunk
                else:
                    time.sleep(0.002)
            worst[0] = max(worst[0], time.monotonic() - t0)
            n += 1
            time.sleep(0.05)

    t = threading.Thread(target=typist)
    t.start()
    counts = {}

    def count(k):
        counts[k] = counts.get(k, 0) + 1

    try:
        # 1. Valid requests, truncated at every length and mutated.
        for _ in range(300):
            raw = rng.choice(VALID)
            r = rng.random()
            if r < 0.3:
                raw = raw[: rng.randrange(len(raw) + 1)]
                count("truncated")
            elif r < 0.8:
                raw = mutate(rng, raw)
                count("mutated")
            else:
                raw = raw * rng.randint(2, 5)  # pipelined
                count("pipelined")
            request(path, raw, "fuzzed request", timeout=2.0)
        # 2. Pure garbage.
        for _ in range(100):
            raw = bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000)))
            request(path, raw, "garbage", timeout=2.0)
            count("garbage")
        # 3. Over every limit.
        big = [
            (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n", 414),
            (b"GET /api/v1/vmm.ping HTTP/1.1\r\n" + b"X-Big: " + b"b" * 100000 + b"\r\n\r\n", 431),
            (b"GET /api/v1/vmm.ping HTTP/1.1\r\n" + b"X: y\r\n" * 5000 + b"\r\n", 431),
            (b"PUT /api/v1/vm.snapshot HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n", 413),
            (b"PUT /api/v1/vm.snapshot HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             + b"1000\r\n" + b"z" * 4096 + b"\r\n" + b"1000\r\n" + b"z" * 4096 + b"\r\n0\r\n\r\n", 413),
        ]
        for raw, want in big:
            data = request(path, raw, f"over a limit ({want})")
            m = STATUS.match(data)
            if not m or int(m.group(1)) != want:
                fail(f"over a limit: expected {want}, got {data[:60]!r}")
            count("over-limit")
        # 4. A slow client: a request one byte every 0.2 s still works.
        s = connect(path, 10)
        for ch in VALID[0]:
            s.send(bytes([ch]))
            time.sleep(0.2 if rng.random() < 0.05 else 0.005)
        data = s.recv(65536)
        s.close()
        if not data.startswith(b"HTTP/1.1 200"):
            fail(f"slow client: {data[:60]!r}")
        count("slow")
        # 5. Every slot held idle, plus more: newcomers get 503 at once,
        # and the idle ones are timed out with a 408.
        held = [connect(path, 15) for _ in range(32)]
        time.sleep(0.2)
        # (It is answered and closed at once: nothing to send.)
        s = connect(path, 5)
        extra = read_all(s)
        s.close()
        check_replies(extra, "connection 33")
        if not extra.startswith(b"HTTP/1.1 503"):
            fail(f"connection 33: {extra[:60]!r}")
        t0 = time.monotonic()
        timed_out = 0
        for s in held:
            data = read_all(s)
            s.close()
            if data.startswith(b"HTTP/1.1 408"):
                timed_out += 1
        waited = time.monotonic() - t0
        if timed_out != 32 or waited > 14:
            fail(f"idle connections: {timed_out} of 32 got 408, after {waited:.1f} s")
        count("idle-timeout")
        # 6. A client that asks much and never reads, then half-closes:
        # its replies wait in a bounded buffer, the server stops reading
        # it, and it costs no CPU while it waits for its deadline (the
        # polling echo stub's own CPU is measured first, for comparison).
        cpu0 = cpu_seconds(p.pid)
        time.sleep(2)
        baseline = cpu_seconds(p.pid) - cpu0
        s = connect(path, 5)
        s.setblocking(False)
        sent = 0
        try:
            for _ in range(4000):
                sent += s.send(VALID[0])
        except BlockingIOError:
            pass
        s.shutdown(socket.SHUT_WR)
        cpu0 = cpu_seconds(p.pid)
        time.sleep(2)
        spent = cpu_seconds(p.pid) - cpu0
        s.close()
        if spent > baseline + 0.3:
            fail(f"a client that does not read: {spent:.2f} s of CPU in 2 s, {baseline:.2f} s without it")
        count("no-reader")
        # 7. Many short connections at once, from threads.
        errs = []

        def burst():
            try:
                for _ in range(20):
                    d = request(path, VALID[0], "burst", timeout=10)
                    if not re.match(rb"HTTP/1\.1 (200|503)", d):
                        errs.append(d[:60])
            except OSError as e:
                errs.append(repr(e))

        ths = [threading.Thread(target=burst) for _ in range(16)]
        for x in ths:
            x.start()
        for x in ths:
            x.join(60)
        if errs:
            fail(f"burst: {errs[:3]}")
        count("burst")
    finally:
        stop.set()
        t.join(15)
    if typist_error:
        fail(typist_error[0])
    if worst[0] > ECHO_MAX_S:
        fail(f"the guest's echo took {worst[0]:.2f} s at worst (> {ECHO_MAX_S} s)")
    if p.poll() is not None:
        fail(f"kvmlite ended (status {p.returncode}): {p.stderr.read().decode(errors='replace')}")
    # The server is fine afterwards: info, then the end.
    d = request(path, VALID[1], "final info")
    if not d.startswith(b"HTTP/1.1 200") or b'"state":"Running"' not in d:
        fail(f"final info: {d[:200]!r}")
    d = request(path, snapshot, "final snapshot")
    if not d.startswith(b"HTTP/1.1 204") or not os.path.isfile(f"{snaps}/state"):
        fail(f"final snapshot: {d[:200]!r}")
    d = request(path, b"PUT /api/v1/vmm.shutdown HTTP/1.1\r\nHost: x\r\n\r\n", "shutdown")
    if not d.startswith(b"HTTP/1.1 204"):
        fail(f"shutdown: {d[:60]!r}")
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("kvmlite did not end after vmm.shutdown")
    err = p.stderr.read().decode(errors="replace")
    if rc != 82 or "seccomp" in err:
        fail(f"status {rc}, stderr: {err}")
    if os.path.exists(path):
        fail("the socket was left behind")
    shutil.rmtree(tmp)
    print(f"PASS: api_fuzz_client: {counts}; the guest's echo took {worst[0] * 1000:.0f} ms at worst")


if __name__ == "__main__":
    try:
        main()
    finally:
        for proc in PROCS:
            if proc.poll() is None:
                proc.kill()
