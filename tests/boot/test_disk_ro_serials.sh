#!/usr/bin/env bash
# Two disks at once with distinct serials; a ro=on disk refuses writes and
# its image is unchanged.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
head -c 8M /dev/urandom >"$WORK/rw.img"
head -c 4M /dev/urandom >"$WORK/ro.img"
ro_sum=$(sha256sum <"$WORK/ro.img")
initrd=$(guest_initrd --modules virtio <<'SCENARIO'
for d in vda vdb; do
	echo "DISK $d serial=$(cat /sys/block/$d/serial) ro=$(cat /sys/block/$d/ro) sectors=$(cat /sys/block/$d/size)"
done
if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync 2>/dev/null; then
	echo "RO-WRITE succeeded"
else
	echo "RO-WRITE refused"
fi
blockdev --setrw /dev/vdb 2>/dev/null
if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 oflag=direct 2>/dev/null; then
	echo "RO-FORCED-WRITE succeeded"
else
	echo "RO-FORCED-WRITE refused"
fi
dd if=/dev/zero of=/dev/vda bs=4096 count=1 conv=fsync 2>/dev/null && echo "RW-WRITE ok"
test_exit 11
SCENARIO
)
run_kvmlite --kernel "$kernel" --initrd "$initrd" \
	--disk "path=$WORK/rw.img,serial=kvmlite-disk-a" \
	--disk "path=$WORK/ro.img,ro=on,serial=kvmlite-disk-b"
expect_status 11
expect_out '^DISK vda serial=kvmlite-disk-a ro=0 sectors=16384$'
expect_out '^DISK vdb serial=kvmlite-disk-b ro=1 sectors=8192$'
pass "two disks, distinct serials"
expect_out '^RO-WRITE refused'
expect_no_out 'RO-FORCED-WRITE succeeded'
expect_out '^RW-WRITE ok'
[[ $(sha256sum <"$WORK/ro.img") == "$ro_sum" ]] || fail "the ro image changed"
[[ $(head -c 4096 "$WORK/rw.img" | tr -d '\0' | wc -c) -eq 0 ]] ||
	fail "the rw write did not reach the image"
pass "ro=on refuses writes, image unchanged"
