# Helpers for the Linux boot tests: each test builds a guest initramfs with
# a scenario, boots the stock Debian kernel in kvmlite through the test
# host, and asserts on what the guest printed and on kvmlite's status.
# shellcheck shell=bash
set -euo pipefail

SRC_DIR=${KVMLITE_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD_DIR=${KVMLITE_BUILD_DIR:-$SRC_DIR/build}
export KVMLITE_BUILD_DIR=$BUILD_DIR
TEST_NAME=$(basename "$0" .sh)
# Per-test scratch space, shared into the test host at the same path.
WORK=$BUILD_DIR/testwork/$TEST_NAME
rm -rf "$WORK"
mkdir -p "$WORK"
# Per run of in_testhost (up to three runs; ctest's TIMEOUT leaves room).
BOOT_TIMEOUT=${KVMLITE_BOOT_TIMEOUT:-150}
TESTHOST_MODE=$("$SRC_DIR/tests/testhost/run" --mode)
# What a guest kernel or kvmlite prints when the guest dies.
GUEST_FATAL='Kernel panic|BUG:|Oops|general protection|Attempted to kill init|kvmlite: guest crashed|triple fault|soft lockup|rcu_.*stall'

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	if [[ -f $WORK/out ]]; then
		# With several guests in one output, the one that died may not
		# be in the tail: show every guest's fatal lines first.
		if grep -Eq "$GUEST_FATAL" "$WORK/out"; then
			echo "---- fatal lines in the guest output ----" >&2
			grep -E -A12 "$GUEST_FATAL" "$WORK/out" | head -n 80 >&2
		fi
		echo "---- guest output (last 40 lines) ----" >&2
		tail -n 40 "$WORK/out" >&2
		echo "---- stderr ----" >&2
		tail -n 20 "$WORK/err" >&2 || true
	fi
	exit 1
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
# leaves stdout/stderr in $WORK/out and $WORK/err.
in_testhost() {
	local try tries=3 why
	for ((try = 1; try <= tries; try++)); do
		rc=0
		touch "$WORK/.run-start"
		timeout -k 10 "$BOOT_TIMEOUT" "$SRC_DIR/tests/testhost/run" \
			--share "$WORK" -- "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
		why=$(emulator_fault)
		[[ -n $why && $try -lt $tries ]] || break
		echo "RETRY: $TEST_NAME: run $try of $tries: $why" >&2
		cp "$WORK/out" "$WORK/out.try$try"
		cp "$WORK/err" "$WORK/err.try$try"
	done
	[[ -n $why ]] && echo "NOTE: $TEST_NAME: $why (no runs left)" >&2
	# The guest's tty ends lines with CR LF.
	sed -i 's/\r$//' "$WORK/out"
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		fail "timed out after ${BOOT_TIMEOUT}s"
	fi
	if [[ $rc -eq 125 ]]; then
		fail "the test host failed: $(tail -n 3 "$WORK/err")"
	fi
}

# emulator_fault: after a run in the emulated test host, a line saying why
# the emulator, not kvmlite, may be to blame; nothing otherwise. The
# emulated host (QEMU TCG giving nested SVM to a Debian kernel) corrupts
# state under nested load: its own kernel panics, guests' kernels crash
# or hang, under QEMU microvm as under kvmlite (tests/boot/README.md).
# With hardware virtualization there is nothing to blame but kvmlite.
emulator_fault() {
	[[ $TESTHOST_MODE == emulated ]] || return 0
	# out, err and what the run left in files of its own (guest consoles).
	local files=("$WORK/out" "$WORK/err")
	mapfile -t -O 2 files < <(find "$WORK" -maxdepth 1 -type f -newer "$WORK/.run-start" \
		\( -name '*.out' -o -name '*.err' \) | sort)
	if [[ $rc -eq 125 ]] && grep -q "Kernel panic" "$WORK/err"; then
		echo "the emulated test host panicked: $(grep -m1 "Kernel panic" "$WORK/err")"
	elif [[ $rc -eq 125 ]] && grep -q "^testhost: the emulated test host froze" "$WORK/err"; then
		echo "the emulated test host froze"
	elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
		echo "the run hung (no end after ${BOOT_TIMEOUT}s)"
	elif grep -Eqh -- "$GUEST_FATAL" "${files[@]}"; then
		echo "a guest's kernel died: $(grep -Ehm1 -- "$GUEST_FATAL" "${files[@]}" | head -n 1)"
	elif [[ -n ${RETRY_ON:-} ]] && grep -Eqh -- "$RETRY_ON" "${files[@]}"; then
		echo "a guest hung: $(grep -Ehm1 -- "$RETRY_ON" "${files[@]}" | head -n 1)"
	fi
}

# run_kvmlite ARGS...: boot kvmlite in the test host.
run_kvmlite() {
	in_testhost kvmlite run "$@"
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
