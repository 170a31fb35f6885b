# shellcheck shell=bash
# The arm64 boot scripts' common ground (tests/boot/arm64_*.sh): the
# cross-built kvmlite, a scratch directory, Debian's arm64 kernel and a
# busybox root with the guest's init (for those that boot Linux), and one
# arm64 test-host session.
# Sourced after tests/lib/debian-kernel.sh.

arm64_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source-path=SCRIPTDIR source=testhost-faults.sh
. "$arm64_src/tests/lib/testhost-faults.sh"

# arm64_setup NAME: sets arm64_name=NAME, build (the arm64 build
# directory: $KVMLITE_BUILD_DIR, default build-arm64) and work
# (<build>/testwork/NAME, emptied). All a script with no Linux guest
# (arm64_stubs.sh) needs.
arm64_setup() {
	arm64_name=$1
	build=${KVMLITE_BUILD_DIR:-$arm64_src/build-arm64}
	[[ $build == /* ]] || build=$PWD/$build
	[[ -x $build/kvmlite ]] || kl_die "$arm64_name: no $build/kvmlite (tools/build.sh --arch arm64)"
	work=$build/testwork/$arm64_name
	rm -rf "$work"
	mkdir -p "$work"
}

# arm64_guest_setup NAME [MODULE]...: arm64_setup NAME, then kernel
# (Debian's arm64 Image) and a busybox root in $work/root, with each
# MODULE (a path under the kernel tree's lib/modules/*/kernel/, e.g.
# drivers/block/virtio_blk.ko) in its /lib, unsigned (kl_ko_unsigned: no
# signature check per insmod).
arm64_guest_setup() {
	arm64_setup "$1"
	shift
	local tree mods m
	mkdir -p "$work/root/bin" "$work/root/proc" "$work/root/sys" "$work/root/dev" "$work/root/lib"
	tree=$(kl_kernel_tree arm64)
	# shellcheck disable=SC2034 # for the caller
	kernel=$(kl_vmlinuz "$tree")
	mods=$(echo "$tree"/lib/modules/*/kernel)
	for m; do
		[[ -f $mods/$m ]] || kl_die "$arm64_name: no module $m in $mods"
		kl_ko_unsigned "$mods/$m" "$work/root/lib/${m##*/}"
	done
	cp "$(kl_deb_tree busybox-static:arm64)/bin/busybox" "$work/root/bin/busybox"
	ln -s busybox "$work/root/bin/sh"
}

# arm64_guest_initrd <<'EOF' BODY EOF: the guest's /init, BODY after a
# preamble (busybox's applets on PATH; /proc, /sys and /dev mounted),
# packed as $work/initrd.gz.
arm64_guest_initrd() {
	{
		printf '%s\n' '#!/bin/sh' '/bin/busybox --install -s /bin' 'export PATH=/bin' \
			'mount -t proc proc /proc' 'mount -t sysfs sys /sys' 'mount -t devtmpfs dev /dev'
		cat
	} >"$work/root/init"
	chmod 755 "$work/root/init"
	kl_cpio_dir "$work/root" /dev/stdout | gzip -1 >"$work/initrd.gz"
}

# arm64_testhost SCRIPT: run the busybox sh SCRIPT in one arm64 test-host
# session (tests/testhost/run --arch arm64, $work shared). A session the
# emulator ended (the test host froze, QEMU aborted, the test host's
# kernel panicked: status 125 with run's or that kernel's word for it on
# stderr) is run again, up to three in all, as tests/boot/lib.sh does,
# and logged in <build>/test-retries for tools/test.sh's summary; any
# other failure of the test host ends the caller with status 125.
arm64_testhost() {
	local st try run=${ARM64_TESTHOST_RUN:-$arm64_src/tests/testhost/run} # a fake one: tests/smoke/retry_policy.sh
	local fault_kind fault_why
	for ((try = 1; try <= 3; try++)); do
		st=0
		KVMLITE_BUILD_DIR=$build "$run" --arch arm64 --share "$work" -- sh "$1" \
			2>"$work/testhost.err" || st=$?
		cat "$work/testhost.err" >&2
		((st == 0)) && return 0
		# With hardware virtualization there is no emulator to blame.
		if ! { ((st == 125)) && [[ $("$run" --arch arm64 --mode) == emulated ]] &&
			testhost_fault "$work/testhost.err"; }; then
			break
		fi
		cp "$work/testhost.err" "$work/testhost.err.try$try"
		if ((try == 3)); then
			testhost_retry_log "$build/test-retries" "$arm64_name" "$try" not-retried \
				"no runs left" "$work/testhost.err.try$try"
			break
		fi
		testhost_retry_log "$build/test-retries" "$arm64_name" "$try" retried \
			"the emulator's own fault" "$work/testhost.err.try$try"
		echo "RETRY: $arm64_name: run $try of 3: $fault_kind: $fault_why (the emulator's own fault)" >&2
	done
	echo "$arm64_name: the test host failed (status $st)" >&2
	exit 125
}

# arm64_fail WHY: "NAME: FAIL: WHY" and the last lines of the guests'
# consoles and stderr ($work/out*, $work/err*), then exit 1.
arm64_fail() {
	local f
	echo "$arm64_name: FAIL: $*" >&2
	for f in "$work"/out* "$work"/err*; do
		[[ -f $f ]] || continue
		echo "--- ${f##*/} (last lines)" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}
