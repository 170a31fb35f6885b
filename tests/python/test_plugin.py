"""The pytest plugin: the kvmlite_vm fixture, its options, and the console
of a failing test's VMs in its report."""


def test_fixture_starts_vms_and_stops_them(pytester, stubs):
    pytester.makepyfile(
        """
        import kvmlite
        made = []

        def test_one(kvmlite_vm):
            vm = kvmlite_vm()
            made.append(vm)
            assert vm.expect("hello", timeout=10)
            assert vm.exit is None

        def test_after():
            # The previous test's VM was stopped and closed at teardown.
            import pytest
            with pytest.raises(kvmlite.Error, match="closed"):
                made[0].wait(0)
        """
    )
    r = pytester.runpytest_subprocess(f"--kvmlite-kernel={stubs.hang}", "-p", "no:cacheprovider")
    r.assert_outcomes(passed=2)


def test_failing_test_shows_the_console(pytester, stubs):
    pytester.makepyfile(
        """
        def test_fails_on_purpose(kvmlite_vm):
            vm = kvmlite_vm(name="shown")
            vm.expect("ready> ", timeout=10)
            vm.write(b"marker-for-the-report\\n")
            vm.expect("marker-for-the-report", timeout=10)
            assert False, "on purpose"
        """
    )
    r = pytester.runpytest_subprocess(f"--kvmlite-kernel={stubs.echo}", "-p", "no:cacheprovider")
    r.assert_outcomes(failed=1)
    out = r.stdout.str()
    assert "kvmlite console: shown (still running)" in out
    assert "ready> marker-for-the-report" in out


def test_no_kernel_is_a_usage_error(pytester, stubs):
    pytester.makepyfile(
        """
        def test_x(kvmlite_vm):
            kvmlite_vm()
        """
    )
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert r.ret != 0
    assert "no kernel= given and no --kvmlite-kernel" in r.stdout.str() + r.stderr.str()


def test_ini_default_kernel_and_explicit_arguments(pytester, stubs):
    pytester.makeini(f"[pytest]\nkvmlite_kernel = {stubs.exit}\n")
    pytester.makepyfile(
        f"""
        def test_ini(kvmlite_vm):
            assert kvmlite_vm().wait(timeout=10).value == 42

        def test_explicit(kvmlite_vm):
            vm = kvmlite_vm(kernel={stubs.echo!r}, cpus=2, memory="64M")
            vm.expect("ready> ", timeout=10)
        """
    )
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    r.assert_outcomes(passed=2)
