#!/usr/bin/env bash
# Eight VMs booted at the same time all reach userspace; kill -9 of one
# leaves the others running, and every other VM's disk holds what it wrote.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
initrd=$(guest_initrd --modules virtio <<'SCENARIO'
n=$(sed -n 's/.*vmindex=\([0-9]*\).*/\1/p' /proc/cmdline)
printf 'record of vm %s\n' "$n" | dd of=/dev/vda bs=512 conv=fsync,notrunc 2>/dev/null
stty -echo
echo "VM-READY $n"
# Keep running while the host kills one of us: it says when it has.
read -r go
head -c 16 /dev/vda | grep -q "record of vm $n" && echo "VM-INTACT $n"
test_exit $((40 + n))
SCENARIO
)
for n in 0 1 2 3 4 5 6 7; do
	head -c 1M /dev/zero >"$WORK/disk$n.img"
done
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
# Each VM's console input: a fifo in the test host's /tmp (9p shares refuse
# special files), held open by a sleep until the guests may go on.
fifos=\$(mktemp -d /tmp/many-vms.XXXXXX)
for n in 0 1 2 3 4 5 6 7; do
	mkfifo "\$fifos/in\$n"
	kvmlite run --kernel "$kernel" --initrd "$initrd" --memory 128M \
		--cmdline "$GUEST_CMDLINE vmindex=\$n" \
		--disk path="$WORK/disk\$n.img" <"\$fifos/in\$n" >vm\$n.out 2>&1 &
	echo \$! >vm\$n.pid
	sleep 1000 >"\$fifos/in\$n" &
	holders="\${holders:-} \$!"
done
i=0 dead=''
until [ \$(cat vm*.out | grep -c VM-READY) -ge 8 ]; do
	i=\$((i + 1)); [ \$i -gt 2000 ] && break
	# A VM that died before it was ready will never be: stop waiting.
	for n in 0 1 2 3 4 5 6 7; do
		kill -0 \$(cat vm\$n.pid) 2>/dev/null || dead="\$dead \$n"
	done
	[ -n "\$dead" ] && break
	sleep 0.2
done
echo "READY-COUNT \$(cat vm*.out | grep -c VM-READY)"
if [ -n "\$dead" ]; then
	for n in \$dead; do
		echo "VM \$n ENDED EARLY:"
		tail -n 15 vm\$n.out
	done
fi
kill -9 \$(cat vm3.pid)
for n in 0 1 2 4 5 6 7; do
	# In a subshell: a VM that ended early has no reader (SIGPIPE).
	(echo go >"\$fifos/in\$n") 2>/dev/null
done
for n in 0 1 2 3 4 5 6 7; do
	wait \$(cat vm\$n.pid)
	echo "VM \$n STATUS \$?"
done
kill \$holders
cat vm*.out | grep -E '^VM-(READY|INTACT)'
DRIVE
chmod +x "$WORK/drive.sh"
BOOT_TIMEOUT=400 in_testhost "$WORK/drive.sh"
expect_out '^READY-COUNT 8$'
pass "8 VMs reached userspace at the same time"
expect_out '^VM 3 STATUS 137$'
for n in 0 1 2 4 5 6 7; do
	expect_out "^VM $n STATUS $((40 + n))\$"
	expect_out "^VM-INTACT $n\$"
	[[ $(head -c 15 "$WORK/disk$n.img") == "record of vm $n" ]] ||
		fail "disk $n lost its record"
done
[[ $(head -c 15 "$WORK/disk3.img") == "record of vm 3" ]] ||
	fail "the killed VM's fsync'd record is gone"
pass "kill -9 of one left the other 7 running with intact disks"
