#!/usr/bin/env bash
# A corrupt kernel image gets a one-line error naming the file and status 65,
# before any KVM work (so this runs on the local machine).
source "$(dirname "$0")/lib.sh"

kvmlite=$BUILD_DIR/kvmlite
check() { # name, expected regex, file
	rc=0
	"$kvmlite" run --kernel "$3" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
	expect_status 65
	expect_err "^kvmlite: kernel $3: $2"
	[[ $(wc -l <"$WORK/err") -eq 1 ]] || fail "$1: more than one line"
	pass "$1"
}
head -c 5000 /dev/urandom >"$WORK/random.img"
check "random bytes" "not a bzImage or ELF" "$WORK/random.img"
kernel=$(guest_kernel)
head -c 3000 "$kernel" >"$WORK/truncated.img"
check "truncated bzImage" ".*trunc" "$WORK/truncated.img"
cp "$kernel" "$WORK/badmagic.img"
printf 'XXXX' | dd of="$WORK/badmagic.img" bs=1 seek=514 conv=notrunc 2>/dev/null
check "bzImage without HdrS" "not a bzImage or ELF" "$WORK/badmagic.img"
: >"$WORK/empty.img"
check "empty file" "file is empty" "$WORK/empty.img"
