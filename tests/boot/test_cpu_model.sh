#!/usr/bin/env bash
# The guest's CPU under kvmlite is as good as under QEMU's -cpu host (QEMU
# microvm, same kernel, same test host): every /proc/cpuinfo flag QEMU's
# guest has, kvmlite's has too (the TSC-deadline timer among them), the
# same model name (the host's brand string), and one package of 2 cores.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
initrd=$(guest_initrd <<'SCENARIO'
sed -n 's/^flags[[:space:]]*: /CPU-FLAGS /p' /proc/cpuinfo | head -n 1
sed -n 's/^model name[[:space:]]*: /CPU-MODEL /p' /proc/cpuinfo | head -n 1
echo "CPU-PACKAGES $(sed -n 's/^physical id[[:space:]]*: //p' /proc/cpuinfo | sort -u | wc -l)"
echo "CPU-CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
dmesg | grep -m1 'TSC deadline' | sed 's/^/CPU-DMESG /'
test_exit 3
SCENARIO
)
cmdline="console=ttyS0 quiet panic=-1"
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
kvmlite run --kernel "$kernel" --initrd "$initrd" --cpus 2 --memory 256M \
	--cmdline "$cmdline" </dev/null >kvmlite.out 2>&1
echo "KVMLITE-STATUS \$?"
qemu-system-x86_64 -M microvm -enable-kvm -cpu host -smp 2 -m 256M \
	-nodefaults -no-user-config -display none -serial stdio -no-reboot \
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
	-device isa-debug-exit,iobase=0xf4,iosize=1 </dev/null >qemu.log 2>&1
echo "QEMU-STATUS \$?"
sed 's/^/kvmlite: /' kvmlite.out
# Only what the scenario printed: QEMU's guest, not kvmlite's, is the one
# whose kernel the emulated test host sometimes stalls at boot (a soft
# lockup there must not make lib.sh retry the run; it stays in qemu.log).
grep '^CPU-' qemu.log | sed 's/^/qemu: /'
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"
expect_out '^KVMLITE-STATUS 3$'
expect_out '^QEMU-STATUS 7$'
got() { # VMM KEY: the value the scenario printed under that VMM
	sed -n "s/^$1: $2 //p" "$WORK/out" | tr -d '\r' | head -n 1
}
kflags=$(got kvmlite CPU-FLAGS)
qflags=$(got qemu CPU-FLAGS)
[[ -n $kflags && -n $qflags ]] || fail "no flags line from one of the guests"
missing=$(comm -13 <(tr ' ' '\n' <<<"$kflags" | sort -u) <(tr ' ' '\n' <<<"$qflags" | sort -u) | xargs)
extra=$(comm -23 <(tr ' ' '\n' <<<"$kflags" | sort -u) <(tr ' ' '\n' <<<"$qflags" | sort -u) | xargs)
echo "flags only under kvmlite: ${extra:-none}"
echo "flags only under QEMU: ${missing:-none}"
[[ -z $missing ]] || fail "kvmlite's guest lacks flags QEMU's -cpu host guest has: $missing"
[[ " $kflags " == *" tsc_deadline_timer "* ]] || fail "no tsc_deadline_timer"
[[ $(got kvmlite CPU-MODEL) == "$(got qemu CPU-MODEL)" ]] ||
	fail "model name '$(got kvmlite CPU-MODEL)', QEMU's guest: '$(got qemu CPU-MODEL)'"
[[ $(got kvmlite CPU-PACKAGES) == 1 ]] || fail "$(got kvmlite CPU-PACKAGES) packages for 2 vCPUs"
[[ $(got kvmlite CPU-CLOCKSOURCE) == kvm-clock ]] ||
	fail "clocksource $(got kvmlite CPU-CLOCKSOURCE), not kvm-clock"
pass "flags, model name '$(got kvmlite CPU-MODEL)', one package, kvm-clock"
