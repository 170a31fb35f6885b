#!/usr/bin/env bash
# One boot with two virtio-9p shares (--fs twice): rw and ro=on. The guest
# mounts both by tag, reads a file of known sha256 from each, writes a
# file (its bytes checked here afterwards), makes, renames and removes
# names, lists a directory, changes mode, size and times and links a file, gets EROFS on the ro share (mounted rw: the
# server refuses), and reaches nothing outside the share: neither a
# symlink to ../outside/secret, nor an absolute one to /etc, nor "..".
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
rw=$WORK/rw ro=$WORK/ro
rm -rf "$rw" "$ro" "$WORK/outside"
mkdir -p "$rw/dir" "$ro" "$WORK/outside"
head -c 300000 /dev/urandom >"$ro/known.bin"
cp "$ro/known.bin" "$rw/known.bin"
touch "$rw/dir/a" "$rw/dir/b" "$rw/dir/c"
echo SECRET-OUTSIDE >"$WORK/outside/secret"
ln -s ../outside/secret "$rw/secretlink"
ln -s /etc "$rw/etclink"
known=$(sha256sum <"$ro/known.bin" | cut -d' ' -f1)

initrd=$(guest_initrd --modules virtio <<'SCENARIO'
mkdir -p /mnt/rw /mnt/ro
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 rwshare /mnt/rw ||
	echo "GUEST-MOUNT-RW-FAILED"
mount -t 9p -o trans=virtio,version=9p2000.L ro-share /mnt/ro ||
	echo "GUEST-MOUNT-RO-FAILED"
echo "GUEST-RO-SUM $(sha256sum </mnt/ro/known.bin | cut -d' ' -f1)"
echo "GUEST-RW-SUM $(sha256sum </mnt/rw/known.bin | cut -d' ' -f1)"
head -c 1048576 /dev/urandom >/tmp/w
cp /tmp/w /mnt/rw/written.bin && sync
echo "GUEST-WROTE $(sha256sum </tmp/w | cut -d' ' -f1)"
echo "GUEST-READBACK $(sha256sum </mnt/rw/written.bin | cut -d' ' -f1)"
mkdir /mnt/rw/newdir && mv /mnt/rw/newdir /mnt/rw/renamed &&
	echo hi >/mnt/rw/renamed/f && rm /mnt/rw/dir/c &&
	ln -s f /mnt/rw/renamed/l && echo "GUEST-NAMES ok $(cat /mnt/rw/renamed/l)"
echo "GUEST-LS $(ls /mnt/rw/dir | tr '\n' ' ')"
echo hello >/mnt/rw/attrs && chmod 600 /mnt/rw/attrs && truncate -s 3 /mnt/rw/attrs &&
	touch -d '2020-01-01 00:00:00' /mnt/rw/attrs && ln /mnt/rw/attrs /mnt/rw/attrs.hard &&
	df /mnt/rw >/dev/null && echo "GUEST-ATTRS $(stat -c '%a %s %Y %h' /mnt/rw/attrs)"
touch /mnt/ro/new 2>/tmp/e; echo "GUEST-RO-TOUCH $? $(cat /tmp/e)"
echo x >>/mnt/ro/known.bin 2>/tmp/e; echo "GUEST-RO-APPEND $? $(cat /tmp/e)"
rm /mnt/ro/known.bin 2>/tmp/e; echo "GUEST-RO-RM $? $(cat /tmp/e)"
cat /mnt/rw/secretlink >/tmp/s 2>&1; echo "GUEST-SECRETLINK $? $(grep -c SECRET-OUTSIDE /tmp/s)"
echo "GUEST-ETCLINK $(grep -c . /mnt/rw/etclink/passwd)"
echo "GUEST-DOTDOT $(ls /mnt/rw/.. | tr '\n' ' ')"
cat /mnt/rw/../outside/secret >/tmp/s 2>&1; echo "GUEST-DOTDOT-SECRET $? $(grep -c SECRET-OUTSIDE /tmp/s)"
umount /mnt/rw && umount /mnt/ro && echo "GUEST-UMOUNT ok"
test_exit 23
SCENARIO
)
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
rm -f "$rw/written.bin"
rm -rf "$rw/renamed" "$rw/attrs" "$rw/attrs.hard"
touch "$rw/dir/c"
exec kvmlite run --cmdline "$GUEST_CMDLINE" --kernel "$kernel" --initrd "$initrd" \
	--fs path=$rw,tag=rwshare --fs path=$ro,tag=ro-share,ro=on
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"
expect_status 23
! grep -q "GUEST-MOUNT-R[WO]-FAILED" "$WORK/out" || fail "a share did not mount"
expect_out "^GUEST-RO-SUM $known\$"
expect_out "^GUEST-RW-SUM $known\$"
pass "both shares mounted by tag; a file of known sha256 read from each"
wrote=$(sed -n 's/^GUEST-WROTE \([0-9a-f]*\)$/\1/p' "$WORK/out")
[[ -n $wrote ]] || fail "the guest did not write"
expect_out "^GUEST-READBACK $wrote\$"
[[ $(sha256sum <"$rw/written.bin" | cut -d' ' -f1) == "$wrote" ]] ||
	fail "written.bin on the host differs from what the guest wrote"
[[ $(stat -c %s "$rw/written.bin") == 1048576 ]] || fail "written.bin has the wrong size"
pass "1 MiB written by the guest has the same sha256 on the host"
expect_out "^GUEST-NAMES ok hi\$"
[[ -f $rw/renamed/f && -L $rw/renamed/l && ! -e $rw/dir/c ]] ||
	fail "mkdir, rename, create, symlink, rm did not reach the host"
expect_out "^GUEST-LS a b \$"
pass "mkdir, rename, create, symlink, unlink and a directory listing"
expect_out "^GUEST-ATTRS 600 3 1577836800 2\$"
[[ $(stat -c '%a %s %Y %h' "$rw/attrs") == "600 3 1577836800 2" ]] ||
	fail "chmod, truncate, utimes or link did not reach the host: $(stat -c '%a %s %Y %h' "$rw/attrs")"
pass "chmod, truncate, utimes, a hard link and statfs, on the host too"
expect_out "^GUEST-RO-TOUCH 1 .*Read-only file system"
expect_out "^GUEST-RO-APPEND 1 .*Read-only file system"
expect_out "^GUEST-RO-RM 1 .*Read-only file system"
[[ ! -e $ro/new && $(sha256sum <"$ro/known.bin" | cut -d' ' -f1) == "$known" ]] ||
	fail "the ro share changed"
pass "ro=on: create, append and unlink get EROFS; the share is unchanged"
expect_out "^GUEST-SECRETLINK 1 0\$"
expect_out "^GUEST-ETCLINK 1\$"
expect_out "^GUEST-DOTDOT ro rw \$"
expect_out "^GUEST-DOTDOT-SECRET 1 0\$"
pass "nothing outside the share: a link to ../outside, a link to /etc (the guest's), .."
expect_out "^GUEST-UMOUNT ok\$"
pass "both shares unmount"
