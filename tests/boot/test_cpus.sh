#!/usr/bin/env bash
# --cpus N: the guest sees exactly N online CPUs (ELF vmlinux, PVH entry),
# and with 4 vCPUs one package of 4 cores: /proc/cpuinfo has the same
# "physical id" everywhere, "siblings" and "cpu cores" 4, distinct APIC IDs.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel --vmlinux)
initrd=$(guest_initrd <<'SCENARIO'
echo "NPROC=$(nproc) ONLINE=$(cat /sys/devices/system/cpu/online)"
grep -E '^(processor|physical id|siblings|core id|cpu cores|apicid)' /proc/cpuinfo |
	sed 's/[[:space:]]*:[[:space:]]*/=/; s/ /_/g; s/^/CPUINFO /'
for c in /sys/devices/system/cpu/cpu[0-9]*; do
	echo "TOPO ${c##*/} pkg=$(cat $c/topology/physical_package_id) core=$(cat $c/topology/core_id) siblings=$(cat $c/topology/core_siblings_list) threads=$(cat $c/topology/thread_siblings_list)"
done
test_exit 3
SCENARIO
)
run_boots <<BOOTS
cpus1 --kernel '$kernel' --initrd '$initrd' --cpus 1
cpus2 --kernel '$kernel' --initrd '$initrd' --cpus 2
cpus4 --kernel '$kernel' --initrd '$initrd' --cpus 4
BOOTS
for n in 1 2 4; do
	boot_ok cpus$n 3
	expect_out "^NPROC=$n "
	pass "--cpus $n"
done

# The last run had 4 vCPUs: one package, four cores, one thread each.
field() { # NAME: the values of one /proc/cpuinfo field, one per CPU
	sed -n "s/^CPUINFO $1=//p" "$WORK/out"
}
[[ $(field processor | wc -l) -eq 4 ]] || fail "/proc/cpuinfo lists $(field processor | wc -l) CPUs, not 4"
[[ $(field physical_id | sort -u) == 0 ]] || fail "physical ids: $(field physical_id | sort -u | xargs) (want one package, 0)"
[[ $(field siblings | sort -u) == 4 ]] || fail "siblings: $(field siblings | sort -u | xargs) (want 4)"
[[ $(field cpu_cores | sort -u) == 4 ]] || fail "cpu cores: $(field cpu_cores | sort -u | xargs) (want 4)"
[[ $(field apicid | sort -u | wc -l) -eq 4 ]] || fail "APIC ids not distinct: $(field apicid | xargs)"
[[ $(field core_id | sort -u | wc -l) -eq 4 ]] || fail "core ids not distinct: $(field core_id | xargs)"
for i in 0 1 2 3; do
	expect_out "^TOPO cpu$i pkg=0 core=$i siblings=0-3 threads=$i$"
done
pass "--cpus 4: one package of 4 cores"
