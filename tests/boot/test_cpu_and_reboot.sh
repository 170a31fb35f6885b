#!/usr/bin/env bash
# Two things about real Linux on kvmlite, in one test-host session (four
# kvmlite boots and one of QEMU, all with the same kernel and initrd):
# - A guest reboot ends kvmlite with 80 whichever way Debian's kernel takes:
#   reboot=acpi (the FADT's reset register), reboot=kbd (the i8042),
#   reboot=pci (port 0xcf9), and no reboot= at all. Without one, Linux on a
#   hardware-reduced ACPI machine picks EFI, finds none, and jumps to the
#   BIOS reset vector in real mode (kvmlite's reset stub); before that stub
#   the vCPU ran zeros there forever and kvmlite never exited.
# - The guest's CPU is as good as under QEMU's -cpu host (QEMU microvm,
#   same test host): every /proc/cpuinfo flag QEMU's guest has, kvmlite's
#   has too (the TSC-deadline timer among them), the same model name (the
#   host's brand string), one package of 2 cores, kvm-clock.
# Five boots in one run of the guard: more room than one boot's default.
# shellcheck disable=SC2034 # read by lib.sh
KVMLITE_BOOT_TIMEOUT=${KVMLITE_BOOT_TIMEOUT:-420}
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
initrd=$(guest_initrd <<'SCENARIO'
sed -n 's/^flags[[:space:]]*: /CPU-FLAGS /p' /proc/cpuinfo | head -n 1
sed -n 's/^model name[[:space:]]*: /CPU-MODEL /p' /proc/cpuinfo | head -n 1
echo "CPU-PACKAGES $(sed -n 's/^physical id[[:space:]]*: //p' /proc/cpuinfo | sort -u | wc -l)"
echo "CPU-CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
dmesg | grep -m1 'TSC deadline' | sed 's/^/CPU-DMESG /'
# QEMU's guest only reports its CPU.
if grep -q kvmlite_test_cpu_only /proc/cmdline; then test_exit 3; fi
# Debug messages on the console: acpi_reboot() says it uses the register,
# with pr_debug(), so its dynamic debug is switched on.
echo 8 >/proc/sys/kernel/printk
ddc=/proc/dynamic_debug/control
if [ ! -w $ddc ]; then
	mount -t debugfs none /sys/kernel/debug 2>/dev/null
	ddc=/sys/kernel/debug/dynamic_debug/control
fi
echo 'file drivers/acpi/reboot.c +p' >$ddc || echo "NO-DYNAMIC-DEBUG"
echo "REBOOTING"
reboot -f
echo "STILL-RUNNING"
SCENARIO
)
# pci=off as in kvmlite's default (no PCI on either machine): without it the
# guest scans the PCI bus by port I/O for an AGP bridge on the emulated
# AMD CPU, seconds per boot under the emulator.
cmdline="console=ttyS0 quiet panic=-1 pci=off"
ways="acpi kbd pci none"
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
for how in $ways; do
	extra=""
	[ \$how = none ] || extra=" reboot=\$how"
	# Two vCPUs: the other one is stopped first, as on any SMP reboot.
	kvmlite run --kernel "$kernel" --initrd "$initrd" --cpus 2 --memory 256M \
		--cmdline "$cmdline\$extra" </dev/null >reboot-\$how.out 2>&1
	echo "KVMLITE-STATUS-\$how \$?"
done
qemu-system-x86_64 -M microvm -enable-kvm -cpu host -smp 2 -m 256M \
	-nodefaults -no-user-config -display none -serial stdio -no-reboot \
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline kvmlite_test_cpu_only" \
	-device isa-debug-exit,iobase=0xf4,iosize=1 </dev/null >qemu.log 2>&1
echo "QEMU-STATUS \$?"
for how in $ways; do sed "s/^/\$how: /" reboot-\$how.out; done
# Only what the scenario printed: QEMU's guest, not kvmlite's, is the one
# whose kernel the emulated test host sometimes stalls at boot (a soft
# lockup there must not make lib.sh retry the run; it stays in qemu.log).
grep '^CPU-' qemu.log | sed 's/^/qemu: /'
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"

for how in $ways; do
	expect_out "^$how: REBOOTING"
	expect_out "^$how: .*reboot: Restarting system"
	expect_no_out "^$how: STILL-RUNNING"
	expect_out "^KVMLITE-STATUS-$how 80\$"
done
# Through the FADT's reset register, not the i8042 fallback after it.
expect_out "^acpi: .*ACPI MEMORY or I/O RESET_REG"
pass "reboot=acpi, reboot=kbd, reboot=pci and no reboot=: status 80 each"

expect_out '^QEMU-STATUS 7$'
got() { # VMM KEY: the value the scenario printed under that VMM
	sed -n "s/^$1: $2 //p" "$WORK/out" | head -n 1
}
kflags=$(got none CPU-FLAGS)
qflags=$(got qemu CPU-FLAGS)
[[ -n $kflags && -n $qflags ]] || fail "no flags line from one of the guests"
missing=$(comm -13 <(tr ' ' '\n' <<<"$kflags" | sort -u) <(tr ' ' '\n' <<<"$qflags" | sort -u) | xargs)
extra=$(comm -23 <(tr ' ' '\n' <<<"$kflags" | sort -u) <(tr ' ' '\n' <<<"$qflags" | sort -u) | xargs)
echo "flags only under kvmlite: ${extra:-none}"
echo "flags only under QEMU: ${missing:-none}"
[[ -z $missing ]] || fail "kvmlite's guest lacks flags QEMU's -cpu host guest has: $missing"
[[ " $kflags " == *" tsc_deadline_timer "* ]] || fail "no tsc_deadline_timer"
[[ $(got none CPU-MODEL) == "$(got qemu CPU-MODEL)" ]] ||
	fail "model name '$(got none CPU-MODEL)', QEMU's guest: '$(got qemu CPU-MODEL)'"
[[ $(got none CPU-PACKAGES) == 1 ]] || fail "$(got none CPU-PACKAGES) packages for 2 vCPUs"
[[ $(got none CPU-CLOCKSOURCE) == kvm-clock ]] ||
	fail "clocksource $(got none CPU-CLOCKSOURCE), not kvm-clock"
pass "CPU: QEMU's -cpu host flags, model name '$(got none CPU-MODEL)', one package, kvm-clock"
