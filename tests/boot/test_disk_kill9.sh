#!/usr/bin/env bash
# Data the guest wrote and fsync'd survives kill -9 of kvmlite.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
head -c 16M /dev/zero >"$WORK/disk.img"
initrd=$(guest_initrd --modules virtio <<'SCENARIO'
i=0
while [ $i -lt 8 ]; do
	printf 'durable record %04d\n' $i | dd of=/dev/vda bs=512 seek=$((i * 8)) conv=fsync,notrunc 2>/dev/null
	i=$((i + 1))
done
echo "GUEST-SYNCED"
# Unsynced writes may or may not survive; the host only checks the above.
dd if=/dev/urandom of=/dev/vda bs=4096 seek=1000 count=64 2>/dev/null
sleep 600
SCENARIO
)
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
kvmlite run --cmdline "$GUEST_CMDLINE" --kernel "$kernel" --initrd "$initrd" --disk "path=$WORK/disk.img" \
	</dev/null >out.guest 2>err.guest &
pid=\$!
i=0
until grep -q GUEST-SYNCED out.guest 2>/dev/null; do
	i=\$((i + 1)); [ \$i -gt 1800 ] && break
	sleep 0.1
done
kill -9 \$pid
wait \$pid
echo "kvmlite status \$?"
cat out.guest
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"
expect_out '^GUEST-SYNCED'
expect_out '^kvmlite status 137'
for i in 0 1 2 3 4 5 6 7; do
	got=$(dd if="$WORK/disk.img" bs=512 skip=$((i * 8)) count=1 2>/dev/null | head -n 1)
	[[ $got == "$(printf 'durable record %04d' "$i")" ]] ||
		fail "record $i lost after kill -9: '$got'"
done
pass "8 fsync'd records survived kill -9"
