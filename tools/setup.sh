#!/usr/bin/env bash
# Install what kvmlite needs to build and test, from Debian's packages.
# Usage: tools/setup.sh            (as root, or with sudo available)
# When another apt or dpkg runs (unattended-upgrades, a second setup), this
# waits for it, up to SETUP_APT_LOCK_WAIT seconds (default 600).
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs="gcc libc6-dev make cmake pkg-config linux-libc-dev libjansson-dev libseccomp-dev zlib1g-dev check acpica-tools e2fsprogs python3 libhttp-parser-dev curl python3-dev python3-venv python3-setuptools python3-wheel python3-pip python3-pytest python3-mypy"
test_pkgs="$(cat tests/testhost/packages) $(cat tests/guest/packages) $(cat tests/distro/packages)"
lock_wait=${SETUP_APT_LOCK_WAIT:-600}

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

missing=()
for p in $build_pkgs $test_pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[[ $(id -u) -eq 0 ]] || sudo=sudo
	echo "setup: installing ${missing[*]}"
	apt_update
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$lock_wait" \
		install -y -qq "${missing[@]}" >/dev/null
fi
