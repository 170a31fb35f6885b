#!/usr/bin/env bash
# Set up, build and run every test. The ASan+UBSan build runs all of them:
# unit tests, local smoke/bad-input/hostile-guest tests on /dev/kvm, and
# the Linux boot tests through the test host. The release build runs them
# again except the Linux boots, of which it runs one (those take minutes
# each under emulation; the sanitized run is the stricter one).
# A skipped test fails this script unless KVMLITE_ALLOW_SKIP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

run_ctest() { # build dir, ctest args...
	local dir=$1 log
	shift
	log=$(mktemp)
	(cd "$dir" && ctest --output-on-failure "$@") | tee "$log"
	local status=${PIPESTATUS[0]}
	if grep -q "(Skipped)" "$log" || grep -q "^SKIP" "$log"; then
		if [[ ${KVMLITE_ALLOW_SKIP:-0} != 1 ]]; then
			echo "test.sh: tests were skipped (see above); failing" >&2
			status=1
		fi
	fi
	rm -f "$log"
	return "$status"
}

echo "== build (sanitizers: address, undefined) =="
KVMLITE_BUILD_DIR=build-asan tools/build.sh -DKVMLITE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== every test under ASan+UBSan (LeakSanitizer on) =="
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run_ctest build-asan -j1

echo "== build (release) =="
KVMLITE_BUILD_DIR=build tools/build.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== release build: every test but the Linux boots, then one boot =="
run_ctest build -j1 -E '^boot/'
run_ctest build -j1 -R '^boot/test_(boot_stock|bad_kernel|config_errors)$'
