#!/usr/bin/env bash
# --memory SIZE: the guest's MemTotal agrees (the kernel keeps its image,
# page structures and early reservations: allow up to 64 MiB or 10% less).
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
initrd=$(guest_initrd <<'SCENARIO'
echo "MEMTOTAL_KB=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
test_exit 4
SCENARIO
)
run_boots <<BOOTS
mem256 --kernel '$kernel' --initrd '$initrd' --memory 256M
mem1024 --kernel '$kernel' --initrd '$initrd' --memory 1024M
BOOTS
for mib in 256 1024; do
	boot_ok mem$mib 4
	kb=$(sed -n 's/^MEMTOTAL_KB=\([0-9]*\).*/\1/p' "$WORK/out")
	[[ -n $kb ]] || fail "no MemTotal printed"
	want=$((mib * 1024))
	slack=$((want / 10 > 64 * 1024 ? want / 10 : 64 * 1024))
	if ((kb > want || kb < want - slack)); then
		fail "--memory ${mib}M: MemTotal ${kb} kB"
	fi
	pass "--memory ${mib}M: MemTotal ${kb} kB"
done
