#!/usr/bin/env bash
# Guest poweroff ends kvmlite with 0, guest reboot with 80, and a press of
# the ACPI power button (SIGPWR to kvmlite, or Ctrl-A p on its terminal)
# makes a guest that acts on it power off. All four VMs run one after
# another in one test-host session (a session costs a test-host boot).
source "$(dirname "$0")/lib.sh"

need_cmd mkfs.ext4 e2fsprogs
need_cmd debugfs e2fsprogs
kernel=$(guest_kernel --vmlinux)
down=$(guest_initrd <<'SCENARIO'
echo "GOING-DOWN"
poweroff -f
SCENARIO
)
mv "$down" "$WORK/down.gz"
boot=$(guest_initrd <<'SCENARIO'
echo "REBOOTING"
reboot -f
SCENARIO
)
mv "$boot" "$WORK/reboot.gz"
# The button: the guest's ACPI button driver sees KEY_POWER, its init
# syncs and powers off, so a file written without fsync is on the disk.
mkfs.ext4 -q -F "$WORK/disk.ext4" 16M
button=$(guest_initrd --modules virtio <<'SCENARIO'
if [ -b /dev/vda ]; then
	mount -t ext4 /dev/vda /mnt
	echo "written before the button" >/mnt/note.txt
fi
echo "WAITING-FOR-BUTTON"
sleep 120
echo "THE-BUTTON-WAS-IGNORED"
SCENARIO
)
mv "$button" "$WORK/button.gz"
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
wait_for() { # file: until the guest waits for its button
	i=0
	until grep -q WAITING-FOR-BUTTON "\$1"; do
		i=\$((i + 1)); [ \$i -gt 600 ] && break
		sleep 0.2
	done
}
kvmlite run --cmdline "$GUEST_CMDLINE" --kernel "$kernel" --initrd down.gz </dev/null >down.out 2>&1
echo "POWEROFF-STATUS \$?"
kvmlite run --cmdline "$GUEST_CMDLINE" --kernel "$kernel" --initrd reboot.gz </dev/null >reboot.out 2>&1
echo "REBOOT-STATUS \$?"

kvmlite run --cmdline "$GUEST_CMDLINE" --kernel "$kernel" --initrd button.gz \
	--disk path=disk.ext4 </dev/null >sigpwr.out 2>&1 &
pid=\$!
wait_for sigpwr.out
kill -PWR \$pid
wait \$pid
echo "SIGPWR-STATUS \$?"

# Ctrl-A p on a terminal: a pty from script(1), fed through a fifo.
fifo=\$(mktemp -u /tmp/tty-in.XXXXXX)
mkfifo "\$fifo"
script -qfec "kvmlite run --cmdline '$GUEST_CMDLINE' --kernel $kernel --initrd button.gz" /dev/null \
	<"\$fifo" >ctrl-a.out 2>&1 &
pid=\$!
exec 3>"\$fifo"
wait_for ctrl-a.out
printf '\001p' >&3
wait \$pid
echo "CTRL-A-STATUS \$?"
exec 3>&-
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"
sed -i 's/\r$//' "$WORK"/*.out

grep -q '^GOING-DOWN' "$WORK/down.out" || fail "poweroff: the guest did not run: $(tail -n 3 "$WORK/down.out")"
expect_out '^POWEROFF-STATUS 0$'
pass "poweroff (status 0)"

grep -q '^REBOOTING' "$WORK/reboot.out" || fail "reboot: the guest did not run: $(tail -n 3 "$WORK/reboot.out")"
expect_out '^REBOOT-STATUS 80$'
pass "reboot (status 80)"

for run in sigpwr ctrl-a; do
	f=$WORK/$run.out
	grep -q 'WAITING-FOR-BUTTON' "$f" || fail "$run: the guest never waited: $(tail -n 3 "$f")"
	grep -q 'KVMLITE-GUEST-POWER-BUTTON' "$f" || fail "$run: the guest saw no button: $(tail -n 3 "$f")"
	grep -q 'THE-BUTTON-WAS-IGNORED' "$f" && fail "$run: the button was ignored"
done
expect_out '^SIGPWR-STATUS 0$'
[[ $(debugfs -R "cat /note.txt" "$WORK/disk.ext4" 2>/dev/null) == "written before the button" ]] ||
	fail "the file written before the button press is not on the disk"
pass "power button (SIGPWR): the guest synced and powered off (status 0)"
expect_out '^CTRL-A-STATUS 0$'
pass "Ctrl-A p on the terminal: the guest powered off (status 0)"
