#!/usr/bin/env bash
# Configure and build into build/ (or $KVMLITE_BUILD_DIR); extra arguments go
# to cmake's configure step.
#   tools/build.sh [--arch x86_64|arm64] [cmake args...]
# --arch arm64 cross-builds with gcc-aarch64-linux-gnu into build-arm64/
# (or $KVMLITE_BUILD_DIR) through cmake/aarch64-linux-gnu.cmake; its
# packages come from tools/setup.sh --arch arm64.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=
if [[ ${1:-} == --arch ]]; then
	arch=${2:?tools/build.sh: --arch needs x86_64 or arm64}
	shift 2
elif [[ ${1:-} == --arch=* ]]; then
	arch=${1#--arch=}
	shift
fi
case $arch in
"" | x86_64 | "$(uname -m)")
	dir=${KVMLITE_BUILD_DIR:-build}
	set -- "$@"
	;;
arm64 | aarch64)
	dir=${KVMLITE_BUILD_DIR:-build-arm64}
	if [[ $(uname -m) != aarch64 ]]; then
		command -v aarch64-linux-gnu-gcc >/dev/null || {
			echo "tools/build.sh: aarch64-linux-gnu-gcc missing (run tools/setup.sh --arch arm64)" >&2
			exit 2
		}
		set -- -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake "$@"
	fi
	;;
*)
	echo "tools/build.sh: unknown --arch $arch (x86_64 or arm64)" >&2
	exit 2
	;;
esac
cmake -S . -B "$dir" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
