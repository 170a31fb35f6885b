#!/usr/bin/env bash
# kvmlite exec with Debian's kernel and its modules (virtio_mmio, 9p,
# overlay from the package's lib/modules), three boots in one test-host
# session: a command's status, stdout (64 KiB of random bytes, exactly)
# and stderr come back apart; a read-write share gets the bytes written, a
# read-only one refuses writes, a write to the guest's / lands in its
# tmpfs, never in the host's root, and the command runs in the caller's
# working directory; a missing command is 127 with one line; a modules
# directory without the modules is 64 before any boot; and through the
# library alone (tests/libtest/exec.c), a missing command is
# KVMLITE_EXIT_EXEC_FAILED with the init's line.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
tree=$(source "$SRC_DIR/tests/lib/debian-kernel.sh" && kl_kernel_tree amd64)
kver=$(source "$SRC_DIR/tests/lib/debian-kernel.sh" && kl_kver "$tree")
modules=$tree/lib/modules/$kver
mkdir -p "$WORK/rw" "$WORK/ro" "$WORK/cwd" "$WORK/in"
head -c 65536 /dev/urandom >"$WORK/in/bytes.bin"
echo "read-only" >"$WORK/ro/file"
marker=/tmp/kvmlite-exec-test-$$
# Each boot under a guard of its own (a hang: status 121 and a state
# dump), the whole under BOOT_TIMEOUT.
g="'$SRC_DIR/tests/boot/guard' --dump-on '$GUEST_DEATH' --deadline ${BOOT_EACH_TIMEOUT:-120} --"
x="$g kvmlite exec --kernel '$kernel' --modules '$modules' --memory 512M"
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK/cwd"
$x --share "$WORK/rw:/mnt/rw" --share "$WORK/ro:/mnt/ro:ro" --share "$WORK/cwd:$WORK/cwd" \
	--share "$WORK/in:/mnt/in:ro" -- sh -c '
	cat /mnt/in/bytes.bin
	echo to-stderr >&2
	printf "written by the guest" >/mnt/rw/new
	cat /mnt/ro/file >&2
	echo x >/mnt/ro/refused 2>/dev/null || echo "ro-refused" >&2
	echo guest >$marker && echo "root-write \$(cat $marker)" >&2
	echo "cwd \$(pwd)" >&2
	exit 7' >"$WORK/a.out" 2>"$WORK/a.err"
echo "a status=\$?"
$x -- /no/such/command >"$WORK/c.out" 2>"$WORK/c.err"
echo "c status=\$?"
$g "$BUILD_DIR/libtest_exec" "$kernel" "$modules" "$WORK" \
	>"$WORK/e.out" 2>"$WORK/e.err"
echo "e status=\$?"
kvmlite exec --kernel "$kernel" --modules "$WORK" -- true \
	>"$WORK/d.out" 2>"$WORK/d.err"
echo "d status=\$?"
[ -e $marker ] && echo "HOST-ROOT-CHANGED"
exit 0
DRIVE
chmod +x "$WORK/drive.sh"
RETRY_ON='^[a-z]+ status=121$' BOOT_TIMEOUT=500 in_testhost "$WORK/drive.sh"
expect_status 0
cp "$WORK/out" "$WORK/statuses"
expect_no_out HOST-ROOT-CHANGED

boot_ok a 7
cmp -s "$WORK/a.out" "$WORK/in/bytes.bin" ||
	fail "stdout is not the 64 KiB the command wrote ($(wc -c <"$WORK/a.out") bytes)"
expect_err '^to-stderr$'
grep -q to-stderr "$WORK/a.out" && fail "the command's stderr is in stdout"
pass "status 7, stdout byte-exact, stderr apart"

[[ $(cat "$WORK/rw/new" 2>/dev/null) == "written by the guest" ]] ||
	fail "the read-write share lacks the guest's file"
expect_err '^read-only$'
expect_err '^ro-refused$'
[[ ! -e $WORK/ro/refused ]] || fail "the read-only share took a write"
expect_err '^root-write guest$'
expect_err "^cwd $WORK/cwd\$"
pass "rw share written, ro share refused, / written in the guest only, cwd kept"

boot_ok c 127
expect_err '^kvmlite exec: /no/such/command: No such file or directory$'
[[ $(wc -l <"$WORK/err") -eq 1 ]] || fail "more than one line on stderr"
pass "a missing command: 127 and one line"

boot_ok d 64
expect_err "^kvmlite: modules $WORK: "
pass "modules missing: 64 and one line, no boot"

boot_ok e 0
expect_out '^LIBTEST-EXEC-OK$'
pass "the library: EXEC_FAILED, status 127, the init's line in the detail and on the stderr fd"
