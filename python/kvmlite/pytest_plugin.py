"""The kvmlite pytest plugin (entry point ``pytest11``: loaded by itself once
the package is installed).

The ``kvmlite_vm`` fixture is a factory: ``vm = kvmlite_vm(kernel=...,
...)`` takes :class:`kvmlite.VM`'s arguments, and returns a started VM
that is stopped and closed when the test ends. When a test fails, the
console output of each VM it made is attached to its report (a section
"kvmlite console: NAME"). ``--kvmlite-kernel`` and ``--kvmlite-initrd``
(or the ini options ``kvmlite_kernel``, ``kvmlite_initrd``) give the
default kernel and initrd.
"""
from __future__ import annotations

from typing import Any, Callable, Generator, Iterator, List

import pytest

from .vm import VM

_VMS = pytest.StashKey[List[VM]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kvmlite")
    group.addoption("--kvmlite-kernel", metavar="PATH", help="default kernel for kvmlite_vm")
    group.addoption("--kvmlite-initrd", metavar="PATH", help="default initrd for kvmlite_vm")
    parser.addini("kvmlite_kernel", "default kernel for kvmlite_vm")
    parser.addini("kvmlite_initrd", "default initrd for kvmlite_vm")


def _default(config: pytest.Config, name: str) -> Any:
    return config.getoption(f"--kvmlite-{name}") or config.getini(f"kvmlite_{name}") or None


@pytest.fixture
def kvmlite_vm(request: pytest.FixtureRequest) -> Iterator[Callable[..., VM]]:
    """A factory of started VMs: ``kvmlite_vm(kernel=None, initrd=None,
    **VM_arguments)``; kernel and initrd default to the command line's
    ``--kvmlite-kernel`` / ``--kvmlite-initrd``. Each VM is stopped and
    closed at teardown; a failed test's report shows its console."""
    vms: List[VM] = []
    request.node.stash[_VMS] = vms

    def factory(**kwargs: Any) -> VM:
        kwargs.setdefault("kernel", _default(request.config, "kernel"))
        if kwargs["kernel"] is None:
            raise pytest.UsageError("kvmlite_vm: no kernel= given and no --kvmlite-kernel")
        if "initrd" not in kwargs:
            kwargs["initrd"] = _default(request.config, "initrd")
        kwargs.setdefault("name", f"{request.node.name}-{len(vms)}")
        vm = VM(**kwargs)
        vms.append(vm)
        vm.start()
        return vm

    yield factory
    for vm in vms:
        try:
            vm.stop()
            vm.wait(timeout=10)
        finally:
            vm.close()


# (pluggy's decorator is untyped in Debian 12's python3-pluggy.)
@pytest.hookimpl(hookwrapper=True)  # type: ignore[misc]
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    vms = item.stash.get(_VMS, None)
    if not vms or not report.failed:
        return
    for vm in vms:
        try:
            text = vm.console
            ex = vm.exit
        except Exception as e:  # closed meanwhile
            text, ex = f"(console unavailable: {e})", None
        status = f"exit: {ex.reason}, status {ex.status}" if ex else "still running"
        report.sections.append((f"kvmlite console: {vm.name} ({status})", text))
