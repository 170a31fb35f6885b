#!/usr/bin/env bash
# An ext4 image made on the host is mounted in the guest (planted files'
# sha256 match); the guest writes files, syncs and powers off; the host
# reads exactly those bytes back out of the image.
source "$(dirname "$0")/lib.sh"
need_cmd mkfs.ext4 e2fsprogs
need_cmd debugfs e2fsprogs

kernel=$(guest_kernel --vmlinux)
mkdir -p "$WORK/root/sub"
head -c 3000000 /dev/urandom >"$WORK/root/big.bin"
echo "planted by the host" >"$WORK/root/sub/small.txt"
(cd "$WORK/root" && sha256sum big.bin sub/small.txt) >"$WORK/planted.sha256"
mkfs.ext4 -q -F -d "$WORK/root" "$WORK/disk.ext4" 64M
cp "$WORK/planted.sha256" "$WORK/share-planted.sha256"

initrd=$(guest_initrd --modules virtio <<SCENARIO
set -e
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt
cd /mnt && sha256sum big.bin sub/small.txt | sed 's/^/GUEST-SHA /'
head -c 1234567 /dev/urandom >/mnt/from-guest.bin
sha256sum /mnt/from-guest.bin | sed 's/^/GUEST-WROTE /'
printf 'line one\nline two\n' >/mnt/sub/note.txt
cd / && sync && umount /mnt
poweroff -f
SCENARIO
)
run_kvmlite --kernel "$kernel" --initrd "$initrd" --memory 512M \
	--disk "path=$WORK/disk.ext4"
expect_status 0
while read -r sum name; do
	expect_out "^GUEST-SHA $sum  $name"
done <"$WORK/planted.sha256"
pass "planted files read back in the guest"

wrote=$(sed -n 's/^GUEST-WROTE \([0-9a-f]*\) .*/\1/p' "$WORK/out")
[[ -n $wrote ]] || fail "guest did not report its file"
debugfs -R "dump /from-guest.bin $WORK/from-guest.bin" "$WORK/disk.ext4" 2>/dev/null
[[ $(sha256sum <"$WORK/from-guest.bin" | cut -d' ' -f1) == "$wrote" ]] ||
	fail "bytes the guest wrote differ on the host"
[[ $(debugfs -R "cat /sub/note.txt" "$WORK/disk.ext4" 2>/dev/null) == $'line one\nline two' ]] ||
	fail "note.txt differs on the host"
e2fsck -fn "$WORK/disk.ext4" >/dev/null 2>&1 || fail "the file system is not clean"
pass "guest writes reach the image"
