#!/bin/bash
# tests/boot/arm64_trace.sh [BOOTS]: a diagnostic, not a test. Boots
# Debian's arm64 kernel BOOTS times (default 4) in build-arm64/kvmlite
# (or $KVMLITE_BUILD_DIR) in the arm64 test host with the test host's
# ftrace on (kvm:* events, sched:sched_switch), and reports for each boot
# its guest time, every WFI's wake-up against its virtual timer's
# deadline, and where the vCPU threads' time went
# (tests/boot/arm64_trace.py). A boot still running after
# $KVMLITE_TRACE_STALL_S (default 60) s gets two state dumps (SIGUSR1) and
# is killed after 120 s. Results stay in <build>/testwork/arm64_trace.
# Run it under flock /tmp/kvmlite-testhost.lock.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source-path=SCRIPTDIR source=../lib/debian-kernel.sh
. "$src/tests/lib/debian-kernel.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/arm64-guest.sh
. "$src/tests/lib/arm64-guest.sh"
boots=${1:-4}
arm64_guest_setup arm64_trace
arm64_guest_initrd <<'EOF'
echo "cpus: $(grep -c ^processor /proc/cpuinfo)"
stty -echo </dev/console
poweroff -f
EOF

# Inside the test host (busybox sh).
cat >"$work/boots.sh" <<EOF
w='$work'; T=/sys/kernel/tracing
mount -t tracefs nodev \$T 2>/dev/null
[ -d \$T/events/kvm ] || { echo "arm64_trace: no kvm trace events in the test host" >&2; exit 1; }
dmesg | grep -o 'running at [0-9.]*MHz' | head -n 1 | tr -dc '0-9.' >\$w/mhz
echo 2048 >\$T/buffer_size_kb
for e in \$T/events/kvm/*/enable \$T/events/sched/sched_switch/enable; do echo 1 >\$e; done
i=0
while [ \$i -lt $boots ]; do
	i=\$((i+1)); echo >\$T/trace; echo 1 >\$T/tracing_on; t0=\$(date +%s); dumped=0
	kvmlite run --kernel '$kernel' --initrd \$w/initrd.gz --cpus 2 --memory 512M \\
		--cmdline "console=ttyS0 panic=-1 quiet" >\$w/out.\$i 2>\$w/err.\$i &
	pid=\$!
	while kill -0 \$pid 2>/dev/null; do
		sleep 2; el=\$((\$(date +%s) - t0))
		if [ \$dumped = 0 ] && [ \$el -ge ${KVMLITE_TRACE_STALL_S:-60} ]; then
			dumped=1; kill -USR1 \$pid; sleep 2; kill -USR1 \$pid
		fi
		[ \$el -ge 120 ] && kill \$pid
	done
	wait \$pid; echo \$? >\$w/rc.\$i
	echo 0 >\$T/tracing_on; cat \$T/trace >\$w/trace.\$i
done
EOF
arm64_testhost "$work/boots.sh"
mhz=$(cat "$work/mhz" 2>/dev/null || true)
for ((i = 1; i <= boots; i++)); do
	end=$(grep -o '^\[ *[0-9.]*\] reboot' "$work/out.$i" | tr -d '[]a-z ' || true)
	echo "boot $i: status $(cat "$work/rc.$i"), powered off at ${end:-?} s of guest time"
	/usr/bin/python3 "$src/tests/boot/arm64_trace.py" "$work/trace.$i" ${mhz:+"$mhz"} | sed 's/^/  /'
	grep -h 'dump:.*vtimer' "$work/err.$i" | sed 's/^/  /' || true
done
