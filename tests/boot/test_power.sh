#!/usr/bin/env bash
# Guest poweroff ends kvmlite with 0, guest reboot with 80, and a press of
# the ACPI power button (SIGPWR) makes a guest that acts on it power off.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel)
initrd=$(guest_initrd <<'SCENARIO'
echo "GOING-DOWN"
poweroff -f
SCENARIO
)
run_kvmlite --kernel "$kernel" --initrd "$initrd"
expect_out '^GOING-DOWN'
expect_status 0
pass "poweroff"

initrd=$(guest_initrd <<'SCENARIO'
echo "REBOOTING"
reboot -f
SCENARIO
)
run_kvmlite --kernel "$kernel" --initrd "$initrd"
expect_out '^REBOOTING'
expect_status 80
pass "reboot"

# The power button (SIGPWR to kvmlite, i.e. kvmlite_vm_shutdown()): the
# guest's ACPI button driver sees KEY_POWER, its init syncs and powers off,
# so a file written without fsync is on the disk afterwards.
need_cmd mkfs.ext4 e2fsprogs
need_cmd debugfs e2fsprogs
kernel=$(guest_kernel --vmlinux)
mkfs.ext4 -q -F "$WORK/disk.ext4" 16M
initrd=$(guest_initrd --modules virtio <<'SCENARIO'
mount -t ext4 /dev/vda /mnt
echo "written before the button" >/mnt/note.txt
echo "WAITING-FOR-BUTTON"
sleep 120
echo "THE-BUTTON-WAS-IGNORED"
SCENARIO
)
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
kvmlite run --kernel "$kernel" --initrd "$initrd" \
	--disk path="$WORK/disk.ext4" </dev/null >vm.out 2>&1 &
pid=\$!
i=0
until grep -q WAITING-FOR-BUTTON vm.out; do
	i=\$((i + 1)); [ \$i -gt 600 ] && break
	sleep 0.2
done
kill -PWR \$pid
wait \$pid
echo "KVMLITE-STATUS \$?"
cat vm.out
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"
expect_out '^WAITING-FOR-BUTTON'
expect_out '^KVMLITE-GUEST-POWER-BUTTON'
expect_no_out 'THE-BUTTON-WAS-IGNORED'
expect_out '^KVMLITE-STATUS 0$'
[[ $(debugfs -R "cat /note.txt" "$WORK/disk.ext4" 2>/dev/null) == "written before the button" ]] ||
	fail "the file written before the button press is not on the disk"
pass "power button: the guest synced and powered off (status 0)"

# Ctrl-A p on kvmlite's terminal presses the same button (a pty from
# script(1), fed through a fifo).
initrd=$(guest_initrd --modules virtio <<'SCENARIO'
echo "WAITING-FOR-BUTTON"
sleep 120
echo "THE-BUTTON-WAS-IGNORED"
SCENARIO
)
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
fifo=\$(mktemp -u /tmp/tty-in.XXXXXX)
mkfifo "\$fifo"
script -qfec "kvmlite run --kernel $kernel --initrd $initrd" /dev/null \
	<"\$fifo" >vm.out 2>&1 &
pid=\$!
exec 3>"\$fifo"
i=0
until grep -q WAITING-FOR-BUTTON vm.out; do
	i=\$((i + 1)); [ \$i -gt 600 ] && break
	sleep 0.2
done
printf '\001p' >&3
wait \$pid
echo "KVMLITE-STATUS \$?"
exec 3>&-
cat vm.out
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"
expect_out 'WAITING-FOR-BUTTON'
expect_out 'KVMLITE-GUEST-POWER-BUTTON'
expect_no_out 'THE-BUTTON-WAS-IGNORED'
expect_out '^KVMLITE-STATUS 0$'
pass "Ctrl-A p on the terminal: the guest powered off (status 0)"
