#!/usr/bin/env bash
# The boot tests' retry policy (tests/boot/lib.sh, run_fault) on crafted
# runs, and the guard (tests/boot/guard) on a fake kvmlite, locally: no
# /dev/kvm, no test host. tests/boot/README.md says what is retried and why.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export KVMLITE_BUILD_DIR=$tmp/build KVMLITE_SRC_DIR=$src
export KVMLITE_EMULATOR_FAULTS=$tmp/faults KVMLITE_RETRY_LOG=$tmp/retries
# shellcheck source-path=SCRIPTDIR source=../boot/lib.sh disable=SC2034,SC2154
source "$src/tests/boot/lib.sh"
TESTHOST_MODE=emulated
n=0 bad=0

# case NAME RC KIND RETRIED [OUT [ERR [FILE CONTENT]]]: a run with status RC
# and this output is of KIND and retried (yes/no) with the list in $tmp/faults.
case_() {
	local name=$1 want_kind=$3 want_retry=$4
	rc=$2
	rm -f "$WORK"/*
	touch "$WORK/.run-start"
	sleep 0.01
	printf '%b' "${5:-}" >"$WORK/out"
	printf '%b' "${6:-}" >"$WORK/err"
	[[ -n ${7:-} ]] && printf '%b' "$8" >"$WORK/$7"
	run_fault
	local got_retry=no
	[[ -n $fault_retry ]] && got_retry=yes
	n=$((n + 1))
	if [[ $fault_kind != "$want_kind" || $got_retry != "$want_retry" ]]; then
		echo "FAIL: $name: kind '$fault_kind' retried $got_retry (want '$want_kind', $want_retry): $fault_why / $fault_not" >&2
		bad=$((bad + 1))
	else
		echo "ok: $name: ${fault_kind:-no fault}${fault_retry:+, retried: $fault_retry}${fault_not:+, not retried: $fault_not}"
	fi
}

dump='kvmlite: dump: vcpu 0 rip=0xffffffff81e3c4ab mp_state=RUNNABLE\n'
hung='guard: HUNG: kvmlite did not end within 150 s; state dump requested from 1 kvmlite process(es); stopping it (status 121)\n'
printf '# kind qemu kvmlite\nhang 2 1\nguest-panic 1 0\ncrash-report 1 1\n' >"$tmp/faults"
case_ "clean run" 0 "" no "KVMLITE-GUEST-INIT\r\n"
case_ "status 70" 70 vmm-error no "" "kvmlite: something\n"
case_ "status 71" 71 vmm-error no "" "kvmlite: seccomp: forbidden system call 41 on a vCPU thread; stopping\n"
case_ "seccomp line in a console file, with a hang and a dump" "$GUARD_STATUS" vmm-error no "" "$hung$dump" \
	vm0.out "kvmlite: seccomp: forbidden system call 41 on a vCPU thread; stopping\n"
case_ "VMM error line with a guest panic and a dump" 0 vmm-error no "Kernel panic - not syncing: x\r\n" \
	"kvmlite: vCPU 1: KVM_RUN: Bad address\n$dump"
case_ "sanitizer report" 1 vmm-error no "" "==123==ERROR: AddressSanitizer: heap-use-after-free\n"
case_ "test host froze" 125 host-freeze yes "" "testhost: the emulated test host froze (no heartbeat from CPU 1 for 61 s); stopping it\n"
case_ "test host panicked" 125 host-panic yes "" "Kernel panic - not syncing: corrupted stack end\n"
qabort="qemu-system-x86_64: ../../hw/pci/msix.c:218: msix_table_mmio_write: Assertion \`addr + size <= dev->msix_entries_nr * PCI_MSIX_ENTRY_SIZE' failed.\n"
case_ "the emulator aborted" 125 host-abort yes "" "${qabort}testhost: the emulator aborted (QEMU exit 134, SIGABRT: its own assertion or fatal error, above) before the test host's init started\n"
case_ "QEMU's assertion line alone (no word from testhost/run)" 125 "" no "" "$qabort"
case_ "the emulator aborted, with a VMM error" 125 vmm-error no "" "kvmlite: vCPU 0: KVM_RUN: Bad address\n${qabort}testhost: the emulator aborted (QEMU exit 134) after the test host's init started\n"
case_ "outer timeout, no word from the guard" 124 hang no
case_ "hang with a dump, hang listed" "$GUARD_STATUS" hang yes "" "$hung$dump"
case_ "hang without a dump" "$GUARD_STATUS" hang no "" "$hung"
case_ "crash report with a dump, listed" 81 crash-report yes "" "kvmlite: guest crashed: triple fault (KVM_EXIT_SHUTDOWN) on vCPU 0\n$dump"
case_ "guest panic with a dump in a console file" 80 guest-panic yes "" "" \
	vm2.out "[ 3.1] Kernel panic - not syncing: Attempted to kill init!\r\n$dump"
case_ "guest panic without a dump" 80 guest-panic no "[ 3.1] BUG: kernel NULL pointer dereference\r\n"
RETRY_ON='^GUEST-STALL'
case_ "test's own sign of a hang, with a dump" 30 hang yes "GUEST-STALL send\r\n" "$dump"
unset RETRY_ON
printf 'hang 1 0\n' >"$tmp/faults"
case_ "crash report with a dump, not listed" 81 crash-report no "" "kvmlite: guest crashed: x\n$dump"
rm -f "$tmp/faults"
case_ "hang with a dump, no list" "$GUARD_STATUS" hang no "" "$hung$dump"
TESTHOST_MODE=direct
case_ "test host froze, direct mode" 125 host-freeze no "" "testhost: the emulated test host froze (x)\n"
case_ "the emulator aborted, direct mode" 125 host-abort no "" "testhost: the emulator aborted (x)\n"
TESTHOST_MODE=emulated

# The guard: a fake kvmlite that answers SIGUSR1 with dump lines on its
# stderr (a file), hung: the guard sends SIGUSR1 twice, copies both dumps
# into its own stderr, says whether the vCPUs' exit counts grew between
# them (the fake's do, unless "stuck") and how long the machine stood
# still, says HUNG and exits 121; a fake that does not handle SIGUSR1
# still gets it (it dies of it, and the command may go on for the
# dump's 2 s before it is killed).
mkdir -p "$tmp/bin"
cat >"$tmp/bin/kvmlite" <<'EOF'
#!/bin/bash
exits=100 step=7
case ${1:-} in
deaf) ;;
*)
	[[ ${1:-} == stuck ]] && step=0
	trap 'echo "kvmlite: dump: vcpu0: thread=in-guest exits=$exits last_exit=io-out:0x3f8" >&2; exits=$((exits + step))' USR1
	;;
esac
echo "FAKE-CONSOLE"
# No fork (a forked child would be another "kvmlite" for a moment).
mkfifo "$0.$$.fifo"
exec 9<>"$0.$$.fifo"
rm "$0.$$.fifo"
while :; do read -r -t 0.2 -u 9 || :; done
EOF
chmod +x "$tmp/bin/kvmlite"
guard_case() { # NAME WANT_DUMP_LINES ARG WANT_PROGRESS_LINE
	local st=0
	PATH=$tmp/bin:$PATH "$src/tests/boot/guard" --deadline 1 --dump-wait 1 -- \
		sh -c "kvmlite $3 2>$tmp/kvmlite.err; echo AFTER" >"$tmp/g.out" 2>"$tmp/g.err" || st=$?
	n=$((n + 1))
	if [[ $st -ne 121 ]] || ! grep -q '^guard: HUNG: sh did not end within 1 s' "$tmp/g.err" ||
		! grep -q "^guard: SIGUSR1 sent to kvmlite pid [0-9]* (stderr: $tmp/kvmlite.err)" "$tmp/g.err" ||
		[[ $(grep -c '^kvmlite: dump: ' "$tmp/g.err") -ne $2 ]] ||
		! grep -q '^guard: the machine the guard runs on stood still for [0-9.]* s at most' "$tmp/g.err" ||
		{ [[ -n ${4:-} ]] && ! grep -q "^guard: pid [0-9]*: between the two dumps $4" "$tmp/g.err"; } ||
		{ [[ $2 -ne 0 ]] && grep -q AFTER "$tmp/g.out"; } ||
		pgrep -f "$tmp/bin/kvmlite" >/dev/null; then
		echo "FAIL: guard: $1: status $st" >&2
		cat "$tmp/g.out" "$tmp/g.err" >&2
		bad=$((bad + 1))
	else
		echo "ok: guard: $1: status 121, $2 dump line(s) kept, everything stopped"
	fi
}
guard_case "hung fake kvmlite, at work" 2 "" "its vCPUs exited to it: vcpu0 100->107 (the guest was at work)$"
guard_case "hung fake kvmlite, stuck" 2 stuck "no vCPU exited to it (the guest was idle or stuck)$"
guard_case "hung fake kvmlite that ignores SIGUSR1" 0 deaf
# --dump-on: the first matching line asks for a dump at once; nothing is
# killed, the output passes through.
st=0
PATH=$tmp/bin:$PATH "$src/tests/boot/guard" --deadline 3 --dump-wait 1 --dump-on 'Kernel panic' -- \
	sh -c "kvmlite 2>$tmp/kvmlite.err & sleep 0.5; echo 'Kernel panic - not syncing: x'; sleep 1.5; kill \$!; echo AFTER" \
	>"$tmp/g.out" 2>"$tmp/g.err" || st=$?
n=$((n + 1))
if [[ $st -ne 0 ]] || ! grep -q '^guard: the output matched /Kernel panic/' "$tmp/g.err" ||
	[[ $(grep -c '^kvmlite: dump: ' "$tmp/g.err") -ne 1 ]] || ! grep -q '^AFTER$' "$tmp/g.out" ||
	! grep -q '^FAKE-CONSOLE$' "$tmp/g.out"; then
	echo "FAIL: guard --dump-on: status $st" >&2
	cat "$tmp/g.out" "$tmp/g.err" >&2
	bad=$((bad + 1))
else
	echo "ok: guard --dump-on: dump at the first match, output passed through, status 0"
fi
st=0
"$src/tests/boot/guard" --deadline 5 -- sh -c 'exit 71' || st=$?
n=$((n + 1))
if [[ $st -eq 71 ]]; then
	echo "ok: guard: a command's status passes through"
else
	echo "FAIL: guard: status $st, not 71" >&2
	bad=$((bad + 1))
fi

# The arm64 scripts' session (tests/lib/arm64-guest.sh, arm64_testhost)
# with a fake tests/testhost/run: its statuses in turn from $tmp/a64.st
# (one a line), each with the stderr line in $tmp/a64.why. A freeze is
# run again and logged; a test host that failed otherwise is not.
cat >"$tmp/fake-run" <<'EOF'
#!/bin/bash
[[ $* == *--mode* ]] && { echo "${FAKE_MODE:-emulated}"; exit 0; }
echo run >>"$FAKE_DIR/a64.calls"
i=$(wc -l <"$FAKE_DIR/a64.calls")
st=$(sed -n "${i}p" "$FAKE_DIR/a64.st")
[[ $st == 0 ]] || sed -n "${i}p" "$FAKE_DIR/a64.why" >&2
exit "${st:-0}"
EOF
chmod +x "$tmp/fake-run"
# a64case NAME WANT_STATUS WANT_CALLS WANT_LOGGED "ST WHY"...
a64case() {
	local name=$1 want_st=$2 want_calls=$3 want_logged=$4 st=0 calls logged p
	shift 4
	rm -f "$tmp/a64".* "$tmp/a64b/test-retries"
	mkdir -p "$tmp/a64b/testwork/x"
	for p; do
		echo "${p%% *}" >>"$tmp/a64.st"
		echo "${p#* }" >>"$tmp/a64.why"
	done
	(
		kl_die() { echo "$*" >&2; exit 2; }
		# shellcheck source=../lib/arm64-guest.sh
		source "$src/tests/lib/arm64-guest.sh"
		arm64_name=x build=$tmp/a64b work=$tmp/a64b/testwork/x
		ARM64_TESTHOST_RUN=$tmp/fake-run FAKE_DIR=$tmp arm64_testhost /dev/null
	) 2>"$tmp/a64.err" || st=$?
	calls=$(wc -l <"$tmp/a64.calls")
	logged=$({ cat "$tmp/a64b/test-retries" 2>/dev/null || true; } | awk -F'\t' '{ print $4 "/" $5 }' | paste -sd, -)
	n=$((n + 1))
	if [[ $st != "$want_st" || $calls != "$want_calls" || $logged != "$want_logged" ]]; then
		echo "FAIL: arm64_testhost: $name: status $st, $calls runs, logged '$logged' (want $want_st, $want_calls, '$want_logged'): $(tr '\n' ' ' <"$tmp/a64.err")" >&2
		bad=$((bad + 1))
	else
		echo "ok: arm64_testhost: $name: status $st after $calls run(s)${logged:+, logged $logged}"
	fi
}
froze="125 testhost: the emulated test host froze (no heartbeat from CPU 0 for 61 s); stopping it"
a64case "clean" 0 1 "" "0 -"
a64case "froze, then passed" 0 2 "host-freeze/retried" "$froze" "0 -"
a64case "QEMU aborted, then passed" 0 2 "host-abort/retried" \
	"125 testhost: the emulator aborted (QEMU exit 134, SIGABRT: its own assertion or fatal error, above) after the test host's init started" "0 -"
a64case "froze three times" 125 3 "host-freeze/retried,host-freeze/retried,host-freeze/not-retried" "$froze" "$froze" "$froze"
a64case "no status from the test host, no sign of the emulator" 125 1 "" \
	"125 testhost: no exit status from the test host (QEMU exit 0; kernel panic or init failure? its messages are above)"
a64case "the command failed" 125 1 "" "1 arm64_boot: FAIL: x"
FAKE_MODE=direct a64case "froze, direct mode" 125 1 "" "$froze"

# fail(): a binary output (test_exec's stdout) is not printed; the dump
# and the guard's lines come before anything long.
head -c 4096 /dev/zero | tr '\0' '\377' >"$WORK/out"
printf 'x\0y\n' >>"$WORK/out"
printf "$hung${dump}guard: pid 9: between the two dumps no vCPU exited to it\n" >"$WORK/err"
st=0
(fail "a: status=121") 2>"$tmp/fail.err" || st=$?
n=$((n + 1))
if [[ $st -ne 1 ]] || ! grep -q '^---- state dump and guard (stderr) ----$' "$tmp/fail.err" ||
	! grep -q "^kvmlite: dump: vcpu 0 rip=" "$tmp/fail.err" ||
	! grep -q '^guard: pid 9: between the two dumps' "$tmp/fail.err" ||
	! grep -q '^(4100 bytes with NULs, binary: not shown)$' "$tmp/fail.err" ||
	LC_ALL=C grep -q $'\377' "$tmp/fail.err"; then
	echo "FAIL: fail(): status $st, report:" >&2
	show_text <"$tmp/fail.err" >&2
	bad=$((bad + 1))
else
	echo "ok: fail(): the dump and the guard's lines shown, the binary output not"
fi

echo "$((n - bad)) passed, $bad failed"
((bad == 0))
