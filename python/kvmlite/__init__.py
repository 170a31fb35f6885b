"""kvmlite: boot and drive KVM virtual machines from Python.

A thin layer over libkvmlite (include/kvmlite.h), built into the package::

    import kvmlite

    with kvmlite.VM(kernel="bzImage", initrd="initrd.gz", memory="512M") as vm:
        vm.start()
        vm.expect("login:", timeout=60)
        vm.write(b"root\\n")
        print(vm.wait(timeout=120).status)

The pytest plugin (``kvmlite.pytest_plugin``, loaded automatically) adds
the ``kvmlite_vm`` fixture.
"""
from ._native import Error
from .vm import VM, Disk, Exit, Net, Timeout, Timings, VMExited

__version__: str = __import__("kvmlite._native", fromlist=["version"]).version()

__all__ = ["VM", "Disk", "Net", "Exit", "Timings", "Error", "Timeout", "VMExited", "__version__"]
