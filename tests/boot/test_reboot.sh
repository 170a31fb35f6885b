#!/usr/bin/env bash
# A guest reboot ends kvmlite with 80 whichever way Debian's kernel takes:
# reboot=acpi (the FADT's reset register), reboot=kbd (the i8042),
# reboot=pci (port 0xcf9), and no reboot= at all. Without one, Linux on a
# hardware-reduced ACPI machine picks EFI, finds none, and jumps to the
# BIOS reset vector in real mode (kvmlite's reset stub); before that stub
# the vCPU ran zeros there forever and kvmlite never exited.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel)
initrd=$(guest_initrd <<'SCENARIO'
# Debug messages on the console: acpi_reboot() says it uses the register.
echo 8 >/proc/sys/kernel/printk
echo "REBOOTING"
reboot -f
echo "STILL-RUNNING"
SCENARIO
)
for how in acpi kbd pci ""; do
	# Two vCPUs: the other one is stopped first, as on any SMP reboot.
	run_kvmlite --kernel "$kernel" --initrd "$initrd" --cpus 2 \
		--cmdline "console=ttyS0 panic=-1${how:+ reboot=$how}"
	expect_out '^REBOOTING'
	expect_out 'reboot: Restarting system'
	expect_status 80
	# Through the FADT's reset register, not the i8042 fallback after it.
	if [[ $how == acpi ]]; then expect_out "ACPI MEMORY or I/O RESET_REG"; fi
	if [[ -n $how ]]; then
		pass "reboot=$how: status 80"
	else
		pass "no reboot= on the command line: status 80"
	fi
done
