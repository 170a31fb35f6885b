#!/usr/bin/env bash
# On a machine without hardware virtualization (no vmx/svm: a software
# /dev/kvm such as PVM), booting a Linux kernel says so once on stderr;
# with hardware virtualization, or for a guest that is not Linux, nothing.
# The "Linux" stub is the exit stub plus the ELF note every vmlinux has.
set -euo pipefail
kvmlite=$1 stub=$2 linux_stub=$3
if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "SKIP: no_hw_virt_warning: /dev/kvm is not usable here" >&2
	exit 77
fi
err=$(mktemp)
trap 'rm -f "$err"' EXIT
warning='^kvmlite: warning: this machine has no hardware virtualization \(no vmx or svm in /proc/cpuinfo\).*tests/testhost/run'

for k in "$stub" "$linux_stub"; do
	rc=0
	"$kvmlite" run --kernel "$k" </dev/null >/dev/null 2>"$err" || rc=$?
	[[ $rc -eq 42 ]] || { echo "FAIL: $k: status $rc: $(cat "$err")" >&2; exit 1; }
	want=0
	if [[ $k == "$linux_stub" ]] && ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
		want=1
	fi
	got=$(grep -cE "$warning" "$err" || true)
	[[ $got -eq $want ]] || { echo "FAIL: $k: $got warnings, want $want; stderr: $(cat "$err")" >&2; exit 1; }
	[[ $(wc -l <"$err") -eq $want ]] || { echo "FAIL: $k: other lines on stderr: $(cat "$err")" >&2; exit 1; }
	echo "PASS: $(basename "$k"): $want warning(s)"
done
