#!/usr/bin/env python3
"""A minimal test rig in Python, the twin of rig.c: boot a kernel with an
initramfs that gives a shell on the console (tests/guest/initramfs
--shell), wait for the prompt, type a command, check its output (a regular
expression), and let the guest end the VM through the test-exit port.
Prints a verdict; exits 0 on success.

    python3 rig.py [--cmdline STR] [--prompt STR] [--command STR]
                   [--marker REGEX] [--exit N] [--timeout S] [--quiet]
                   KERNEL [INITRD]

Needs the kvmlite package: pip install --no-build-isolation ./python
"""
import argparse
import re
import sys

import kvmlite


def say(line):
    """@line and its newline in one write: the library's console thread
    writes the guest's output to the same stdout, and it once landed
    between a print()ed line and its end ("...'RIG-OK 42'RIG-OK 42 \\n",
    tests/python/test_rig.py, 2026-12-01)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kernel")
    ap.add_argument("initrd", nargs="?")
    ap.add_argument("--cmdline", default=None)
    ap.add_argument("--prompt", default="# ")
    ap.add_argument("--command", default="echo RIG-OK $((6*7)); test_exit 7")
    # The trailing \s: output may come in pieces, and "RIG-OK 4" alone
    # would match a bare (\d+).
    ap.add_argument("--marker", default=r"RIG-OK (\d+)\s")
    ap.add_argument("--exit", type=int, default=7, dest="want_exit")
    ap.add_argument("--timeout", type=float, default=240.0)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()

    print(f"RIG: kvmlite {kvmlite.__version__} (Python)", flush=True)
    try:
        vm = kvmlite.VM(kernel=a.kernel, initrd=a.initrd, cmdline=a.cmdline,
                        memory="256M", console=None if a.quiet else sys.stdout)
    except kvmlite.Error as e:
        print(f"RIG-VERDICT: FAIL: create: {e}")
        return 1
    with vm:
        try:
            vm.start()
            # Linux drops console input that comes before the shell opens
            # the tty: type only once the prompt is there.
            vm.expect(a.prompt, timeout=a.timeout)
            say(f"\nRIG: got the prompt, typing: {a.command}")
            vm.write(a.command + "\n")
            vm.expect(re.compile(a.marker), timeout=a.timeout)
            say(f"\nRIG: saw the marker {vm.match.group(0).rstrip()!r}")
            ex = vm.wait(timeout=a.timeout)
        except kvmlite.Timeout as e:
            print(f"RIG-VERDICT: FAIL: {e}; last output: {e.seen[-500:]!r}")
            return 1
        except kvmlite.VMExited as e:
            print(f"RIG-VERDICT: FAIL: {e}; last output: {e.seen[-500:]!r}")
            return 1
    if ex.reason != "test-exit" or ex.value != a.want_exit:
        print(f"RIG-VERDICT: FAIL: exit {ex.reason} value {ex.value} (status {ex.status}), "
              f"wanted test-exit {a.want_exit}: {ex.detail}")
        return 1
    print(f"RIG-VERDICT: PASS: marker seen, test-exit {ex.value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
