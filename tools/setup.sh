#!/usr/bin/env bash
# Install what kvmlite needs to build and test, from Debian's packages.
# Usage: tools/setup.sh [--arch arm64]   (as root, or with sudo available)
# --arch arm64 adds what tools/build.sh --arch arm64 needs: the cross
# compiler, Debian's multiarch -dev:arm64 libraries (dpkg
# --add-architecture arm64, a second package list to fetch: so only when
# asked), dtc to check device trees and qemu-user-static to run the
# arm64 unit tests here, qemu-system-arm for the arm64 test host
# (tests/testhost/run --arch arm64). libfdt-dev:arm64 conflicts with the host's
# libfdt-dev, which kvmlite's x86 build does not use; libhttp-parser-dev
# cannot be installed for both either (apt removes the host's, and the x86
# build with it), so its arm64 archive is unpacked into the cache instead
# (cmake/aarch64-linux-gnu.cmake looks there).
# When another apt or dpkg runs (unattended-upgrades, a second setup), this
# waits for it, up to SETUP_APT_LOCK_WAIT seconds (default 600).
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs="gcc libc6-dev make cmake pkg-config linux-libc-dev libjansson-dev libseccomp-dev zlib1g-dev check acpica-tools e2fsprogs python3 libhttp-parser-dev curl python3-dev python3-venv python3-setuptools python3-wheel python3-pip python3-pytest python3-mypy"
test_pkgs="$(cat tests/testhost/packages) $(cat tests/guest/packages) $(cat tests/distro/packages)"
arm64_pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross libjansson-dev:arm64 libseccomp-dev:arm64 zlib1g-dev:arm64 libfdt-dev:arm64 check:arm64 device-tree-compiler qemu-user-static qemu-system-arm"
lock_wait=${SETUP_APT_LOCK_WAIT:-600}
want_arm64=
case ${1:-} in
"") ;;
--arch)
	[[ ${2:-} == arm64 || ${2:-} == aarch64 ]] || {
		echo "tools/setup.sh: --arch takes arm64" >&2
		exit 2
	}
	want_arm64=1
	;;
--arch=arm64 | --arch=aarch64) want_arm64=1 ;;
*)
	echo "usage: tools/setup.sh [--arch arm64]" >&2
	exit 2
	;;
esac

# apt-get update: DPkg::Lock::Timeout makes apt wait for dpkg's locks, but
# (apt 2.6) not for the package lists' lock update takes, so that one is
# retried while apt says another process holds it.
apt_update() {
	local err deadline=$((SECONDS + lock_wait)) rc
	err=$(mktemp)
	while :; do
		rc=0
		$sudo apt-get -o DPkg::Lock::Timeout="$lock_wait" update -qq 2>"$err" || rc=$?
		if ((rc == 0)) || ! grep -q "Could not get lock" "$err" || ((SECONDS >= deadline)); then
			cat "$err" >&2
			rm -f "$err"
			return "$rc"
		fi
		echo "setup: another apt holds the package lists; waiting (up to ${lock_wait} s)" >&2
		sleep 5
	done
}

sudo=""
[[ $(id -u) -eq 0 ]] || sudo=sudo
extra_pkgs=""
if [[ -n $want_arm64 ]]; then
	extra_pkgs=$arm64_pkgs
	dpkg --print-foreign-architectures | grep -qx arm64 ||
		$sudo dpkg --add-architecture arm64
fi
missing=()
for p in $build_pkgs $test_pkgs $extra_pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}"
	apt_update
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$lock_wait" \
		install -y -qq "${missing[@]}" >/dev/null
fi
if [[ -n $want_arm64 ]]; then
	hp=${KVMLITE_CACHE:-$HOME/.cache/kvmlite}/arm64-sysroot
	if [[ ! -f $hp/usr/lib/aarch64-linux-gnu/libhttp_parser.a ]]; then
		t=$(mktemp -d) && chmod 755 "$t" # apt downloads as _apt
		(cd "$t" && apt-get download -qq libhttp-parser-dev:arm64 >/dev/null) ||
			{ echo "setup: cannot download libhttp-parser-dev:arm64" >&2; exit 1; }
		mkdir -p "$hp"
		dpkg -x "$t"/libhttp-parser-dev_*_arm64.deb "$hp"
		rm -rf "$t"
	fi
fi
