# Helpers for the Linux boot tests: each test builds a guest initramfs with
# a scenario, boots the stock Debian kernel in kvmlite through the test
# host, and asserts on what the guest printed and on kvmlite's status.
# shellcheck shell=bash
set -euo pipefail

SRC_DIR=${KVMLITE_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD_DIR=${KVMLITE_BUILD_DIR:-$SRC_DIR/build}
export KVMLITE_BUILD_DIR=$BUILD_DIR
# shellcheck source-path=SCRIPTDIR source=../lib/testhost-faults.sh
. "$SRC_DIR/tests/lib/testhost-faults.sh"
TEST_NAME=$(basename "$0" .sh)
# Per-test scratch space, shared into the test host at the same path.
WORK=$BUILD_DIR/testwork/$TEST_NAME
rm -rf "$WORK"
mkdir -p "$WORK"
# Per run of in_testhost (up to three runs; ctest's TIMEOUT leaves room):
# the guard inside the test host (tests/boot/guard) stops a run still going
# after BOOT_TIMEOUT s, with a state dump; the outer timeout, TESTHOST_SLACK s
# later, is the last resort for a test host too stuck to do even that.
# 240 s: a hang is not retried any more (unless bench/soak says so), and
# an ASan bzImage boot on a loaded machine was seen reaching /init after
# ~150 s, still printing (test_console_input, 2026-12-01).
BOOT_TIMEOUT=${KVMLITE_BOOT_TIMEOUT:-240}
TESTHOST_SLACK=${KVMLITE_TESTHOST_SLACK:-60}
TESTHOST_MODE=$("$SRC_DIR/tests/testhost/run" --mode)
# What a guest kernel prints when it dies, and kvmlite's crash report.
GUEST_DEATH='Kernel panic|BUG:|Oops|general protection|Attempted to kill init|soft lockup|rcu_.*stall'
CRASH_REPORT='kvmlite: guest crashed|triple fault'
GUEST_FATAL="$GUEST_DEATH|$CRASH_REPORT"
# kvmlite's own failures, never blamed on the emulator: a seccomp kill, the
# messages of an internal VMM failure (status 70: src/vm.c, src/vcpu/vcpu.c,
# src/main.c), a sanitizer's report.
VMM_FAULT='^kvmlite: (seccomp: |seccomp filter: |vCPU [0-9]+: (KVM_RUN|KVM_SET_SIGNAL_MASK|seccomp filter): |cannot start (vCPU|the I/O thread|the stderr thread|disk|network)|KVM_IRQ_LINE )|^==[0-9]+==ERROR: [A-Za-z]+Sanitizer|runtime error: '
# kvmlite's state dump (SIGUSR1, kvmlite_vm_dump()) and the guard's verdict.
DUMP_LINE='^kvmlite: dump: '
GUARD_HUNG='^guard: HUNG: '
GUARD_STATUS=121
# Kinds of failure that may be blamed on the emulator when the run kept a
# state dump: those the latest bench/soak saw under QEMU microvm at least as
# often as under kvmlite (written by bench/soak).
EMULATOR_FAULTS=${KVMLITE_EMULATOR_FAULTS:-$SRC_DIR/tests/boot/emulator-faults}
# Every retried (or suspect but not retried) run, for tools/test.sh's summary.
RETRY_LOG=${KVMLITE_RETRY_LOG:-$BUILD_DIR/test-retries}

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	if [[ -f $WORK/out ]]; then
		# With several guests in one output, the one that died may not
		# be in the tail: show every guest's fatal lines first.
		if LC_ALL=C grep -aEq "$GUEST_FATAL" "$WORK/out"; then
			echo "---- fatal lines in the guest output ----" >&2
			LC_ALL=C grep -aE -A12 "$GUEST_FATAL" "$WORK/out" | head -n 80 | show_text >&2
		fi
		# A state dump and the guard's verdict before anything long: CI
		# keeps a log's head.
		if [[ -f $WORK/err ]] && grep -aEq "$DUMP_LINE|^guard: " "$WORK/err"; then
			echo "---- state dump and guard (stderr) ----" >&2
			grep -aE "$DUMP_LINE|^guard: " "$WORK/err" | head -n 160 | show_text >&2
		fi
		echo "---- guest output (last 40 lines) ----" >&2
		if [[ -n $(LC_ALL=C tr -dc '\000' <"$WORK/out" | head -c 1 | tr '\000' x) ]]; then
			echo "($(wc -c <"$WORK/out") bytes with NULs, binary: not shown)" >&2
		else
			tail -n 40 "$WORK/out" | cut -c 1-400 | show_text >&2
		fi
		echo "---- stderr (last 20 lines) ----" >&2
		tail -n 20 "$WORK/err" 2>/dev/null | show_text >&2 || true
	fi
	exit 1
}

