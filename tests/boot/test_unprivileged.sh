#!/usr/bin/env bash
# kvmlite without privileges: in the test host, /dev/kvm is given to a
# "kvm" group (GID 4242, 0660, as Debian's udev rule does), and kvmlite
# runs as UID 1000 in that group with no capabilities at all (setpriv:
# empty inheritable and bounding sets, no_new_privs). One boot with
# --net passt (kvmlite starts passt): the guest gets its address by DHCP
# and fetches a 4 MiB file from a server on the test host's
# loopback, with equal sha256 (the test host has no network device, so a
# dummy interface with documentation addresses and default routes,
# 192.0.2.1/24 and 2001:db8::1/64, gives passt the routable interfaces it
# wants; nothing leaves the test host); 1 MiB goes each way over --vsock
# (host and guest initiated); /dev/hwrng reads from --rng. A TAP, which
# needs CAP_NET_ADMIN (and here /dev/net/tun), is refused with one line
# and status 64.
#
# passt needs the test host's tmpfs root (tests/testhost/init: its
# sandbox cannot pivot_root out of an initramfs). The guest's fetch keeps
# its side of the connection open (tests/boot/passt_guest.sh: Debian 12's
# passt re-sends old bytes after a guest's half-close).
source "$(dirname "$0")/lib.sh"

need_cmd setpriv util-linux
kernel=$(guest_kernel --vmlinux)
mkdir -p "$WORK/www"
head -c 4M /dev/urandom >"$WORK/www/file.bin"
head -c 1M /dev/urandom >"$WORK/to-guest.bin"
initrd=$(guest_initrd --modules virtio <<SCENARIO
$(cat "$SRC_DIR/tests/boot/passt_guest.sh")
echo "GUEST-RNG \$(head -c 4096 /dev/hwrng | wc -c) \$(cat /sys/class/misc/hw_random/rng_current)"
head -c 1048576 /dev/urandom >/tmp/out.bin
echo "GUEST-SENT \$(sha256sum </tmp/out.bin | cut -d' ' -f1)"
(vsockio listen 5000 </dev/null | sha256sum | sed 's/^/GUEST-GOT /') &
l=\$!
vsockio connect 2 6000 </tmp/out.bin >/dev/null || echo GUEST-CONNECT-FAILED
wait \$l
test_exit 21
SCENARIO
)
stub=$BUILD_DIR/exit_stub.elf
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
WORK="$WORK" SRC_DIR="$SRC_DIR"
cd "$WORK"
$(cat "$SRC_DIR/tests/boot/passt_host.sh")
chgrp 4242 /dev/kvm && chmod 0660 /dev/kvm
mkdir -p /tmp/u && chown 1000:1000 /tmp/u
user="setpriv --reuid=1000 --regid=1000 --groups=4242 --inh-caps=-all --bounding-set=-all --no-new-privs --"
\$user grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status | sed 's/^/USER-STATUS /'
\$user kvmlite run --kernel "$stub" --net tap=kvlu0 2>tap.err
echo "TAP-STATUS \$? \$(cat tap.err)"
peer="python3 $SRC_DIR/tests/boot/vsock_peer.py"
\$user \$peer recv /tmp/u/v.sock_6000 /tmp/u/from-guest.bin >recv.out 2>&1 &
\$user kvmlite run --kernel "$kernel" --initrd "$initrd" --memory 512M \
	--net passt --rng --vsock cid=3,uds=/tmp/u/v.sock &
k=\$!
\$user \$peer send /tmp/u/v.sock 5000 "$WORK/to-guest.bin" 150 >send.out 2>&1
rc=0
wait \$k || rc=\$?
kill \$httpd 2>/dev/null
cat recv.out send.out
exit \$rc
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"
expect_status 21
expect_out '^GUEST-DHCP ip=192\.0\.2\.1 '
pass "DHCP from passt: the host's address"
expect_out '^USER-STATUS Uid:[[:space:]]+1000[[:space:]]+1000[[:space:]]+1000[[:space:]]+1000$'
expect_out '^USER-STATUS Groups:[[:space:]]+4242 *$'
expect_out '^USER-STATUS CapEff:[[:space:]]+0000000000000000$'
expect_out '^USER-STATUS CapBnd:[[:space:]]+0000000000000000$'
pass "kvmlite runs as UID 1000 in the kvm group, no capabilities"
expect_out '^TAP-STATUS 64 kvmlite: tap kvlu0: (/dev/net/tun: permission denied$|permission denied \(needs CAP_NET_ADMIN or a persistent tap owned by you\)$)'
pass "a TAP is refused without privileges (status 64, one line)"
want=$(sha256sum <"$WORK/www/file.bin" | cut -d' ' -f1)
expect_out "^GUEST-FETCHED $want 4194304\$"
pass "4 MiB over passt, unprivileged"
expect_out '^GUEST-RNG 4096 virtio_rng\.0$'
pass "/dev/hwrng from virtio-rng, unprivileged"
sent=$(sed -n 's/^GUEST-SENT \([0-9a-f]*\)$/\1/p' "$WORK/out")
[[ -n $sent ]] || fail "the guest did not send"
expect_out "^VSOCK-RECV sha256=$sent bytes=1048576\$"
want=$(sha256sum <"$WORK/to-guest.bin" | cut -d' ' -f1)
expect_out "^GUEST-GOT $want  -\$"
pass "1 MiB each way over vsock, unprivileged"
