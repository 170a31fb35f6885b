"""The VM class: one libkvmlite VM, as include/kvmlite.h describes it."""
from __future__ import annotations

import codecs
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import IO, Any, Dict, Optional, Pattern, Sequence, Type, TypeVar, Union

from . import _native
from ._native import Error

_VMT = TypeVar("_VMT", bound="VM")

# enum kvmlite_exit_reason, in order.
_REASONS = ("running", "poweroff", "reboot", "test-exit", "crash", "stopped", "error", "exec-failed")


class Timeout(Error):
    """A wait or an expect ran out of time. ``.seen`` holds the output
    read meanwhile (expect), ``.errno`` is ETIMEDOUT."""

    seen: str = ""


class VMExited(Error):
    """The VM stopped before the expected output came. ``.exit`` says
    why, ``.seen`` holds the output read meanwhile."""

    seen: str = ""
    exit: Optional["Exit"] = None


@dataclass(frozen=True)
class Disk:
    """A virtio-blk disk: a raw image or a block device (vda, vdb, ...).

    ``ro`` opens it read-only and tells the guest; ``serial`` (up to 20
    bytes) is what the guest reads as the disk's serial."""

    path: Union[str, "os.PathLike[str]"]
    ro: bool = False
    serial: Optional[str] = None


@dataclass(frozen=True)
class Net:
    """A virtio-net device on TAP interface ``tap`` (created when missing
    and the process may). Without ``mac`` the MAC is derived from the VM's
    name and the device's index."""

    tap: str
    mac: Optional[str] = None


@dataclass(frozen=True)
class Exit:
    """Why a VM stopped.

    ``reason``: ``"poweroff"``, ``"reboot"``, ``"test-exit"``, ``"crash"``,
    ``"stopped"``, ``"error"`` or ``"exec-failed"``; ``value``: the byte
    written to the test-exit port (or the exec failure's status; ``None``
    for other reasons); ``status``: the kvmlite
    command's exit status for this exit (README, "Exit status");
    ``detail``: the library's text (a crash's registers, an error)."""

    reason: str
    value: Optional[int]
    status: int
    detail: str


@dataclass(frozen=True)
class Timings:
    """Boot phases as CLOCK_MONOTONIC nanoseconds (``time.monotonic_ns()``),
    ``None`` when not reached. ``process_start`` is when the VM object was
    made."""

    process_start: int
    loaded: Optional[int]
    vm_created: Optional[int]
    first_run: Optional[int]
    guest_marker: Optional[int]
    exit: Optional[int]

    def since_start(self, phase: str) -> Optional[float]:
        """Seconds from ``process_start`` to ``phase`` (e.g. "first_run")."""
        v = getattr(self, phase)
        return None if v is None else (v - self.process_start) / 1e9


def _ms(timeout: Optional[float]) -> int:
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError("timeout must be >= 0 or None")
    return min(int(timeout * 1000), 2**31 - 1)


def _slice(deadline: Optional[float]) -> int:
    """Milliseconds to wait in one call: at most 200, so that signals
    (KeyboardInterrupt) are seen while a VM is waited for."""
    if deadline is None:
        return 200
    return max(0, min(200, int((deadline - time.monotonic()) * 1000) + 1))


def _memory(memory: Union[int, str]) -> int:
    if isinstance(memory, bool):
        raise TypeError("memory: a size string or a number of bytes")
    if isinstance(memory, int):
        return memory
    if isinstance(memory, str):
        try:
            return _native.parse_size(memory)
        except Error as e:
            err = Error(f"memory '{memory}': {e}")
            err.errno = e.errno
            raise err from None
    raise TypeError("memory: a size string (\"512M\") or a number of bytes")


