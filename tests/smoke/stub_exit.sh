#!/usr/bin/env bash
# The stub guest's first instruction writes 42 to the test-exit port: the
# whole VM path (KVM setup, PVH entry, PIO exit, exit status) on any KVM.
set -euo pipefail
kvmlite=$1 stub=$2
if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "SKIP: stub_exit: /dev/kvm is not usable here" >&2
	exit 77
fi
for args in "" "--cpus 2" "--cpus 4 --memory 4G" "--memory 16M" "--memory 64"; do
	rc=0
	# shellcheck disable=SC2086
	"$kvmlite" run --kernel "$stub" $args </dev/null || rc=$?
	if [[ $rc -ne 42 ]]; then
		echo "FAIL: stub_exit ($args): status $rc, expected 42" >&2
		exit 1
	fi
	echo "PASS: stub_exit ($args)"
done
