#!/usr/bin/env bash
# Install what kvmlite needs to build and test, from Debian's packages.
# Usage: tools/setup.sh            (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs="gcc make cmake pkg-config linux-libc-dev libjansson-dev libseccomp-dev check acpica-tools e2fsprogs python3"
test_pkgs="$(cat tests/testhost/packages) $(cat tests/guest/packages)"

missing=()
for p in $build_pkgs $test_pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[[ $(id -u) -eq 0 ]] || sudo=sudo
	echo "setup: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
