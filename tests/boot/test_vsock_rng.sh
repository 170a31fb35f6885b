#!/usr/bin/env bash
# One boot with --vsock and --rng. virtio-vsock, Firecracker's hybrid
# protocol: 16 MiB host -> guest (the host connects, "CONNECT 5000") and
# 16 MiB guest -> host (the guest connects to CID 2 port 6000, i.e.
# UDS_6000) at the same time, each with equal sha256 on both ends; a guest
# listener that never accepts takes a bounded amount and then holds the
# host's writer back while the other connections run on; a port nobody
# listens on closes the host's socket without "OK". virtio-rng: the hwrng
# core picks it (rng_current) and /dev/hwrng gives bytes of many values
# (the rate limit is the unit and hostile tests' job: an emulated guest
# reads far below it). The state dump names both devices.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
head -c 16M /dev/urandom >"$WORK/to-guest.bin"
initrd=$(guest_initrd --modules virtio <<'SCENARIO'
echo "GUEST-RNG-CURRENT $(cat /sys/class/misc/hw_random/rng_current)"
head -c 4096 /dev/hwrng >/tmp/r
echo "GUEST-RNG-BYTES $(wc -c </tmp/r) distinct=$(od -An -v -tu1 /tmp/r | tr -s ' ' '\n' | grep -v '^$' | sort -u | wc -l)"
vsockio hold 5001 &
head -c 16777216 /dev/urandom >/tmp/out.bin
echo "GUEST-SENT $(sha256sum </tmp/out.bin | cut -d' ' -f1)"
(vsockio listen 5000 </dev/null | sha256sum | sed 's/^/GUEST-GOT /') &
l=$!
vsockio connect 2 6000 </tmp/out.bin >/dev/null || echo "GUEST-CONNECT-FAILED"
wait $l
# The host says when its checks are done.
vsockio listen 5002 </dev/null >/dev/null
test_exit 21
SCENARIO
)
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
peer="python3 $SRC_DIR/tests/boot/vsock_peer.py"
uds=/tmp/v.sock
\$peer recv \${uds}_6000 /tmp/from-guest.bin >recv.log 2>&1 &
kvmlite run --cmdline "$GUEST_CMDLINE" --kernel "$kernel" --initrd "$initrd" --memory 512M \
	--vsock cid=3,uds=\$uds --rng &
k=\$!
\$peer send \$uds 5000 "$WORK/to-guest.bin" 150 >send.log 2>&1 &
s=\$!
\$peer hold \$uds 5001 150 >hold.log 2>&1
\$peer refused \$uds 5999 >refused.log 2>&1
wait \$s
kill -USR1 \$k
sleep 1
\$peer send \$uds 5002 /dev/null >done.log 2>&1
rc=0
wait \$k || rc=\$?
cat recv.log send.log hold.log refused.log done.log
exit \$rc
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"
expect_status 21
expect_out '^GUEST-RNG-CURRENT virtio_rng\.0$'
pass "rng_current names the virtio device"
expect_out '^GUEST-RNG-BYTES 4096 distinct=2[0-9][0-9]$'
pass "/dev/hwrng gives 4096 bytes of many values"
sent=$(sed -n 's/^GUEST-SENT \([0-9a-f]*\)$/\1/p' "$WORK/out")
[[ -n $sent ]] || fail "the guest did not send"
expect_out "^VSOCK-RECV sha256=$sent bytes=16777216\$"
pass "16 MiB guest -> host (CID 2 port 6000 -> UDS_6000), sha256 equal"
want=$(sha256sum <"$WORK/to-guest.bin" | cut -d' ' -f1)
expect_out "^VSOCK-SENT port=5000 host_port=[0-9]+ bytes=16777216\$"
expect_out "^GUEST-GOT $want  -\$"
pass "16 MiB host -> guest (CONNECT 5000, OK), sha256 equal, at the same time"
held=$(sed -n 's/^VSOCK-HOLD ok sent=\([0-9]*\)$/\1/p' "$WORK/out")
[[ -n $held ]] || fail "the held connection did not get OK"
((held < 8 * 1024 * 1024)) || fail "a listener that never accepts took $held bytes"
pass "a listener that never accepts holds the writer back after $held bytes"
expect_out "^VSOCK-REFUSED ok\$"
pass "a port nobody listens on: closed without OK"
expect_err "kvmlite: dump: virtio[0-9]: vsock cid=3 active=1 conns="
expect_err "kvmlite: dump: virtio[0-9]: rng active=1 throttled=[01] requests=[1-9][0-9]* bytes=[1-9]"
pass "the state dump names the vsock and rng devices"
