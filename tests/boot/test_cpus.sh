#!/usr/bin/env bash
# --cpus N: the guest sees exactly N online CPUs (ELF vmlinux, PVH entry).
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
initrd=$(guest_initrd <<'SCENARIO'
echo "NPROC=$(nproc) ONLINE=$(cat /sys/devices/system/cpu/online)"
test_exit 3
SCENARIO
)
for n in 1 2; do
	run_kvmlite --kernel "$kernel" --initrd "$initrd" --cpus $n
	expect_status 3
	expect_out "^NPROC=$n "
	pass "--cpus $n"
done
