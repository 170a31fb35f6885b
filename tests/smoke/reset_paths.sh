#!/usr/bin/env bash
# Each way Linux reboots a PC ends kvmlite with status 80 (the guest
# rebooted): the i8042's pulse of the reset line, the reset control port
# 0xcf9 (reboot=pci, and the FADT's reset register), and the jump to the
# reset vector in real mode (the BIOS method, Linux's default here). A
# stub whose reset did nothing exits 1; one that spins is stopped by the
# timeout (status 124).
set -euo pipefail
kvmlite=$1
shift
if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "SKIP: reset_paths: /dev/kvm is not usable here" >&2
	exit 77
fi
failed=0
for stub in "$@"; do
	way=$(basename "$stub" _stub.elf)
	for cpus in 1 2; do
		rc=0
		timeout -k 2 15 "$kvmlite" run --kernel "$stub" --cpus "$cpus" \
			</dev/null 2>"${TMPDIR:-/tmp}/reset_paths.err.$$" || rc=$?
		if [[ $rc -ne 80 ]]; then
			echo "FAIL: reset_paths: $way (--cpus $cpus): status $rc, expected 80" >&2
			cat "${TMPDIR:-/tmp}/reset_paths.err.$$" >&2
			failed=1
		else
			echo "PASS: reset_paths: $way (--cpus $cpus)"
		fi
	done
done
rm -f "${TMPDIR:-/tmp}/reset_paths.err.$$"
exit "$failed"