class VM:
    """One virtual machine: created (not yet running) by the constructor.

    Arguments mirror ``struct kvmlite_config`` and the command's options:
    ``kernel`` (bzImage or ELF vmlinux), ``initrd``, ``cmdline`` (default
    ``console=ttyS0 reboot=k panic=-1 pci=off``), ``cpus`` (1-255),
    ``memory`` (``"512M"``, ``"2G"``, a number of bytes; a string without
    a unit is MiB), ``disks`` (:class:`Disk` or a path), ``nets``
    (:class:`Net` or a TAP name), ``name``, ``seccomp`` (each library
    thread loads its system-call filter) and ``console``: where the
    guest's console output is copied besides the VM's own record of it
    (``None``: nowhere; a path, created or truncated; an open file or a
    file descriptor, which the VM does not close).

    :meth:`restore` makes a VM from a snapshot instead (:meth:`snapshot`,
    :meth:`reset`).

    A context manager: leaving the ``with`` block closes the VM. Every
    method may be called from any thread, and many VMs may run in one
    process; calls that wait release the GIL. Creation errors raise
    :class:`kvmlite.Error` with the library's one-line message.
    """

    def __init__(
        self,
        kernel: Union[str, "os.PathLike[str]"],
        initrd: Union[str, "os.PathLike[str]", None] = None,
        cmdline: Optional[str] = None,
        cpus: int = 1,
        memory: Union[int, str] = "256M",
        disks: Sequence[Union[Disk, str, "os.PathLike[str]"]] = (),
        nets: Sequence[Union[Net, str]] = (),
        name: Optional[str] = None,
        seccomp: bool = True,
        console: Union[None, str, "os.PathLike[str]", int, IO[Any]] = None,
    ) -> None:
        start_ns = time.monotonic_ns()
        dl = [d if isinstance(d, Disk) else Disk(d) for d in disks]
        nl = [n if isinstance(n, Net) else Net(n) for n in nets]
        console_fd = self._prepare(name, console)
        try:
            self._m = _native.Machine(
                os.fspath(kernel),
                None if initrd is None else os.fspath(initrd),
                cmdline,
                cpus,
                _memory(memory),
                [(os.fspath(d.path), bool(d.ro), d.serial) for d in dl],
                [(n.tap, n.mac) for n in nl],
                name,
                bool(seccomp),
                console_fd,
                start_ns,
            )
        except BaseException:
            self._close_console()
            raise

    @classmethod
    def restore(
        cls: Type[_VMT],
        snapshot: Union[str, "os.PathLike[str]"],
        *,
        name: Optional[str] = None,
        seccomp: bool = True,
        console: Union[None, str, "os.PathLike[str]", int, IO[Any]] = None,
    ) -> _VMT:
        """A VM made from the snapshot in directory ``snapshot`` (one that
        :meth:`snapshot` wrote, or a guest through port 0xf6 with the
        command's ``--snapshot-dir``), not yet running: :meth:`start` lets
        it go on from where the snapshot was taken, and from then on it is
        driven like a booted VM (:meth:`expect`, :meth:`wait`,
        :meth:`reset` to this snapshot, ...). Everything else comes from
        the snapshot (``kvmlite_vm_restore``): its vCPUs, memory, disks
        (reopened by path), networks. Only ``name``, ``seccomp`` and
        ``console`` are given here, as to the constructor (``name=None``:
        the library's messages use the snapshot's). Its console output
        (:attr:`console`, :meth:`expect`) starts empty, and the guest
        reads 1 from I/O port 0xf6 (0 in a VM that booted).

        Raises :class:`kvmlite.Error` with the library's one-line message
        (``.errno`` ENOEXEC when the snapshot is missing, truncated,
        corrupt or from another kvmlite; ENODEV without a usable
        /dev/kvm)."""
        start_ns = time.monotonic_ns()
        vm = cls.__new__(cls)
        console_fd = vm._prepare(name, console)
        try:
            vm._m = _native.Machine.restore(
                os.fspath(snapshot), name, bool(seccomp), console_fd, start_ns
            )
        except BaseException:
            vm._close_console()
            raise
        return vm

    def _prepare(
        self, name: Optional[str], console: Union[None, str, "os.PathLike[str]", int, IO[Any]]
    ) -> int:
        """Set up what the Python side keeps (before the library's VM is
        made); returns the console's file descriptor, -1 for none."""
        self.name = name
        self._console_file: Optional[IO[Any]] = None
        console_fd = -1
        if isinstance(console, bool):
            raise TypeError("console: None, a path, a file or a file descriptor")
        if isinstance(console, (str, os.PathLike)):
            self._console_file = open(console, "wb")
            console_fd = self._console_file.fileno()
        elif isinstance(console, int):
            console_fd = console
        elif console is not None:
            console_fd = console.fileno()
        self._lock = threading.Lock()  # the expect cursor and decoder
        self._cursor = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""  # decoded output not yet matched
        self.match: Optional[re.Match[str]] = None
        return console_fd

    def __enter__(self) -> "VM":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<kvmlite.VM {self.name or hex(id(self))}>"

    # ---- lifecycle (kvmlite_vm_start, _wait, _stop, _shutdown, ...) ----

    def start(self) -> None:
        """Start the vCPUs and the device threads."""
        self._m.start()

    def wait(self, timeout: Optional[float] = None) -> Exit:
        """Wait for the VM to stop (``None``: for ever) and say why.
        Raises :class:`Timeout` when it is still running then."""
        deadline = None if timeout is None else time.monotonic() + _ms(timeout) / 1000
        # In slices, so that Ctrl-C (KeyboardInterrupt) gets through.
        while not self._m.wait(_slice(deadline)):
            if deadline is not None and time.monotonic() >= deadline:
                e = Timeout(f"the VM is still running after {timeout} s")
                e.errno = 110
                raise e
        ex = self.exit
        assert ex is not None
        return ex

    @property
    def exit(self) -> Optional[Exit]:
        """Why the VM stopped, or ``None`` while it runs."""
        reason, value, status, detail = self._m.exit_info()
        if reason == 0:
            return None
        name = _REASONS[reason] if reason < len(_REASONS) else "error"
        return Exit(name, value if name in ("test-exit", "exec-failed") else None, status, detail)

    def stop(self) -> None:
        """Force the VM to stop now (reason ``"stopped"``, status 82 unless
        it had already stopped). Does not wait: follow with :meth:`wait`."""
        self._m.stop()

    def shutdown(self) -> None:
        """Press the guest's ACPI power button; the guest decides what to
        do. Does not wait. Raises :class:`Error` when the VM is not running."""
        self._m.shutdown()

    def pause(self) -> None:
        """Stop every vCPU; returns once they all are."""
        self._m.pause()

    def resume(self) -> None:
        """Let paused vCPUs run again."""
        self._m.resume()

    # ---- snapshots (kvmlite_vm_snapshot, _reset; restore: above) ----

    def snapshot(self, dir: Union[str, "os.PathLike[str]"]) -> None:
        """Write a snapshot of the running VM into directory ``dir``
        (created if missing; its parent must exist), as
        ``kvmlite_vm_snapshot()`` does: every vCPU is paused, the state
        and memory files are written and atomically replace the ones
        ``dir`` held, and the VM goes on. It becomes the snapshot
        :meth:`reset` goes back to, and :meth:`restore` makes new VMs
        from it. Disks are not copied (a restore reopens them by path;
        only an overlay disk comes back as it was). Format:
        docs/snapshot.md.

        Raises :class:`kvmlite.Error` with the library's message, e.g.
        ``"snapshot DIR: Not a directory"`` (``.errno`` ENOTDIR; ENOSPC,
        EACCES... likewise; EINVAL when the VM is not running). A VM whose
        snapshot failed runs on."""
        self._m.snapshot(os.fspath(dir))

    def reset(self) -> None:
        """Set the running VM back, in place, to its last snapshot: the
        one it took last with :meth:`snapshot` (or through port 0xf6), else
        the one it was restored from (``kvmlite_vm_reset()``). Guest RAM,
        every vCPU and every device go back; overlay disks lose what was
        written since; the guest then reads 1 from port 0xf6, and the boot
        timings' ``guest_marker`` starts anew.

        The console is not reset, as in the C library: :attr:`console`
        keeps the output printed before the reset, the guest's output
        after it follows on, and :meth:`expect` goes on from where it was.
        So output printed before the reset that no expect has matched yet
        can still match the next one: to wait for something the reset
        guest prints, expect text that only it prints (or consume the
        earlier output with an expect before resetting).

        Raises :class:`kvmlite.Error`: ``.errno`` ENOENT when the VM has
        no snapshot to go back to, EINVAL when it is not running; another
        errno when it could not be set back, and then the VM has stopped
        (:attr:`exit` reason ``"error"``)."""
        self._m.reset()

    def close(self) -> None:
        """Stop the VM if it runs, join its threads and free it (what the
        end of a ``with`` block does). Later calls raise :class:`Error`;
        closing again does nothing."""
        m = getattr(self, "_m", None)
        if m is not None:
            m.close()
        self._close_console()

    def _close_console(self) -> None:
        if self._console_file is not None:
            self._console_file.close()
            self._console_file = None

    # ---- the console ----

    def write(self, data: Union[bytes, str]) -> int:
        """Type ``data`` on the guest's console; returns the bytes queued
        (the UART's input buffer may take fewer)."""
        if isinstance(data, str):
            data = data.encode()
        return self._m.console_write(data)

    def _take_output(self) -> bool:
        """Move new output into the pending text. True if there was any."""
        start, data, _ = self._m.output(self._cursor)
        if start > self._cursor:
            self._pending += "\ufffd"  # older output was dropped
        self._cursor = start + len(data)
        if data:
            self._pending += self._decoder.decode(data)
        return bool(data)

    def expect(
        self, pattern: Union[str, Pattern[str]], timeout: Optional[float] = 30.0
    ) -> str:
        """Wait for ``pattern`` (a literal string, or a compiled regular
        expression searched for) in the console output printed since the
        last successful expect, as ``kvmlite_vm_expect()`` does; return
        that output up to the end of the match and move past it. For a
        regular expression, the match is also left in ``.match``.

        Raises :class:`Timeout` after ``timeout`` seconds (``None``:
        never), :class:`VMExited` when the VM stopped without printing it.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                self._take_output()
                end = self._search(pattern)
                if end is not None:
                    seen, self._pending = self._pending[:end], self._pending[end:]
                    return seen
                if self.exit is not None:
                    # The last output may have come just before the end.
                    if self._take_output() and self._search(pattern) is not None:
                        continue
                    e = VMExited(f"the VM stopped ({self.exit.reason}) before printing {pattern!r}")
                    e.seen, e.exit, e.errno = self._pending, self.exit, 3
                    raise e
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    t = Timeout(f"no {pattern!r} in the console output within {timeout} s")
                    t.seen, t.errno = self._pending, 110
                    raise t
                self._m.wait_output(self._cursor, _slice(deadline))

    def _search(self, pattern: Union[str, Pattern[str]]) -> Optional[int]:
        if isinstance(pattern, str):
            i = self._pending.find(pattern)
            return None if i < 0 else i + len(pattern)
        m = pattern.search(self._pending)
        if m is None:
            return None
        self.match = m
        return m.end()

    @property
    def console(self) -> str:
        """All the console output kept (the last 8 MiB), as text."""
        _, data, _ = self._m.output(0)
        return data.decode("utf-8", "replace")

    # ---- what the VM reports ----

    @property
    def timings(self) -> Timings:
        """The boot phases reached so far (:class:`Timings`)."""
        t = self._m.timings()
        return Timings(t[0], *[v or None for v in t[1:]])

    def counters(self) -> Dict[str, Dict[str, Any]]:
        """Per-device counters (``kvmlite_vm_counters``), e.g.
        ``{"console": {...}, "disk0": {"read_ops": 3, ...}, "net0": {...}}``."""
        counters: Dict[str, Dict[str, Any]] = json.loads(self._m.counters())
        return counters

    def dump(self) -> str:
        """The state dump (``kvmlite_vm_dump``): vCPUs, interrupts, queues."""
        return self._m.dump()

    @property
    def last_error(self) -> str:
        """The last error the library recorded for this VM ("" when none)."""
        return self._m.last_error()

    @property
    def warning(self) -> Optional[str]:
        """A warning about running this VM here (``kvmlite_vm_warning``)."""
        return self._m.warning()
