#!/usr/bin/env bash
# tests/libtest/expect_timeout.c: an expect that never matches returns
# -ETIMEDOUT on time with the recent output in `seen`; the VM is then
# stopped and destroyed without leaks: fds, threads, mappings, heap bytes
# and RSS after many create/expect-timeout/stop/destroy rounds, plus
# LeakSanitizer in a sanitized build tree (which must also catch a VM left
# undestroyed on purpose).
source "$(dirname "$0")/lib.sh"

bin=$BUILD_DIR/libtest_expect_timeout
[[ -x $bin ]] || fail "$bin is missing (build the tree first)"
rounds=${KVMLITE_LEAK_ROUNDS:-8}
sanitized=0
grep -q '^KVMLITE_SANITIZE:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" && sanitized=1
kernel=$(guest_kernel --vmlinux)
initrd=$(guest_initrd <<'SCENARIO'
i=0
while :; do
	i=$((i + 1))
	echo "GUEST-TICK $i"
	sleep 0.2
done
SCENARIO
)
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
# ASan parks freed memory in a quarantine (256 MiB by default) that would
# read as RSS growth; keep it small so RSS still means something.
export ASAN_OPTIONS=detect_leaks=1:exitcode=23:quarantine_size_mb=1
"$bin" "$kernel" "$initrd" $rounds
echo "== status=\$?"
if [ $sanitized = 1 ]; then
	# The leak is on purpose: its report goes where in_testhost's
	# search for sanitizer reports (out, err, *.out, *.err) does not look.
	"$bin" "$kernel" "$initrd" 0 --leak-one 2>"$WORK/lsan.log"
	echo "== leak-one status=\$?"
fi
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"
[[ $rc -eq 0 ]] || fail "drive script status $rc"
expect_out '^expect_timeout: -ETIMEDOUT after [0-9]+ ms; seen [0-9]+ bytes'
expect_out "^PASS: expect_timeout \($rounds rounds\)$"
expect_out '^== status=0$'
grep -E '^expect_timeout: (baseline|after|1 leaked)' "$WORK/out"
pass "expect timed out cleanly; $rounds rounds leak nothing; a leaked VM is noticed"
if [[ $sanitized == 1 ]]; then
	expect_out '^expect_timeout: leak check by LeakSanitizer'
	expect_out '^== leak-one status=23$'
	grep -q 'ERROR: LeakSanitizer: detected memory leaks' "$WORK/lsan.log" ||
		fail "LeakSanitizer did not report the undestroyed VM"
	pass "LeakSanitizer active: an undestroyed VM is reported"
else
	expect_out '^expect_timeout: leak check by counters'
fi
