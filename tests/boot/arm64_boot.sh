#!/bin/bash
# tests/boot/arm64_boot.sh: Debian's arm64 kernel boots in the cross-built
# kvmlite (build-arm64/, or $KVMLITE_BUILD_DIR), in the arm64 test host
# (tests/testhost/run --arch arm64): console output, 2 vCPUs in
# /proc/cpuinfo, and the ways out: the test-exit byte (MMIO 0x09010000)
# -> its value, poweroff (PSCI SYSTEM_OFF) -> 0, reboot (SYSTEM_RESET) ->
# 80. Three boots in one test-host session. Not a test_*.sh (those are
# x86 boot tests, registered by CMakeLists.txt): tools/test.sh runs this
# when the arm64 build exists. Exit 0 pass, 1 fail, 125 test host failed.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source-path=SCRIPTDIR source=../lib/debian-kernel.sh
. "$src/tests/lib/debian-kernel.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/arm64-guest.sh
. "$src/tests/lib/arm64-guest.sh"
arm64_guest_setup arm64_boot
fail() { arm64_fail "$@"; }

# The guest's init: says it is up and how many CPUs it has, then ends as
# kl.end= says (exit:N through the test-exit byte, poweroff, reboot).
arm64_guest_initrd <<'EOF'
echo KVMLITE-ARM64-GUEST-UP
echo "cpus: $(grep -c ^processor /proc/cpuinfo)"
end=none
for a in $(cat /proc/cmdline); do
	case $a in kl.end=*) end=${a#kl.end=} ;; esac
done
echo "end: $end"
stty -echo </dev/console # TCSADRAIN: the UART has sent it all
case $end in
exit:*) devmem 0x09010000 8 "${end#exit:}" ;;
poweroff) poweroff -f ;;
reboot) reboot -f ;;
esac
echo "KVMLITE-ARM64-STILL-HERE"
poweroff -f
EOF

# Inside the test host (busybox sh): three boots, each with a time limit.
cat >"$work/boots.sh" <<EOF
for end in exit:42 poweroff reboot; do
	timeout 240 kvmlite run --kernel '$kernel' --initrd '$work/initrd.gz' \\
		--cpus 2 --memory 512M \\
		--cmdline "console=ttyS0 panic=-1 quiet kl.end=\$end" \\
		>'$work'/out.\$end 2>'$work'/err.\$end
	echo \$? >'$work'/rc.\$end
done
EOF
arm64_testhost "$work/boots.sh"

expect_rc() { # end, status
	local rc
	rc=$(cat "$work/rc.$1" 2>/dev/null) || fail "kl.end=$1: no exit status"
	[[ $rc == "$2" ]] || fail "kl.end=$1: exit status $rc, want $2 (stderr: $(tail -n 3 "$work/err.$1" | tr '\n' ' '))"
}
for end in exit:42 poweroff reboot; do
	grep -q '^KVMLITE-ARM64-GUEST-UP' "$work/out.$end" || fail "kl.end=$end: no marker on the console"
	grep -q '^cpus: 2' "$work/out.$end" || fail "kl.end=$end: the guest does not see 2 CPUs"
	grep -q "^end: $end" "$work/out.$end" || fail "kl.end=$end: the console lost the last line"
	if grep -q 'KVMLITE-ARM64-STILL-HERE' "$work/out.$end"; then
		fail "kl.end=$end: the guest did not end"
	fi
done
expect_rc exit:42 42
expect_rc poweroff 0
expect_rc reboot 80
echo "arm64_boot: ok (console, 2 vCPUs, test-exit 42, poweroff 0, reboot 80)"
