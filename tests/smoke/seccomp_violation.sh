#!/usr/bin/env bash
# seccomp: a forbidden call from a vCPU thread stops everything with status
# 71 and one clear line; signals may only name kvmlite's own process (a
# bystander process survives); with filters on, the stub guest still runs.
set -euo pipefail
# The greeter writes its greeting 16 bits at a time, which KVM does not
# coalesce (src/coalesced.h): each byte is an exit, and the callback runs
# on the vCPU thread.
prog=$1 kvmlite=$2 exit_stub=$3 greeter=$4
if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "SKIP: seccomp_violation: /dev/kvm is not usable here" >&2
	exit 77
fi
err=$(mktemp)
bystander=''
cleanup() {
	rm -f "$err"
	[[ -z $bystander ]] || kill "$bystander" 2>/dev/null || true
}
trap cleanup EXIT

# A process that is not kvmlite's, for the callback to aim at.
sleep 300 &
bystander=$!

alive() { # pid: running or sleeping, not gone and not a zombie
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z && $state != X ]]
}

# mode [pid], then the x86-64 number the message must name
expect_trap() {
	local nr=${*: -1} rc=0
	set -- "${@:1:$#-1}"
	"$prog" "$greeter" "$@" 2>"$err" || rc=$?
	if [[ $rc -ne 71 ]] ||
		! grep -qx "kvmlite: seccomp: forbidden system call $nr on a vCPU thread; stopping" "$err" ||
		[[ $(wc -l <"$err") -ne 1 ]]; then
		echo "FAIL: $*: status $rc, stderr: $(cat "$err")" >&2
		exit 1
	fi
	if ! alive "$bystander"; then
		echo "FAIL: $*: the bystander process $bystander is gone" >&2
		exit 1
	fi
	echo "PASS: $* on a vCPU thread: status 71, message named call $nr"
}

expect_trap socket 41
expect_trap kill "$bystander" 62
expect_trap tgkill "$bystander" 234
expect_trap tkill 200
expect_trap madvise 28
echo "PASS: the bystander process is still alive"

rc=0
"$prog" "$greeter" tgkill-self 2>"$err" || rc=$?
[[ $rc -eq 0 ]] || { echo "FAIL: tgkill-self: status $rc, stderr: $(cat "$err")" >&2; exit 1; }
echo "PASS: tgkill(own pid, own tid, 0) on a vCPU thread is allowed"

rc=0
"$kvmlite" run --kernel "$exit_stub" </dev/null || rc=$?
[[ $rc -eq 42 ]] || { echo "FAIL: filtered stub run: status $rc" >&2; exit 1; }
rc=0
"$kvmlite" run --no-seccomp --kernel "$exit_stub" </dev/null || rc=$?
[[ $rc -eq 42 ]] || { echo "FAIL: --no-seccomp run: status $rc" >&2; exit 1; }
echo "PASS: the stub runs with and without filters"
