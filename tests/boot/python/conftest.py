"""For tests/boot/test_python.sh: SIGUSR1 writes a state dump of every VM
this process started to stderr, in kvmlite's own format ("kvmlite: dump:
..."), so that the boot tests' guard (DUMP_COMM=python3) can have a hang
attributed. Run with --capture=sys, so the dump reaches the real stderr
even while pytest captures."""
import os
import signal
import weakref

import kvmlite

_started: "weakref.WeakSet[kvmlite.VM]" = weakref.WeakSet()
_start = kvmlite.VM.start


def _start_tracked(self: kvmlite.VM) -> None:
    _started.add(self)
    _start(self)


kvmlite.VM.start = _start_tracked  # type: ignore[method-assign]


def _dump(signum, frame):
    for vm in list(_started):
        try:
            text = vm.dump()
        except kvmlite.Error as e:  # closed meanwhile
            text = f"failed: {e}"
        for line in text.splitlines():
            os.write(2, f"kvmlite: dump: {vm.name}: {line}\n".encode())


signal.signal(signal.SIGUSR1, _dump)
