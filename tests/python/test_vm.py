"""kvmlite.VM against stub guests: exits, expect, input, stop, pause,
errors, many VMs from many threads, the GIL."""
import errno
import os
import re
import subprocess
import sys
import threading
import time

import pytest

import kvmlite


def test_import_needs_no_environment(tmp_path):
    # A fresh interpreter with an empty environment, away from the tree.
    r = subprocess.run(
        [sys.executable, "-c", "import kvmlite, kvmlite._native as n; print(kvmlite.__version__, n.__file__)"],
        env={}, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    version, path = r.stdout.split()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert "site-packages" in path


def test_typed_package():
    d = os.path.dirname(kvmlite.__file__)
    assert os.path.isfile(os.path.join(d, "py.typed"))
    assert os.path.isfile(os.path.join(d, "_native.pyi"))
    assert kvmlite.VM.expect.__doc__ and kvmlite.VM.__init__.__annotations__


def test_exit_stub_test_exit_42(stubs):
    with kvmlite.VM(kernel=stubs.exit) as vm:
        assert vm.exit is None
        vm.start()
        ex = vm.wait(timeout=10)
    assert (ex.reason, ex.value, ex.status) == ("test-exit", 42, 42)
    assert "42" in ex.detail


@pytest.mark.parametrize("value", [1, 7, 63, 200])
def test_test_exit_values_typed_in(stubs, value):
    with kvmlite.VM(kernel=stubs.echo) as vm:
        vm.start()
        assert vm.expect("ready> ", timeout=10) == "ready> "
        assert vm.write(b"x" + bytes([value])) == 2
        ex = vm.wait(timeout=10)
    assert ex == kvmlite.Exit("test-exit", value, value, f"guest test-exit with value {value}")


def test_expect_literal_and_regex(stubs):
    with kvmlite.VM(kernel=stubs.echo) as vm:
        vm.start()
        vm.expect("ready> ", timeout=10)
        vm.write("hello world 1234\n")
        # What was seen from the last match up to the end of this one.
        assert vm.expect("world", timeout=10) == "hello world"
        assert vm.expect(re.compile(r"(\d+)\n"), timeout=10) == " 1234\n"
        assert vm.match is not None and vm.match.group(1) == "1234"
        assert vm.expect("ready> ", timeout=10) == "ready> "
        assert vm.console == "ready> hello world 1234\nready> "


def test_expect_timeout_keeps_what_was_seen(stubs):
    with kvmlite.VM(kernel=stubs.hang) as vm:
        vm.start()
        t0 = time.monotonic()
        with pytest.raises(kvmlite.Timeout) as e:
            vm.expect("never printed", timeout=0.5)
        assert 0.4 < time.monotonic() - t0 < 5
        assert e.value.seen == "stub: hello from the guest\n"
        assert e.value.errno == errno.ETIMEDOUT
        assert isinstance(e.value, kvmlite.Error)
        # The failed expect did not move the cursor.
        assert vm.expect("hello", timeout=5) == "stub: hello"


def test_expect_after_exit_raises_vmexited(stubs):
    with kvmlite.VM(kernel=stubs.hang) as vm:
        vm.start()
        vm.expect("hello from", timeout=10)
        vm.expect("\n", timeout=10)  # the whole line is out
        vm.write(b"unanswered")
        vm.stop()
        with pytest.raises(kvmlite.VMExited) as e:
            vm.expect("never printed", timeout=10)
        assert e.value.exit.reason == "stopped"
        assert e.value.seen == ""


def test_stop_is_status_82_and_prompt(stubs):
    with kvmlite.VM(kernel=stubs.hang) as vm:
        vm.start()
        with pytest.raises(kvmlite.Timeout):
            vm.wait(timeout=0.2)
        t0 = time.monotonic()
        vm.stop()
        ex = vm.wait(timeout=10)
        assert time.monotonic() - t0 < 2
    assert (ex.reason, ex.value, ex.status) == ("stopped", None, 82)


def test_pause_holds_the_guest_resume_lets_it_go(stubs):
    with kvmlite.VM(kernel=stubs.echo) as vm:
        vm.start()
        vm.expect("ready> ", timeout=10)
        vm.pause()
        vm.write(b"abc\n")
        with pytest.raises(kvmlite.Timeout):
            vm.expect("abc", timeout=0.5)  # a paused guest echoes nothing
        assert "paused" in vm.dump()
        vm.resume()
        assert vm.expect("abc", timeout=10) == "abc"
        with pytest.raises(kvmlite.Error):
            vm.resume()  # not paused


def test_shutdown_needs_a_running_vm(stubs):
    with kvmlite.VM(kernel=stubs.exit) as vm:
        with pytest.raises(kvmlite.Error) as e:
            vm.shutdown()
        assert e.value.errno == errno.ESRCH


def test_console_file_and_timings_and_counters(stubs, tmp_path):
    log = tmp_path / "console.log"
    with kvmlite.VM(kernel=stubs.hang, console=log, name="timed") as vm:
        vm.start()
        vm.expect("hello from the guest\n", timeout=10)
        t = vm.timings
        vm.stop()
        vm.wait(timeout=10)
        t_end = vm.timings
        c = vm.counters()  # after the stop: the console is written out
    assert log.read_bytes() == b"stub: hello from the guest\n"
    assert c["console"]["written"] == len(b"stub: hello from the guest\n")
    assert t.process_start < t.loaded <= t.vm_created <= t.first_run
    assert t.exit is None and t_end.exit >= t.first_run
    assert 0 < t.since_start("first_run") < 10


def test_dump_and_warning(stubs):
    with kvmlite.VM(kernel=stubs.hang, cpus=2) as vm:
        vm.start()
        vm.expect("hello", timeout=10)
        d = vm.dump()
        assert re.search(r"^vcpu0: ", d, re.M) and re.search(r"^vcpu1: ", d, re.M)
        assert vm.warning is None  # the stub is no Linux kernel
        assert vm.last_error == ""


@pytest.mark.parametrize(
    "kwargs, message, err",
    [
        ({"kernel": "/nonexistent/bzImage"}, r"^kernel /nonexistent/bzImage: No such file or directory$", errno.ENOEXEC),
        ({"cpus": 0}, r"cpus", errno.EINVAL),
        ({"cpus": 256}, r"cpus", errno.EINVAL),
        ({"memory": "12Q"}, r"^memory '12Q': not a size", errno.EINVAL),
        ({"memory": "8M"}, r"memory", errno.EINVAL),
        ({"disks": ["/nonexistent.img"]}, r"/nonexistent\.img", errno.ENOENT),
        ({"disks": [kvmlite.Disk("/dev/null", serial="x" * 21)]}, r"serial", errno.EINVAL),
        ({"nets": [kvmlite.Net("tap0", mac="zz")]}, r"mac|MAC", errno.EINVAL),
    ],
)
def test_creation_errors_raise_with_the_librarys_message(stubs, kwargs, message, err):
    kw = {"kernel": stubs.exit, **kwargs}
    with pytest.raises(kvmlite.Error) as e:
        kvmlite.VM(**kw)
    assert re.search(message, str(e.value)), str(e.value)
    assert "\n" not in str(e.value)
    assert e.value.errno == err


@pytest.mark.parametrize("kwargs", [{"memory": True}, {"console": True}, {"memory": 1.5}])
def test_wrong_types_raise_typeerror(stubs, kwargs):
    with pytest.raises(TypeError):
        kvmlite.VM(kernel=stubs.exit, **kwargs)


def test_closed_vm_refuses_calls(stubs):
    vm = kvmlite.VM(kernel=stubs.hang)
    vm.start()
    vm.close()
    vm.close()  # again: nothing
    with pytest.raises(kvmlite.Error, match="closed"):
        vm.start()
    with pytest.raises(kvmlite.Error, match="closed"):
        vm.wait(1)


def test_eight_vms_from_eight_threads(stubs):
    results = {}
    errors = []

    def one(i):
        try:
            with kvmlite.VM(kernel=stubs.echo, name=f"t{i}") as vm:
                vm.start()
                vm.expect("ready> ", timeout=60)
                vm.write(f"vm{i}\n")
                vm.expect(f"vm{i}\n", timeout=60)
                vm.write(b"x" + bytes([10 + i]))
                results[i] = vm.wait(timeout=60)
        except BaseException as e:  # reported below
            errors.append((i, e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert {i: (r.reason, r.value) for i, r in results.items()} == {i: ("test-exit", 10 + i) for i in range(8)}


def test_gil_released_while_waiting(stubs):
    # While one thread waits in the library, this one keeps running.
    with kvmlite.VM(kernel=stubs.hang) as vm:
        vm.start()
        done = threading.Event()
        t = threading.Thread(target=lambda: (vm.wait(timeout=None), done.set()))
        t.start()
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < 0.3:
            n += 1
        assert n > 10000 and not done.is_set()
        vm.stop()
        t.join(10)
        assert done.is_set()


def test_close_from_another_thread_ends_a_blocked_expect(stubs):
    vm = kvmlite.VM(kernel=stubs.hang)
    vm.start()
    seen = []

    def waiter():
        try:
            vm.expect("never", timeout=None)
        except kvmlite.Error as e:
            seen.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    vm.close()
    t.join(10)
    assert not t.is_alive() and time.monotonic() - t0 < 5
    assert seen and isinstance(seen[0], kvmlite.Error)


def test_ctrl_c_reaches_a_waiting_program(stubs, tmp_path):
    # wait() and expect() without a timeout still let KeyboardInterrupt in.
    prog = tmp_path / "waiter.py"
    prog.write_text(
        "import sys, kvmlite\n"
        "vm = kvmlite.VM(kernel=sys.argv[1])\n"
        "vm.start()\n"
        "print('waiting', flush=True)\n"
        "try:\n"
        "    vm.expect('never', timeout=None) if sys.argv[2] == 'expect' else vm.wait()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', vm.exit, flush=True)\n"
        "vm.close()\n"
    )
    import signal

    for how in ("expect", "wait"):
        p = subprocess.Popen([sys.executable, str(prog), stubs.hang, how], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline() == "waiting\n"
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=10)
        assert out == "interrupted None\n", (how, out)
        assert p.returncode == 0
