#!/usr/bin/env bash
# seccomp: a forbidden call from a vCPU thread stops everything with status
# 71 and one clear line; with filters on, the stub guest still runs.
set -euo pipefail
prog=$1 kvmlite=$2 exit_stub=$3 hang_stub=$4
if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "SKIP: seccomp_violation: /dev/kvm is not usable here" >&2
	exit 77
fi
err=$(mktemp)
trap 'rm -f "$err"' EXIT
rc=0
"$prog" "$hang_stub" 2>"$err" || rc=$?
if [[ $rc -ne 71 ]] ||
	! grep -qx "kvmlite: seccomp: forbidden system call 41 on a vCPU thread; stopping" "$err"; then
	echo "FAIL: status $rc, stderr: $(cat "$err")" >&2
	exit 1
fi
echo "PASS: forbidden socket() on a vCPU thread: status 71, message named it"
rc=0
"$kvmlite" run --kernel "$exit_stub" </dev/null || rc=$?
[[ $rc -eq 42 ]] || { echo "FAIL: filtered stub run: status $rc" >&2; exit 1; }
rc=0
"$kvmlite" run --no-seccomp --kernel "$exit_stub" </dev/null || rc=$?
[[ $rc -eq 42 ]] || { echo "FAIL: --no-seccomp run: status $rc" >&2; exit 1; }
echo "PASS: the stub runs with and without filters"
