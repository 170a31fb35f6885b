"""The kvmlite package and its pytest plugin on a real Linux guest (run by
tests/boot/test_python.sh inside the test host, with --kvmlite-kernel and
--kvmlite-initrd naming the stock kernel and a shell initramfs): one
boot, through the kvmlite_vm fixture."""
import os
import re

import kvmlite


def test_linux_shell_regex_expect_and_test_exit(kvmlite_vm):
    vm = kvmlite_vm(
        cpus=2,
        memory="256M",
        name="pylinux",
        cmdline=os.environ.get("GUEST_CMDLINE"),
    )
    vm.expect("# ", timeout=240)
    vm.write("echo CPUS=$(nproc) MEM=$(sed -n 's/MemTotal: *//p' /proc/meminfo)\n")
    seen = vm.expect(re.compile(r"CPUS=(\d+) MEM=(\d+) kB"), timeout=120)
    assert "CPUS=" in seen
    assert vm.match.group(1) == "2"
    assert 200 * 1024 < int(vm.match.group(2)) <= 256 * 1024
    assert vm.timings.first_run is not None
    vm.write("test_exit 5\n")
    ex = vm.wait(timeout=120)
    assert (ex.reason, ex.value, ex.status) == ("test-exit", 5, 5)
    assert "KVMLITE-GUEST-INIT" in vm.console

