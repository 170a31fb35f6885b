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


# ---- snapshots: snapshot(), reset(), VM.restore() ----


def _bump(vm):
    """Type one byte at the count stub: its next line (the counter, one
    more, and what port 0xf6 read)."""
    vm.write(b"+")
    return vm.expect("\n", timeout=10)


def _counting_vm(stubs, **kw):
    vm = kvmlite.VM(kernel=stubs.count, memory="64M", **kw)
    vm.start()
    assert vm.expect("\n", timeout=10) == "stub: counting\n"
    return vm


def test_reset_returns_ram_and_port_f6_to_the_snapshot(stubs, tmp_path):
    snap = tmp_path / "snap"
    with _counting_vm(stubs) as vm:
        assert [_bump(vm) for _ in range(3)] == [f"count=0{i} f6=00\n" for i in (1, 2, 3)]
        vm.snapshot(snap)
        assert sorted(p.name for p in snap.iterdir()) == ["memory", "state"]
        assert [_bump(vm) for _ in range(2)] == ["count=04 f6=00\n", "count=05 f6=00\n"]
        vm.reset()
        # The counter is the snapshot's again, and port 0xf6 reads 1.
        assert [_bump(vm) for _ in range(2)] == ["count=04 f6=01\n", "count=05 f6=01\n"]
        vm.reset()  # to the same snapshot, not to the state of the last reset
        assert _bump(vm) == "count=04 f6=01\n"
        # A new snapshot replaces the one a reset goes back to.
        vm.snapshot(snap)
        assert _bump(vm) == "count=05 f6=01\n"
        vm.reset()
        assert _bump(vm) == "count=05 f6=01\n"
        vm.write(b"x")
        ex = vm.wait(timeout=10)
        # The console carried on through the resets, as the library's does.
        assert vm.console == "stub: counting\n" + "".join(
            f"count={n:02x} f6={f6:02x}\n"
            for n, f6 in [(1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (4, 1), (5, 1), (4, 1), (5, 1), (5, 1)]
        )
    assert (ex.reason, ex.value) == ("test-exit", 5)


def test_reset_keeps_the_expect_position(stubs, tmp_path):
    # Output printed before a reset and not yet expected is still there
    # for the next expect, before what the reset guest prints.
    with _counting_vm(stubs) as vm:
        vm.snapshot(tmp_path / "snap")
        vm.write(b"++")
        deadline = time.monotonic() + 10
        while not vm.console.endswith("count=02 f6=00\n") and time.monotonic() < deadline:
            time.sleep(0.01)
        vm.reset()
        vm.write(b"+")
        assert vm.expect("f6=01\n", timeout=10) == "count=01 f6=00\ncount=02 f6=00\ncount=01 f6=01\n"


def test_reset_wakes_the_snapshot_stub_and_needs_a_snapshot(stubs, tmp_path):
    # The stub the C library's snapshot tests use (tests/smoke/snapshot_lib.c):
    # it waits for port 0xf6 to read non-zero, and says whether its RAM
    # byte is the snapshot's (it clears it after saying so).
    snap = tmp_path / "snap"
    with kvmlite.VM(kernel=stubs.snaphang, memory="64M") as vm:
        vm.start()
        vm.expect("stub: booted\n", timeout=10)
        with pytest.raises(kvmlite.Error, match="no snapshot") as e:
            vm.reset()
        assert e.value.errno == errno.ENOENT
        assert vm.exit is None  # a refused reset leaves the VM running
        vm.snapshot(snap)
        for _ in range(3):
            vm.reset()
            assert vm.expect("\n", timeout=10) == "stub: restored 5a\n"
        vm.stop()
        assert vm.wait(timeout=10).reason == "stopped"
        with pytest.raises(kvmlite.Error, match="not running") as e:
            vm.reset()
        assert e.value.errno == errno.EINVAL
        with pytest.raises(kvmlite.Error, match=r"^snapshot .*: the VM is not running$") as e:
            vm.snapshot(snap)
        assert e.value.errno == errno.EINVAL


def test_restore_goes_on_from_the_snapshot(stubs, tmp_path):
    snap = tmp_path / "snap"
    log = tmp_path / "restored.log"
    with _counting_vm(stubs, name="orig") as vm:
        for _ in range(3):
            _bump(vm)
        vm.snapshot(snap)
        assert _bump(vm) == "count=04 f6=00\n"
        # Two at once, while the VM that took it runs on.
        with kvmlite.VM.restore(snap, name="copy", console=log) as r, kvmlite.VM.restore(os.fspath(snap)) as r2:
            assert isinstance(r, kvmlite.VM) and r.name == "copy"
            assert r.exit is None and r.console == ""
            r.start()
            r2.start()
            assert [_bump(r) for _ in range(2)] == ["count=04 f6=01\n", "count=05 f6=01\n"]
            assert _bump(r2) == "count=04 f6=01\n"
            assert _bump(vm) == "count=05 f6=00\n"
            # A restored VM resets to the snapshot it came from.
            r.reset()
            assert _bump(r) == "count=04 f6=01\n"
            assert r.console == "count=04 f6=01\ncount=05 f6=01\ncount=04 f6=01\n"
            r.write(b"x")
            ex = r.wait(timeout=10)
            r2.stop()
            assert r2.wait(timeout=10).reason == "stopped"
            assert r.timings.first_run is not None
        assert (ex.reason, ex.value, ex.status) == ("test-exit", 4, 4)
        assert log.read_text() == "count=04 f6=01\ncount=05 f6=01\ncount=04 f6=01\n"
        with pytest.raises(kvmlite.Error, match="closed"):
            r.reset()
        assert vm.exit is None and _bump(vm) == "count=06 f6=00\n"


def test_snapshot_into_an_unwritable_path_raises(stubs, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    with _counting_vm(stubs) as vm:
        for bad, err in [(afile / "snap", errno.ENOTDIR), (tmp_path / "no" / "snap", errno.ENOENT)]:
            with pytest.raises(kvmlite.Error) as e:
                vm.snapshot(bad)
            assert e.value.errno == err
            assert str(e.value) == f"snapshot {bad}: {os.strerror(err)}"
            assert vm.last_error == str(e.value)
        with pytest.raises(kvmlite.Error) as e:
            vm.snapshot("")
        assert e.value.errno == errno.EINVAL
        # The VM runs on, and a failed snapshot is none to reset to.
        assert vm.exit is None and _bump(vm) == "count=01 f6=00\n"
        with pytest.raises(kvmlite.Error) as e:
            vm.reset()
        assert e.value.errno == errno.ENOENT
        assert not (tmp_path / "no").exists()


def _corrupt(snap, how):
    if how == "missing":
        return snap / "none"
    if how == "empty":
        (snap / "empty").mkdir()
        return snap / "empty"
    bad = snap.parent / f"bad-{how}"
    bad.mkdir()
    for name in ("state", "memory"):
        (bad / name).write_bytes((snap / name).read_bytes())
    if how == "no memory":
        (bad / "memory").unlink()
    elif how == "memory truncated":
        os.truncate(bad / "memory", 4096)
    elif how == "state flipped":
        data = bytearray((bad / "state").read_bytes())
        data[len(data) // 2] ^= 0x40
        (bad / "state").write_bytes(bytes(data))
    elif how == "state truncated":
        os.truncate(bad / "state", (bad / "state").stat().st_size // 2)
    return bad


@pytest.mark.parametrize(
    "how, message",
    [
        ("missing", r"/none: No such file or directory$"),
        ("empty", r"/empty/state: No such file or directory$"),
        ("no memory", r"/memory: No such file or directory$"),
        ("memory truncated", r"/memory: truncated"),
        ("state flipped", r"/state: checksum mismatch"),
        ("state truncated", r"/state: truncated"),
    ],
)
def test_restore_from_a_missing_or_corrupt_snapshot_raises(stubs, tmp_path, how, message):
    snap = tmp_path / "snap"
    with _counting_vm(stubs) as vm:
        vm.snapshot(snap)
    # The good one restores (else the test would prove nothing).
    with kvmlite.VM.restore(snap) as r:
        r.start()
        assert _bump(r) == "count=01 f6=01\n"
    bad = _corrupt(snap, how)
    with pytest.raises(kvmlite.Error) as e:
        kvmlite.VM.restore(bad, console=tmp_path / "console.log")
    assert e.value.errno == errno.ENOEXEC, str(e.value)
    assert str(e.value).startswith(f"snapshot {bad}"), str(e.value)
    assert re.search(message, str(e.value)), str(e.value)
    assert "\n" not in str(e.value)


def test_restore_argument_types(stubs, tmp_path):
    with pytest.raises(TypeError):
        kvmlite.VM.restore(tmp_path, console=True)
    with pytest.raises(TypeError):
        kvmlite.VM.restore(tmp_path, "name")  # keyword-only
