"""The kvmlite package and its pytest plugin on a real Linux guest (run by
tests/boot/test_python.sh inside the test host, with --kvmlite-kernel and
--kvmlite-initrd naming the stock kernel and a shell initramfs): the
kvmlite_vm fixture, then examples/rig.py's main() in this same process
(one Python start-up in the emulated test host, which costs seconds)."""
import re
import runpy
import sys

import kvmlite


def test_linux_shell_regex_expect_and_test_exit(kvmlite_vm):
    vm = kvmlite_vm(cpus=2, memory="256M", name="pylinux")
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
    assert "Linux version" in vm.console


def test_example_rig_on_linux(request, monkeypatch, capsys):
    rig = runpy.run_path(request.config.getoption("--rig"))  # not as __main__
    monkeypatch.setattr(sys, "argv", [
        "rig.py", "--quiet",
        request.config.getoption("--kvmlite-kernel"), request.config.getoption("--kvmlite-initrd"),
    ])
    rc = rig["main"]()
    out = capsys.readouterr().out
    assert re.search(r"^RIG: kvmlite \d+\.\d+\.\d+ \(Python\)$", out, re.M), out
    assert "RIG: got the prompt, typing: echo RIG-OK $((6*7)); test_exit 7" in out
    assert "RIG: saw the marker 'RIG-OK 42'" in out
    assert out.splitlines()[-1] == "RIG-VERDICT: PASS: marker seen, test-exit 7"
    assert rc == 0
