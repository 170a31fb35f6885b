#!/usr/bin/env bash
# The Python package on a Linux guest, in one test host session and one
# boot: pytest runs tests/boot/python/linux_boot.py, a test through the
# kvmlite_vm fixture (2 vCPUs and MemTotal read with a regex expect,
# test-exit 5). The package is the one ctest's python/install put in
# $KVMLITE_PYTHON_VENV (`pip install ./python` offline into a venv of
# Debian's python3), else installed here. examples/rig.py uses the same
# calls; its verdicts are tested on a stub (tests/python/test_rig.py), not
# here: a second Linux boot costs ~30 s of CI.
source "$(dirname "$0")/lib.sh"

venv=${KVMLITE_PYTHON_VENV:-}
if [[ -z $venv ]]; then
	"$SRC_DIR/tests/python/install.sh" "$BUILD_DIR" >"$WORK/install.log" 2>&1 ||
		fail "tests/python/install.sh: $(tail -n 5 "$WORK/install.log")"
	venv=$BUILD_DIR/python-venv
fi
[[ -x $venv/bin/python3 ]] || fail "no venv at $venv (python/install failed?)"
kernel=$(guest_kernel --vmlinux)
"$SRC_DIR/tests/guest/initramfs" --shell -o "$WORK/shell.gz" ||
	fail "cannot build the shell initramfs"

# --capture=sys: conftest.py's SIGUSR1 state dump goes to the real stderr.
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
"$venv/bin/python3" -m pytest -p no:cacheprovider -v --color=no --capture=sys \
	"$SRC_DIR/tests/boot/python/linux_boot.py" \
	--kvmlite-kernel="$kernel" --kvmlite-initrd="$WORK/shell.gz"
echo "== pytest status=\$?"
DRIVE
chmod +x "$WORK/drive.sh"
DUMP_COMM=python3 in_testhost "$WORK/drive.sh"
[[ $rc -eq 0 ]] || fail "drive script status $rc"
expect_out "linux_boot.py::test_linux_shell_regex_expect_and_test_exit PASSED"
expect_out "^== pytest status=0$"
pass "pytest with the kvmlite_vm fixture on Linux: 2 vCPUs, MemTotal, test-exit 5"
