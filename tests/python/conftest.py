"""The kvmlite package's tests: stub guests on the local /dev/kvm (built by
CMake: exit_stub.elf, hang_stub.elf, echo_stub.elf, spew_stub.elf,
count_stub.elf, snaphang_stub.elf).
Run by tests/python/run.sh (ctest: python/pytest)."""
import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def pytest_addoption(parser):
    parser.addoption("--stub-dir", required=True, help="the build directory with the stub guests")
    parser.addoption("--rig", required=True, help="examples/rig.py")


@pytest.fixture(scope="session")
def stubs(request):
    d = Path(request.config.getoption("--stub-dir"))
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        pytest.exit("SKIP: no usable /dev/kvm", returncode=77)

    class Stubs:
        exit = str(d / "exit_stub.elf")  # test-exit 42 at once
        hang = str(d / "hang_stub.elf")  # prints a line, halts
        echo = str(d / "echo_stub.elf")  # "ready> ", echoes, "x" V exits V
        spew = str(d / "spew_stub.elf")  # prints for ever
        # A counter in RAM: each byte typed prints "count=NN f6=BB\n"
        # (the counter, port 0xf6); "x" exits with the counter.
        count = str(d / "count_stub.elf")
        # "stub: booted", then waits for port 0xf6 to read non-zero (a
        # reset or restore): "stub: restored 5a" when its RAM byte is back.
        snaphang = str(d / "snaphang_stub.elf")

    for f in ("exit", "hang", "echo", "spew", "count", "snaphang"):
        assert Path(getattr(Stubs, f)).is_file(), getattr(Stubs, f)
    return Stubs
