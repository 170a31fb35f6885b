#!/usr/bin/env bash
# tests/libtest/snapshot_reset.c: a Debian guest reset in place ten times
# in one process and one KVM VM, back to the snapshot its init asked for:
# each time the token it kept in RAM is there, and what it wrote to its
# overlay disk after the snapshot (in the run before) has vanished; the
# image itself is never written.
source "$(dirname "$0")/lib.sh"
need_cmd mkfs.ext4 e2fsprogs

bin=$BUILD_DIR/libtest_snapshot_reset
[[ -x $bin ]] || fail "$bin is missing (build the tree first)"
kernel=$(guest_kernel --vmlinux)
mkdir -p "$WORK/root"
mkfs.ext4 -q -F -d "$WORK/root" "$WORK/disk.ext4" 32M
sha256sum <"$WORK/disk.ext4" | cut -d' ' -f1 >"$WORK/disk.sha256"
initrd=$(guest_initrd --modules virtio <<'SCENARIO'
set -e
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt
token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" >/tmp/token
sync
echo "GUEST-TOKEN $token"
outb 0xf6 1
# inb's own output, or why it failed (a crashed inb is no "restored").
v=$(inb 0xf6) || v="failed $?"
if [ "$v" = 0 ]; then
	echo "GUEST-BOOTED"
	exec sleep 100000
fi
[ "$v" = 1 ] || echo "GUEST-INB-BAD $v"
echo "GUEST-RESTORED $(cat /tmp/token)"
echo "GUEST-AFTER $(cat /mnt/after.txt 2>/dev/null || echo none)"
echo "written after a reset" >/mnt/after.txt
sync
echo "GUEST-WROTE"
exec sleep 100000
SCENARIO
)
export ASAN_OPTIONS=detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}
in_testhost "$bin" "$kernel" "$initrd" "$WORK/disk.ext4" "$WORK/snap"
expect_status 0
for i in 0 1 2 3 4 5 6 7 8 9; do
	expect_out "snapshot_reset: reset $i: token same, after-file 'none', "
done
# Each reset's guest read 1 from the port and nothing in it crashed.
expect_no_out 'GUEST-INB-BAD|Segmentation fault'
[[ $(grep -c 'GUEST-RESTORED ' "$WORK/out") -eq 10 ]] || fail "not ten restored runs"
expect_out '^PASS: snapshot_reset: 10 resets in place$'
# The rig's lines follow the guest's last one, often before its newline.
grep -o 'snapshot_reset: reset [0-9]*: .*' "$WORK/out"
[[ $(sha256sum <"$WORK/disk.ext4" | cut -d' ' -f1) == $(cat "$WORK/disk.sha256") ]] ||
	fail "the overlay disk's image was written"
pass "ten resets in place: the token in RAM each time, the overlay's writes since the snapshot gone, the image untouched"