# show_text: stdin with what is not printable (escapes, binary) as '?'.
show_text() {
	LC_ALL=C sed 's/[^[:print:][:space:]]/?/g'
}

pass() {
	echo "PASS: $TEST_NAME${1:+: $1}"
}

# guest_kernel [--vmlinux] [FLAVOUR]: the stock Debian kernel, copied
# next to the scenario: the bzImage, or the ELF vmlinux inside it (PVH
# entry; boots seconds faster under emulation, no decompression).
guest_kernel() {
	local k name=bzImage
	[[ ${1:-} == --vmlinux ]] && name=vmlinux
	k=$("$SRC_DIR/tests/guest/kernel" "$@") || fail "cannot get the guest kernel"
	cp "$k" "$WORK/$name"
	echo "$WORK/$name"
}

# guest_initrd [initramfs options] <<'EOF' scenario EOF
guest_initrd() {
	cat >"$WORK/scenario.sh"
	"$SRC_DIR/tests/guest/initramfs" "$@" --scenario "$WORK/scenario.sh" \
		-o "$WORK/initrd.gz" || fail "cannot build the guest initramfs"
	echo "$WORK/initrd.gz"
}

# in_testhost CMD...: run in the test host with $WORK shared; sets $rc and
# leaves stdout/stderr in $WORK/out and $WORK/err. CMD runs under the guard
# (tests/boot/guard, deadline BOOT_TIMEOUT; DUMP_ON: an extended regex of
# CMD's stdout that asks kvmlite for a state dump at once, by default a
# guest kernel's death; DUMP_COMM: the name of a program embedding the
# library that dumps on SIGUSR1, asked too). A run that fails in a way the emulator may be
# blamed for is run again (up to three runs), per run_fault below.
in_testhost() {
	local try tries=3 f kept
	local dump_on=${DUMP_ON-$GUEST_DEATH}
	for ((try = 1; try <= tries; try++)); do
		rc=0
		touch "$WORK/.run-start"
		timeout -k 10 $((${BOOT_TIMEOUT%.*} + TESTHOST_SLACK)) "$SRC_DIR/tests/testhost/run" \
			--share "$WORK" -- "$SRC_DIR/tests/boot/guard" --deadline "$BOOT_TIMEOUT" \
			${dump_on:+--dump-on "$dump_on"} ${DUMP_COMM:+--dump-comm "$DUMP_COMM"} \
			-- "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
		run_fault
		[[ -n $fault_kind ]] || break
		if [[ -z $fault_retry ]]; then
			echo "NOTE: $TEST_NAME: run $try: $fault_kind: $fault_why; not retried: $fault_not" >&2
			retry_log "$try" not-retried "$fault_not" "$WORK/out $WORK/err ${fault_files[*]}"
			break
		fi
		if ((try == tries)); then
			echo "NOTE: $TEST_NAME: run $try: $fault_kind: $fault_why (no runs left)" >&2
			retry_log "$try" not-retried "no runs left" "$WORK/out $WORK/err ${fault_files[*]}"
			break
		fi
		echo "RETRY: $TEST_NAME: run $try of $tries: $fault_kind: $fault_why${fault_retry:+ ($fault_retry)}" >&2
		# Numbered across the test's calls, so no kept run is overwritten.
		TRY_SEQ=$((${TRY_SEQ:-0} + 1))
		kept=''
		for f in "$WORK/out" "$WORK/err" "${fault_files[@]}"; do
			cp "$f" "$f.try$TRY_SEQ"
			kept+=" $f.try$TRY_SEQ"
		done
		retry_log "$try" retried "$fault_retry" "${kept# }"
	done
	# The guest's tty ends lines with CR LF.
	sed -i 's/\r$//' "$WORK/out"
	# A VMM error fails the test whatever it goes on to check (a sanitizer
	# report in a run that still printed its marker included), unless the
	# test provokes one on purpose (EXPECT_VMM_FAULT=1).
	if [[ $fault_kind == vmm-error && -z ${EXPECT_VMM_FAULT:-} ]]; then
		fail "kvmlite's own failure: $fault_why"
	fi
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		fail "timed out after $((${BOOT_TIMEOUT%.*} + TESTHOST_SLACK))s (outer timeout: no word from inside the test host)"
	fi
	if [[ $rc -eq $GUARD_STATUS ]] && grep -q -- "$GUARD_HUNG" "$WORK/err"; then
		fail "hung: $(grep -m1 -- "$GUARD_HUNG" "$WORK/err" | sed 's/^guard: HUNG: //') ($(grep -c -- "$DUMP_LINE" "$WORK/err") state dump lines in err)"
	fi
	if [[ $rc -eq 125 ]]; then
		fail "the test host failed: $(tail -n 3 "$WORK/err")"
	fi
}

