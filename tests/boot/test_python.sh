#!/usr/bin/env bash
# The Python package on Linux guests: `pip install ./python` offline into a
# venv of Debian's python3, then, in the test host, examples/rig.py (the
# twin of rig.c; also made to fail on a wrong test-exit value) and a pytest
# run of tests/boot/python/linux_boot.py through the kvmlite_vm fixture
# (nproc and MemTotal read with a regex expect, test-exit 5).
source "$(dirname "$0")/lib.sh"

venv=$WORK/venv
/usr/bin/python3 -m venv --system-site-packages "$venv" || fail "cannot make a venv"
(cd "$SRC_DIR" && "$venv/bin/pip" install -q --no-index --no-build-isolation ./python) \
	>"$WORK/pip.log" 2>&1 || fail "pip install ./python: $(tail -n 5 "$WORK/pip.log")"
kernel=$(guest_kernel --vmlinux)
"$SRC_DIR/tests/guest/initramfs" --shell -o "$WORK/shell.gz" ||
	fail "cannot build the shell initramfs"

cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
echo "== rig.py"
"$venv/bin/python" "$SRC_DIR/examples/rig.py" "$kernel" "$WORK/shell.gz"
echo "== rig.py status=\$?"
echo "== wrong-exit"
"$venv/bin/python" "$SRC_DIR/examples/rig.py" --quiet --command "echo RIG-OK 1; test_exit 8" \
	"$kernel" "$WORK/shell.gz"
echo "== wrong-exit status=\$?"
echo "== pytest"
"$venv/bin/python" -m pytest -p no:cacheprovider -v --color=no "$SRC_DIR/tests/boot/python/linux_boot.py" \
	--kvmlite-kernel="$kernel" --kvmlite-initrd="$WORK/shell.gz"
echo "== pytest status=\$?"
DRIVE
chmod +x "$WORK/drive.sh"
# Three Linux boots in one test host session.
BOOT_TIMEOUT=${KVMLITE_BOOT_TIMEOUT:-450} in_testhost "$WORK/drive.sh"
[[ $rc -eq 0 ]] || fail "drive script status $rc"
expect_out "^RIG: kvmlite [0-9]+\.[0-9]+\.[0-9]+ \(Python\)$"
expect_out "^RIG: got the prompt"
# The console is copied to stdout by the library's thread, so the rig's
# own lines may land inside the guest's (unanchored here).
expect_out "^RIG: saw the marker 'RIG-OK 42'$"
expect_out "RIG-OK \\\$\(\(6\*7\)\); test_exit 7"
expect_out "^RIG-VERDICT: PASS: marker seen, test-exit 7$"
expect_out "^== rig.py status=0$"
pass "rig.py: prompt, RIG-OK 42, test-exit 7, status 0"
expect_out "^RIG-VERDICT: FAIL: exit test-exit value 8 \(status 8\), wanted test-exit 7"
expect_out "^== wrong-exit status=1$"
pass "rig.py with a wrong test-exit value: verdict FAIL, status 1"
expect_out "linux_boot.py::test_linux_shell_regex_expect_and_test_exit PASSED"
expect_out "^== pytest status=0$"
pass "pytest with the kvmlite_vm fixture on Linux: 2 vCPUs, MemTotal, test-exit 5"
