#!/usr/bin/env bash
# Boot a stock Debian kernel to an interactive busybox shell in kvmlite
# (inside the emulated test host where this machine lacks VMX/SVM).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
dir=$PWD/build/demo
mkdir -p "$dir"
cp "$(tests/guest/kernel)" "$dir/bzImage"
# With the virtio drivers (for --disk/--net passed through) and the ACPI
# power button: Ctrl-A p makes the guest power off.
tests/guest/initramfs --shell --modules virtio -o "$dir/initrd.gz"
echo "demo: booting; leave the shell with 'exit' (powers off), Ctrl-A p (power button) or Ctrl-A x" >&2
exec tests/testhost/run --share "$dir" -- \
	kvmlite run --kernel "$dir/bzImage" --initrd "$dir/initrd.gz" \
	--cpus 2 --memory 512M "$@"