# retry_log RUN ACTION WHY FILES: one line in $RETRY_LOG (tab-separated:
# time, test, run, kind, action, reason, files kept).
retry_log() {
	testhost_retry_log "$RETRY_LOG" "$TEST_NAME" "$@"
}

# emulator_faults: the kinds bench/soak allows to be blamed on the emulator.
emulator_faults() {
	[[ -f $EMULATOR_FAULTS ]] || return 0
	sed -e 's/#.*//' "$EMULATOR_FAULTS" | awk 'NF { print $1 }'
}

# run_fault: after a run, what kind of failure it shows, if any, and
# whether it may be run again (tests/boot/README.md):
#   fault_kind   vmm-error, host-panic, host-freeze, host-abort, crash-report,
#                guest-panic, hang; empty: no sign of a fault
#   fault_why    one line: what the run shows
#   fault_retry  empty: not retried; else why it may be
#   fault_not    why it is not retried
#   fault_files  the run's own files (guest consoles) that show it
# - a VMM error (status 70, or its message), a seccomp kill (71, or
#   "kvmlite: seccomp:"), a sanitizer's report: kvmlite's, never retried,
#   whatever else the run shows;
# - the emulated test host panicked or froze (its console, its watchdog),
#   or the emulator itself aborted (QEMU's SIGABRT, tests/testhost/run):
#   the emulator's, retried;
# - kvmlite's crash report (81, "kvmlite: guest crashed"), a guest kernel's
#   death (GUEST_DEATH), a hang with the test host alive (the guard's
#   verdict, or the test's own sign: RETRY_ON): kvmlite's until shown
#   otherwise; retried only in the emulated host, only when the run kept a
#   state dump ("kvmlite: dump: " lines) and the kind is on the list that
#   bench/soak wrote from runs where QEMU microvm failed so at least as
#   often ($EMULATOR_FAULTS).
# With hardware virtualization there is no emulator to blame: nothing is
# retried.
run_fault() {
	fault_kind='' fault_why='' fault_retry='' fault_not='' fault_files=()
	# out, err and what the run left in files of its own (guest consoles).
	mapfile -t fault_files < <(find "$WORK" -maxdepth 1 -type f -newer "$WORK/.run-start" \
		\( -name '*.out' -o -name '*.err' \) | sort)
	local files=("$WORK/out" "$WORK/err" "${fault_files[@]}") line
	first() { { grep -Ehm1 -- "$1" "${files[@]}" || true; } | tr -d '\r' | head -n 1 | cut -c1-200; }
	if [[ $rc -eq 70 || $rc -eq 71 ]] || grep -Eqh -- "$VMM_FAULT" "${files[@]}"; then
		line=$(first "$VMM_FAULT")
		fault_kind=vmm-error fault_why="status $rc${line:+: $line}"
		fault_not="kvmlite's own failure"
		return 0
	fi
	if [[ $rc -eq 125 ]] && testhost_fault "$WORK/err"; then
		: # host-panic, host-freeze, host-abort
	elif [[ $rc -eq 124 || $rc -eq 137 ]] && ! grep -q -- "$GUARD_HUNG" "$WORK/err"; then
		fault_kind=hang fault_why="the outer timeout fired: the guard never reported"
	elif [[ $rc -eq 81 ]] || grep -Eqh -- "$CRASH_REPORT" "${files[@]}"; then
		line=$(first "$CRASH_REPORT")
		fault_kind=crash-report fault_why="status $rc${line:+: $line}"
	elif grep -Eqh -- "$GUEST_DEATH" "${files[@]}"; then
		fault_kind=guest-panic fault_why="a guest's kernel died: $(first "$GUEST_DEATH")"
	elif [[ $rc -eq $GUARD_STATUS ]] || grep -qh -- "$GUARD_HUNG" "${files[@]}"; then
		fault_kind=hang fault_why=$(first "$GUARD_HUNG")
	elif [[ -n ${RETRY_ON:-} ]] && grep -Eqh -- "$RETRY_ON" "${files[@]}"; then
		fault_kind=hang fault_why="a guest hung: $(first "$RETRY_ON")"
	else
		return 0
	fi
	if [[ $TESTHOST_MODE != emulated ]]; then
		fault_not="hardware virtualization: no emulator to blame"
	elif [[ $fault_kind == host-* ]]; then
		fault_retry="the emulator's own fault"
	elif ! grep -qh -- "$DUMP_LINE" "${files[@]}"; then
		fault_not="no state dump (no '${DUMP_LINE#^}' line) was captured"
	elif ! emulator_faults | grep -qx -- "$fault_kind"; then
		fault_not="'$fault_kind' is not on ${EMULATOR_FAULTS#"$SRC_DIR/"} (bench/soak: QEMU microvm not seen failing so at least as often)"
	else
		fault_retry="state dump kept ($(cat "${files[@]}" | grep -c -- "$DUMP_LINE") lines); '$fault_kind' is on ${EMULATOR_FAULTS#"$SRC_DIR/"}"
	fi
}

