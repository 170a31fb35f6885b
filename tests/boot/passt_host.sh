# shellcheck shell=sh disable=SC2034 # httpd: used where this is inlined
# Inlined into tests/boot/test_unprivileged.sh's drive script,
# in the test host as root: loopback up, a dummy interface for passt's
# routes (IPv4 and IPv6), a server on 127.0.0.1:8080 that sends
# $WORK/www/file.bin to one connection ($httpd: its pid; needs $SRC_DIR).
ip link set lo up
ip link add kvld0 type dummy
ip addr add 192.0.2.1/24 dev kvld0
ip link set kvld0 up
ip route add default via 192.0.2.254 dev kvld0
# This passt (Debian 12's) wants a routable IPv6 interface as well.
ip -6 addr add 2001:db8::1/64 dev kvld0 nodad
ip -6 route add default via 2001:db8::fe dev kvld0
# One connection to 127.0.0.1:8080 gets $WORK/www/file.bin (no probe: it
# would take that connection; the listening socket is waited for).
python3 "$SRC_DIR/tests/boot/net_peer.py" send 8080 "$WORK/www/file.bin" >httpd.log 2>&1 &
httpd=$!
i=0
while ! ss -ltn | grep -q '[:.]8080 ' && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
