# shellcheck shell=sh disable=SC2034 # httpd: used where this is inlined
# Inlined into tests/boot/pending/test_unprivileged.sh's drive script,
# in the test host as root: loopback up, a dummy interface for passt's
# routes (IPv4 and IPv6), an HTTP server on 127.0.0.1:8080 serving
# $WORK/www ($httpd: its pid).
ip link set lo up
ip link add kvld0 type dummy
ip addr add 192.0.2.1/24 dev kvld0
ip link set kvld0 up
ip route add default via 192.0.2.254 dev kvld0
# This passt (Debian 12's) wants a routable IPv6 interface as well.
ip -6 addr add 2001:db8::1/64 dev kvld0 nodad
ip -6 route add default via 2001:db8::fe dev kvld0
python3 -m http.server 8080 --bind 127.0.0.1 --directory "$WORK/www" >httpd.log 2>&1 &
httpd=$!
i=0
while ! python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8080), 1)' 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