# The guests' command line: kvmlite's default and "quiet". Every kernel
# message is a few hundred bytes through the emulated UART; under the
# emulated test host the boot log alone costs several seconds per boot
# (tests/boot/README.md). A guest kernel's death still prints (its
# messages are above quiet's loglevel). Exported: the drive scripts run
# in the test host and use it too. test_boot_stock boots the default.
# The default comes from kvmlite.h, where the command and library get it.
GUEST_CMDLINE=$(sed -n 's/^#define KVMLITE_DEFAULT_CMDLINE "\(.*\)"$/\1/p' "$SRC_DIR/include/kvmlite.h")
[[ -n $GUEST_CMDLINE ]] || { echo "lib.sh: no KVMLITE_DEFAULT_CMDLINE in include/kvmlite.h" >&2; exit 1; }
# cryptomgr.notests: the crypto manager's self-tests test nothing of
# kvmlite's. initcall_blacklist: three built-in initcalls that cost ~1.2 s
# of a ~10 s boot under the emulator (initcall_debug, 2026-12-03) for
# nothing the tests use: kdf108's self-test (not covered by notests;
# 0.8 s), the block I/O tracer (0.25 s) and the encrypted-keys type
# (0.13 s).
export GUEST_CMDLINE="$GUEST_CMDLINE quiet cryptomgr.notests initcall_blacklist=crypto_kdf108_init,init_blk_tracer,init_encrypted"

# run_kvmlite ARGS...: boot kvmlite in the test host, with GUEST_CMDLINE
# unless ARGS give a command line or a configuration.
run_kvmlite() {
	local a own=''
	for a in "$@"; do
		case $a in --cmdline | --cmdline=* | --config | --config=*) own=1 ;; esac
	done
	if [[ -n $own ]]; then
		in_testhost kvmlite run "$@"
	else
		in_testhost kvmlite run --cmdline "$GUEST_CMDLINE" "$@"
	fi
}

# run_boots <<EOF  NAME ARGS... (one boot per line) EOF: every boot in one
# test-host session (one test-host boot, not one each), in turn, each
# under the guard (deadline BOOT_EACH_TIMEOUT, default 120 s) as
# `kvmlite run ARGS` (shell words; GUEST_CMDLINE unless they give
# --cmdline or --config), its console in NAME.out and stderr in NAME.err,
# "NAME status=N" in $WORK/statuses. A boot that hangs is a hang
# (RETRY_ON). Then boot_ok checks each.
run_boots() {
	local name args
	{
		echo '#!/bin/sh'
		while read -r name args; do
			[[ -n $name ]] || continue
			case " $args " in
			*" --cmdline "* | *" --cmdline="* | *" --config "* | *" --config="*) ;;
			*) args="--cmdline \"\$GUEST_CMDLINE\" $args" ;;
			esac
			echo "'$SRC_DIR/tests/boot/guard' --dump-on '$GUEST_DEATH' --deadline ${BOOT_EACH_TIMEOUT:-120} -- \\"
			echo "	kvmlite run $args >'$WORK/$name.out' 2>'$WORK/$name.err'"
			echo "echo \"$name status=\$?\""
		done
	} >"$WORK/drive.sh"
	chmod +x "$WORK/drive.sh"
	RETRY_ON='^[A-Za-z0-9_-]+ status=121$' in_testhost "$WORK/drive.sh"
	[[ $rc -eq 0 ]] || fail "drive script status $rc"
	cp "$WORK/out" "$WORK/statuses"
}

# boot_ok NAME STATUS: run_boots' boot NAME exited with STATUS; its console
# and stderr are what expect_out, expect_err (and fail) look at from now on.
boot_ok() {
	sed 's/\r$//' "$WORK/$1.out" >"$WORK/out"
	cp "$WORK/$1.err" "$WORK/err"
	grep -qx "$1 status=$2" "$WORK/statuses" ||
		fail "$1: $(grep "^$1 status=" "$WORK/statuses" || echo "no status"), expected status=$2"
}

expect_status() {
	[[ $rc -eq $1 ]] || fail "kvmlite exited with $rc, expected $1"
}

# expect_out PATTERN: an extended regex some line of the output matches.
expect_out() {
	grep -Eq -- "$1" "$WORK/out" || fail "output lacks /$1/"
}

expect_no_out() {
	if grep -Eq -- "$1" "$WORK/out"; then
		fail "output has /$1/"
	fi
}

expect_err() {
	grep -Eq -- "$1" "$WORK/err" || fail "stderr lacks /$1/"
}

# need_cmd CMD PACKAGE: a missing host tool fails the test, naming the package.
need_cmd() {
	command -v "$1" >/dev/null || fail "$1 is missing: apt-get install $2"
}
