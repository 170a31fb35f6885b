#!/usr/bin/env bash
# Two guests on one host bridge reach each other; their default MACs differ
# because their names do.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
scenario() { # my address, peer address, exit value
	cat <<SCENARIO
echo "GUEST-MAC \$(cat /sys/class/net/eth0/address)"
ip addr add $1/16 dev eth0
ip link set eth0 up
i=0
until ping -c 1 -W 1 $2 >/dev/null 2>&1; do
	i=\$((i + 1)); [ \$i -gt 120 ] && break
done
ping -c 20 -i 0.05 $2 | tail -n 2
# Stay up until the peer has pinged us too.
sleep 5
test_exit $3
SCENARIO
}
scenario 169.254.20.1 169.254.20.2 31 >"$WORK/a.sh"
scenario 169.254.20.2 169.254.20.1 32 >"$WORK/b.sh"
initrd_a=$(guest_initrd --modules virtio <"$WORK/a.sh")
mv "$initrd_a" "$WORK/a.gz"
initrd_b=$(guest_initrd --modules virtio <"$WORK/b.sh")
mv "$initrd_b" "$WORK/b.gz"
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
set -e
cd "$WORK"
ip link add kvlbr0 type bridge
ip link set kvlbr0 up
for t in kvla kvlb; do
	ip tuntap add dev \$t mode tap
	ip link set \$t master kvlbr0
	ip link set \$t up
done
kvmlite run --cmdline "$GUEST_CMDLINE" --name vm-a --kernel "$kernel" --initrd a.gz --net tap=kvla >a.out 2>&1 &
pa=\$!
kvmlite run --cmdline "$GUEST_CMDLINE" --name vm-b --kernel "$kernel" --initrd b.gz --net tap=kvlb >b.out 2>&1 &
pb=\$!
ra=0; rb=0
wait \$pa || ra=\$?
wait \$pb || rb=\$?
sed 's/^/A: /' a.out
sed 's/^/B: /' b.out
echo "STATUS \$ra \$rb"
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"
expect_out '^STATUS 31 32$'
expect_out '^A: 20 packets transmitted, 20 packets received, 0% packet loss'
expect_out '^B: 20 packets transmitted, 20 packets received, 0% packet loss'
mac_a=$(sed -n 's/^A: GUEST-MAC //p' "$WORK/out")
mac_b=$(sed -n 's/^B: GUEST-MAC //p' "$WORK/out")
[[ -n $mac_a && -n $mac_b && $mac_a != "$mac_b" ]] || fail "MACs '$mac_a' '$mac_b'"
pass "two guests on a bridge reach each other (MACs $mac_a, $mac_b)"
