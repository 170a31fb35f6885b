# shellcheck shell=sh
# Inlined into tests/boot/test_unprivileged.sh's guest scenario
# (and bench/net's): DHCP on eth0 through passt (with passt's MTU,
# 65520: large frames instead of offloads), then fetch
# what GATEWAY:8080 sends (passt maps the gateway to the host's loopback)
# and print its sha256 and size.
cat >/tmp/udhcpc.sh <<'EOS'
#!/bin/sh
case $1 in
bound | renew)
	[ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done
	echo "GUEST-DHCP ip=$ip mask=$mask router=$router mtu=$mtu"
	;;
esac
EOS
chmod +x /tmp/udhcpc.sh
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -s /tmp/udhcpc.sh -O mtu -n -q -t 20 -T 2 || echo "GUEST-DHCP-FAILED"
gw=$(ip route | sed -n 's/^default via \([0-9.]*\).*/\1/p')
# The fetch (bench/net inlines what is above this line only).
# nc, not busybox wget: this static busybox's wget dies of SIGSEGV before
# it connects (seen with 127.0.0.1 too; its resolver is static glibc's).
# nc's stdin stays open (a FIFO with a writer) until the server closes:
# nc </dev/null half-closes at once, and Debian 12's passt then re-sends
# bytes the guest already has as new ones (once the guest's FIN is in,
# its tcp_tap_handler() moves its ACK sequence on every guest ACK but no
# longer discards the ACKed bytes from the host socket, and the next
# MSG_PEEK reads them again): 4 MiB arrived as 130-240 MB, the same under
# QEMU microvm's -netdev stream (2026-12-01).
mkfifo /tmp/hold
timeout 60 nc "$gw" 8080 </tmp/hold >/tmp/f &
exec 3>/tmp/hold
wait $!
exec 3>&-
echo "GUEST-FETCHED $(sha256sum </tmp/f | cut -d' ' -f1) $(wc -c </tmp/f)"
