#!/usr/bin/env bash
# Snapshot and restore of a Debian guest: its init mounts an overlay disk,
# brings its network up, keeps a random token in RAM (tmpfs) and asks for
# a snapshot (port 0xf6); the VM that booted powers off. Two restores,
# each in a new kvmlite: the token is there, the disk and the network
# work (a file written and read back, pings to the host over a TAP), and
# the image was never written. With virtio-rng and virtio-vsock too: a
# guest listener on vsock port 5000 made before the snapshot takes a
# host connection in each restore (the listener kept), a connection the
# guest had open to the host is reset (TRANSPORT_RESET: it lived in the
# booted kvmlite's sockets), and /dev/hwrng gives bytes. Then each bad
# snapshot is refused with status 65 and one line naming the file
# (tests/boot/snapshot_bad.py).
source "$(dirname "$0")/lib.sh"
need_cmd mkfs.ext4 e2fsprogs

kernel=$(guest_kernel --vmlinux)
mkdir -p "$WORK/root"
echo "planted by the host" >"$WORK/root/planted.txt"
mkfs.ext4 -q -F -d "$WORK/root" "$WORK/disk.ext4" 32M
sha256sum <"$WORK/disk.ext4" | cut -d' ' -f1 >"$WORK/disk.sha256"
head -c 1M /dev/urandom >"$WORK/to-guest.bin"

initrd=$(guest_initrd --modules virtio <<'SCENARIO'
set -e
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt
ip addr add 169.254.12.2/16 dev eth0
ip link set eth0 up
token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" >/tmp/token
echo "before the snapshot" >/mnt/before.txt
sync
echo "GUEST-TOKEN $token"
# vsock: a listener for the restores' host, and a connection to the
# booted VM's host held open (stdin a FIFO with a writer) across it.
(vsockio listen 5000 </dev/null | sha256sum | sed 's/^/GUEST-VSOCK-GOT /') &
listener=$!
mkfifo /tmp/hold
(vsockio connect 2 6000 </tmp/hold >/tmp/old.out 2>/tmp/old.err || true
	echo "GUEST-OLD-CONN-END $(cat /tmp/old.err)") &
old=$!
exec 3>/tmp/hold
i=0
while ! grep -q HELLO /tmp/old.out 2>/dev/null && [ $i -lt 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
echo "GUEST-OLD-CONN-OPEN"
outb 0xf6 1
# inb's own output, or why it failed (a crashed inb is no "restored").
v=$(inb 0xf6) || v="failed $?"
if [ "$v" = 0 ]; then
	echo "GUEST-BOOTED"
	poweroff -f
fi
[ "$v" = 1 ] || echo "GUEST-INB-BAD $v"
echo "GUEST-RESTORED $(cat /tmp/token)"
echo "GUEST-RNG $(head -c 64 /dev/hwrng | wc -c)"
wait $listener
i=0
while [ -e /proc/$old ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -e /proc/$old ]; then echo "GUEST-OLD-CONN-STILL-OPEN"; fi
cat /mnt/planted.txt /mnt/before.txt | sed 's/^/GUEST-DISK-READ /'
echo "after restore $$" >/mnt/after.txt
sync
echo "GUEST-DISK-WROTE $(cat /mnt/after.txt)"
ping -c 3 -i 0.2 -W 5 169.254.12.1 | tail -n 2
test_exit 7
SCENARIO
)
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
ip tuntap add dev kvs0 mode tap
ip addr add 169.254.12.1/16 dev kvs0
ip link set kvs0 up
peer="python3 $SRC_DIR/tests/boot/vsock_peer.py"
\$peer greet /tmp/kvs.sock_6000 >greet.out 2>&1 &
rc=0
kvmlite run --cmdline "$GUEST_CMDLINE" --kernel "$kernel" --initrd "$initrd" --memory 512M \\
	--disk path=$WORK/disk.ext4,overlay=on \\
	--net tap=kvs0,mac=52:54:00:12:34:56 --snapshot-dir $WORK/snap \\
	--rng --vsock cid=3,uds=/tmp/kvs.sock \\
	--serial file:$WORK/boot.out || rc=\$?
echo "RUN-STATUS \$rc"
sed 's/^/boot: /' boot.out
wait
cat greet.out
for i in 1 2; do
	rc=0
	kvmlite restore $WORK/snap --serial file:$WORK/restore\$i.out \\
		--boot-timing=json 2>restore\$i.err &
	k=\$!
	\$peer send /tmp/kvs.sock 5000 $WORK/to-guest.bin 120 >send\$i.out 2>&1
	wait \$k || rc=\$?
	echo "RESTORE-STATUS \$i \$rc"
	sed "s/^/restore\$i: /" restore\$i.out restore\$i.err send\$i.out
done
python3 "$SRC_DIR/tests/boot/snapshot_bad.py" $WORK/snap $WORK/disk.ext4
DRIVE
chmod +x "$WORK/drive.sh"
# One boot, two restores and the bad snapshots in one session.
BOOT_TIMEOUT=400 in_testhost "$WORK/drive.sh"
expect_status 0
expect_out '^RUN-STATUS 0$'
token=$(sed -n 's/^boot: GUEST-TOKEN \([0-9a-f]*\)$/\1/p' "$WORK/out")
[[ ${#token} -eq 24 ]] || fail "the guest printed no token"
expect_out '^boot: GUEST-BOOTED$'
expect_no_out '^boot: GUEST-RESTORED'
pass "the guest's snapshot, then the VM that booted powered off"
for i in 1 2; do
	expect_out "^RESTORE-STATUS $i 7\$"
	expect_out "^restore$i: GUEST-RESTORED $token\$"
	expect_out "^restore$i: GUEST-DISK-READ planted by the host\$"
	expect_out "^restore$i: GUEST-DISK-READ before the snapshot\$"
	expect_out "^restore$i: GUEST-DISK-WROTE after restore [0-9]+\$"
	expect_out "^restore$i: 3 packets transmitted, 3 packets received, 0% packet loss"
	expect_out "^restore$i: \\{\"clock\":\"CLOCK_MONOTONIC\".*\"first_run_us\":[0-9.]+,"
	if grep -q "^restore$i: GUEST-BOOTED" "$WORK/out"; then
		fail "restore $i booted again"
	fi
done
expect_no_out 'GUEST-INB-BAD|Segmentation fault'
pass "two restores: the token in RAM, the disk and the network work"
expect_out '^VSOCK-GREETED bytes=0$'
want=$(sha256sum <"$WORK/to-guest.bin" | cut -d' ' -f1)
for i in 1 2; do
	expect_out "^restore$i: GUEST-RNG 64\$"
	expect_out "^restore$i: VSOCK-SENT port=5000 host_port=[0-9]+ bytes=1048576\$"
	expect_out "^restore$i: GUEST-VSOCK-GOT $want  -\$"
	expect_out "^restore$i: GUEST-OLD-CONN-END vsockio: .*(not connected|reset)"
done
expect_no_out 'GUEST-OLD-CONN-STILL-OPEN'
pass "rng and vsock restored: the guest's listener kept, its open connection reset"
[[ $(sha256sum <"$WORK/disk.ext4" | cut -d' ' -f1) == $(cat "$WORK/disk.sha256") ]] ||
	fail "the overlay disk's image was written"
pass "the overlay disk's image is as it was"
expect_out '^PASS: snapshot_bad$'
grep '^snapshot_bad: ' "$WORK/out" || true
pass "every bad snapshot refused with status 65 and one line"
