#!/usr/bin/env bash
# virtio-net over a TAP in the test host (link-local addresses only): the
# guest pings the host 100 times with no loss, then 16 MiB go guest -> host
# and host -> guest over TCP with equal sha256 on both ends.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
# 16 MiB: over 11,000 full-size frames each way, every ring wraps dozens
# of times; 64 MiB only added half a minute under emulation.
head -c 16M /dev/urandom >"$WORK/to-guest.bin"
initrd=$(guest_initrd --modules virtio <<'SCENARIO'
set -e
diag() { # what the guest saw, when a transfer stalls
	echo "GUEST-STALL $1"
	grep -i virtio /proc/interrupts
	for f in rx_packets tx_packets rx_dropped tx_dropped; do
		echo "eth0 $f $(cat /sys/class/net/eth0/statistics/$f)"
	done
	cat /proc/net/netstat /proc/net/snmp | grep -i tcp
	sleep 4 # the guard asks kvmlite for its state dump meanwhile
	test_exit 30
}
echo "GUEST-MAC $(cat /sys/class/net/eth0/address)"
ip addr add 169.254.10.2/16 dev eth0
ip link set eth0 up
ping -c 100 -i 0.02 -W 5 169.254.10.1 | tail -n 2
head -c 16777216 /dev/urandom >/tmp/out.bin
echo "GUEST-SENT $(sha256sum </tmp/out.bin | cut -d' ' -f1)"
sleep 1
timeout 150 nc 169.254.10.1 5001 </tmp/out.bin || diag send
rm /tmp/out.bin
sleep 1
timeout 150 nc 169.254.10.1 5002 </dev/null >/tmp/in.bin || diag recv
echo "GUEST-GOT $(sha256sum </tmp/in.bin | cut -d' ' -f1) $(wc -c </tmp/in.bin)"
test_exit 21
SCENARIO
)
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
set -e
cd "$WORK"
ip tuntap add dev kvl0 mode tap
ip addr add 169.254.10.1/16 dev kvl0
ip link set kvl0 up
python3 "$SRC_DIR/tests/boot/net_peer.py" recv 5001 /tmp/from-guest.bin >peer1.out &
p1=\$!
python3 "$SRC_DIR/tests/boot/net_peer.py" send 5002 "$WORK/to-guest.bin" >peer2.out &
p2=\$!
rc=0
kvmlite run --cmdline "$GUEST_CMDLINE" --kernel "$kernel" --initrd "$initrd" --memory 512M \
	--net tap=kvl0,mac=52:54:00:ab:cd:ef || rc=\$?
# A guest that died mid-transfer leaves a peer waiting: do not wait on it.
[ \$rc = 21 ] || kill \$p1 \$p2 2>/dev/null || true
wait || true
cat peer1.out peer2.out
exit \$rc
DRIVE
chmod +x "$WORK/drive.sh"
RETRY_ON='^GUEST-STALL' DUMP_ON="$GUEST_DEATH|^GUEST-STALL" in_testhost "$WORK/drive.sh"
expect_status 21
expect_out '^GUEST-MAC 52:54:00:ab:cd:ef$'
expect_out '^100 packets transmitted, 100 packets received, 0% packet loss'
pass "100 pings, no loss"
sent=$(sed -n 's/^GUEST-SENT \([0-9a-f]*\)$/\1/p' "$WORK/out")
[[ -n $sent ]] || fail "the guest did not send"
grep -q "^PEER-SHA256 $sent\$" "$WORK/out" || fail "guest -> host: sha256 differs"
pass "16 MiB guest -> host, sha256 equal"
want=$(sha256sum <"$WORK/to-guest.bin" | cut -d' ' -f1)
expect_out "^GUEST-GOT $want 16777216\$"
pass "16 MiB host -> guest, sha256 equal"
