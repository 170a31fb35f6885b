# shellcheck shell=bash
# What both kinds of boot script (tests/boot/lib.sh for x86,
# tests/lib/arm64-guest.sh) call the emulator's own fault, and how they
# log a run they retry (tests/boot/README.md, "Retries, and why").

# testhost_fault ERR: for a tests/testhost/run call that ended with
# status 125, whether its stderr ERR shows that the emulator ended it:
# sets fault_kind (host-panic, host-freeze, host-abort) and fault_why (one
# line), status 0; status 1 if it does not.
testhost_fault() {
	local line
	if grep -q "Kernel panic" "$1"; then
		fault_kind=host-panic fault_why="the emulated test host panicked: $(grep -m1 "Kernel panic" "$1")"
	elif grep -q "^testhost: the emulated test host froze" "$1"; then
		fault_kind=host-freeze fault_why=$(grep -m1 "^testhost: the emulated test host froze" "$1")
	elif grep -q "^testhost: the emulator aborted" "$1"; then
		line=$({ grep -Em1 '^qemu-system-[a-z0-9_]+: .*(Assertion|fatal)' "$1" || true; } | cut -c1-200)
		fault_kind=host-abort fault_why="$(grep -m1 "^testhost: the emulator aborted" "$1")${line:+: $line}"
	else
		return 1
	fi
}

# testhost_retry_log LOG TEST RUN ACTION WHY FILES: one line in LOG, which
# tools/test.sh's summary reads (tab-separated: time, test, run,
# $fault_kind, action, "$fault_why: WHY", files kept).
testhost_retry_log() {
	mkdir -p "$(dirname "$1")"
	printf '%s\t%s\t%s\t%s\t%s\t%s: %s\t%s\n' "$(date +%s)" "$2" "$3" \
		"$fault_kind" "$4" "$fault_why" "$5" "$6" >>"$1"
}
