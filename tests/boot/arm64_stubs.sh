#!/bin/bash
# tests/boot/arm64_stubs.sh: arm64's stub smoke tests. The stub guests of
# tests/stub/arm64 (built with the arm64 build: build-arm64/, or
# $KVMLITE_BUILD_DIR, as arm64_*_stub.img) run in the cross-built kvmlite
# in the arm64 test host, one after another in one session: hello prints
# "hello from arm64 stub" and ends with test-exit 42, PSCI SYSTEM_OFF ->
# 0, SYSTEM_RESET -> 80, and the hostile stub (unmapped MMIO, junk in the
# UART and in every virtio-mmio window, unknown hvc calls; with a disk and
# virtio-rng, so that two devices have windows) -> its verdict 7. These stubs all end
# cleanly, so kvmlite has nothing to say: any "kvmlite: " line or a
# sanitizer's report on a run's stderr fails it. No Linux guest. Exit 0
# pass, 1 fail, 125 test host failed.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source-path=SCRIPTDIR source=../lib/debian-kernel.sh
. "$src/tests/lib/debian-kernel.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/arm64-guest.sh
. "$src/tests/lib/arm64-guest.sh"
arm64_setup arm64_stubs
fail() { arm64_fail "$@"; }

stubs="hello poweroff reboot hostile"
for stub in $stubs; do
	[[ -f $build/arm64_${stub}_stub.img ]] ||
		kl_die "arm64_stubs: no $build/arm64_${stub}_stub.img (tools/build.sh --arch arm64)"
done
truncate -s 1M "$work/disk.img"

# Inside the test host (busybox sh): each stub with a time limit, its
# console in raw.STUB (the hostile one's carries the junk it sent).
cat >"$work/stubs.sh" <<EOF
for stub in $stubs; do
	set --
	[ \$stub = hostile ] && set -- --disk 'path=$work/disk.img' --rng
	timeout 120 kvmlite run --kernel '$build'/arm64_\${stub}_stub.img \\
		--memory 64M "\$@" >'$work'/raw.\$stub 2>'$work'/err.\$stub
	echo \$? >'$work'/rc.\$stub
done
EOF
arm64_testhost "$work/stubs.sh"

# What arm64_fail shows: the consoles with unprintable bytes as '?'.
for stub in $stubs; do
	if [[ -f $work/raw.$stub ]]; then
		LC_ALL=C tr -c '[:print:]\n' '?' <"$work/raw.$stub" >"$work/out.$stub"
	fi
done

# kvmlite's own complaints and the sanitizers' reports (as VMM_FAULT in
# tests/boot/lib.sh, and any other "kvmlite: " line).
vmm_fault='^kvmlite: |^==[0-9]+==(ERROR|WARNING): [A-Za-z]+Sanitizer|runtime error: '
expect_run() { # stub, status, what another status means
	local rc
	rc=$(cat "$work/rc.$1" 2>/dev/null) || fail "$1: no exit status"
	((rc != 124)) || fail "$1: still running after 120 s"
	[[ $rc == "$2" ]] || fail "$1: exit status $rc, want $2 ($3) (stderr: $(tail -n 3 "$work/err.$1" | tr '\n' ' '))"
	if grep -Eaq "$vmm_fault" "$work/err.$1"; then
		fail "$1: on kvmlite's stderr: $(grep -Ea -m1 "$vmm_fault" "$work/err.$1" | cut -c1-200)"
	fi
}
expect_run hello 42 "the test-exit byte's value"
cmp -s "$work/raw.hello" <(printf 'hello from arm64 stub\n') ||
	fail "hello: the console has other than 'hello from arm64 stub' and a newline"
expect_run poweroff 0 "PSCI SYSTEM_OFF: 3 if the call returned"
grep -qx 'psci stub: SYSTEM_OFF' "$work/out.poweroff" || fail "poweroff: the stub's line is not on the console"
expect_run reboot 80 "PSCI SYSTEM_RESET: 3 if the call returned"
grep -qx 'psci stub: SYSTEM_RESET' "$work/out.reboot" || fail "reboot: the stub's line is not on the console"
expect_run hostile 7 "its verdict; 8: an unknown hvc not refused, 9: a virtio device not itself after a reset, 10: no virtio device found, 99: the stub took an exception; last phase: $(grep -o 'hostile: [A-Za-z -]*$' "$work/out.hostile" 2>/dev/null | tail -n 1)"
# Each phase's line; the ones after the UART's junk show it works again.
for phase in "unmapped MMIO" UART virtio-mmio PSCI survived; do
	grep -q "hostile: $phase\$" "$work/out.hostile" || fail "hostile: no 'hostile: $phase' on the console"
done
echo "arm64_stubs: ok (hello 42, PSCI SYSTEM_OFF 0, SYSTEM_RESET 80, hostile 7; no complaint from kvmlite)"
