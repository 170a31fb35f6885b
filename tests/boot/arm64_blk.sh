#!/bin/bash
# tests/boot/arm64_blk.sh: virtio-blk in an arm64 guest. Debian's arm64
# kernel boots in the cross-built kvmlite (build-arm64/, or
# $KVMLITE_BUILD_DIR) in the arm64 test host with one disk image; the
# guest loads virtio_mmio and virtio_blk (modules in Debian's arm64
# kernel), reads the block the host wrote at offset 0 and prints its
# md5sum, writes its own block at offset 8192 (dd conv=fsync), and powers
# off. The host checks the guest's sum of its block and finds the guest's
# bytes in the image. Exit 0 pass, 1 fail, 125 test host failed.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source-path=SCRIPTDIR source=../lib/debian-kernel.sh
. "$src/tests/lib/debian-kernel.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/arm64-guest.sh
. "$src/tests/lib/arm64-guest.sh"
arm64_guest_setup arm64_blk drivers/virtio/virtio_mmio.ko drivers/block/virtio_blk.ko
fail() { arm64_fail "$@"; }

arm64_guest_initrd <<'EOF'
insmod /lib/virtio_mmio.ko
insmod /lib/virtio_blk.ko
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
echo "size: $(cat /sys/block/vda/size 2>/dev/null)"
echo "host-block: $(dd if=/dev/vda bs=4096 count=1 2>/dev/null | md5sum)"
echo "KVMLITE-ARM64-GUEST-WROTE-THIS-BLOCK" | dd of=/dev/vda bs=4096 seek=2 conv=sync,fsync 2>/dev/null && echo "wrote: ok"
stty -echo </dev/console # TCSADRAIN: the UART has sent it all
poweroff -f
EOF

# The disk: 1 MiB of zeros, the host's pseudo-random block at offset 0.
truncate -s 1M "$work/disk.img"
head -c 4096 /dev/urandom >"$work/host.block"
dd if="$work/host.block" of="$work/disk.img" conv=notrunc status=none
want=$(md5sum <"$work/host.block")

cat >"$work/boot.sh" <<EOF
timeout 240 kvmlite run --kernel '$kernel' --initrd '$work/initrd.gz' \\
	--cpus 2 --memory 512M --disk 'path=$work/disk.img' \\
	--cmdline "console=ttyS0 panic=-1 quiet" >'$work'/out 2>'$work'/err
echo \$? >'$work'/rc
EOF
arm64_testhost "$work/boot.sh"

rc=$(cat "$work/rc" 2>/dev/null) || fail "no exit status"
[[ $rc == 0 ]] || fail "exit status $rc, want 0"
grep -q '^size: 2048' "$work/out" || fail "the guest does not see a 1 MiB /dev/vda"
grep -q "^host-block: $want" "$work/out" || fail "the guest read other bytes than the host wrote (want $want)"
grep -q '^wrote: ok' "$work/out" || fail "the guest's write failed"
got=$(dd if="$work/disk.img" bs=4096 skip=2 count=1 status=none | head -c 36)
[[ $got == KVMLITE-ARM64-GUEST-WROTE-THIS-BLOCK ]] || fail "the image holds '$got' at 8192, not the guest's bytes"
echo "arm64_blk: ok (virtio-blk: the guest read the host's block, the host found the guest's)"
