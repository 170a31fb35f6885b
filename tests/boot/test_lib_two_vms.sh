#!/usr/bin/env bash
# tests/libtest/two_vms.c: two Linux guests at once in one process, each
# started and waited from its own thread, one console through the callback
# and one through a file descriptor; each prints the token of its own
# kernel command line and exits with its own test-exit value.
source "$(dirname "$0")/lib.sh"

bin=$BUILD_DIR/libtest_two_vms
[[ -x $bin ]] || fail "$bin is missing (build the tree first)"
kernel=$(guest_kernel --vmlinux)
initrd=$(guest_initrd <<'SCENARIO'
for w in $(cat /proc/cmdline); do
	case $w in
	kltoken=*) token=${w#kltoken=} ;;
	klexit=*) value=${w#klexit=} ;;
	esac
done
echo "GUEST-TOKEN=$token"
test_exit "$value"
SCENARIO
)
export ASAN_OPTIONS=detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}
in_testhost "$bin" "$kernel" "$initrd" "$WORK"
expect_status 0
expect_out '^two_vms: ALPHA \(callback\): [0-9]+ console bytes, own token, no .BRAVO., test-exit 21$'
expect_out '^two_vms: BRAVO \(fd\): [0-9]+ console bytes, own token, no .ALPHA., test-exit 22$'
expect_out '^PASS: two_vms$'
# The file-descriptor console, checked here too.
grep -q '^GUEST-TOKEN=BRAVO' <(tr -d '\r' <"$WORK/console.BRAVO") ||
	fail "console.BRAVO lacks GUEST-TOKEN=BRAVO"
if grep -q ALPHA "$WORK/console.BRAVO"; then
	fail "console.BRAVO has ALPHA"
fi
pass "two concurrent VMs, own consoles, test-exit 21 and 22"
