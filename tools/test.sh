#!/usr/bin/env bash
# Set up, build and run every test. The ASan+UBSan build runs all of them:
# unit tests, local smoke/bad-input/hostile-guest tests on /dev/kvm, and
# the Linux boot tests through the test host. The release build runs them
# again except the Python package's (built alike for both) and the Linux
# boots, of which it runs one (those take minutes
# each under emulation; the sanitized run is the stricter one). The arm64
# cross-build runs the unit tests that work through qemu-user.
# A skipped test fails this script unless KVMLITE_ALLOW_SKIP=1.
# Every stage runs even when an earlier one failed (a build's tests only
# run if it built); the script fails at the end if any stage did.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --arch arm64

failed=() # names of the stages that failed, in order
ctest_logs=$(mktemp) # every ctest run's output, for the summary at the end
trap 'rm -f "$ctest_logs"' EXIT

stage() { # name, command...: run it, note a failure; returns its status
	local name=$1 status=0
	shift
	echo "== $name =="
	"$@" || status=$?
	((status == 0)) || failed+=("$name")
	return "$status"
}

run_ctest() { # build dir, ctest args...: ctest's status (1 after a skip)
	local dir=$1 log status=0
	shift
	log=$(mktemp)
	(cd "$dir" && ctest --output-on-failure "$@") | tee "$log" || status=${PIPESTATUS[0]}
	if grep -q "(Skipped)" "$log" || grep -q "^SKIP" "$log"; then
		if [[ ${KVMLITE_ALLOW_SKIP:-0} != 1 ]]; then
			echo "test.sh: tests were skipped (see above); failing" >&2
			((status)) || status=1
		fi
	fi
	cat "$log" >>"$ctest_logs"
	rm -f "$log"
	return "$status"
}

# Two tests at a time (KVMLITE_TEST_JOBS): an emulated test host with a
# 1-vCPU guest keeps about one of the machine's cores busy; the boot tests
# whose guests use two are marked to run alone (CMakeLists.txt, PROCESSORS).
jobs=${KVMLITE_TEST_JOBS:-2}

asan_tests() {
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run_ctest build-asan -j"$jobs"
}

if stage "build (sanitizers: address, undefined)" \
	env KVMLITE_BUILD_DIR=build-asan tools/build.sh -DKVMLITE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug; then
	stage "every test under ASan+UBSan (LeakSanitizer on)" asan_tests || true
fi

if stage "build (release)" \
	env KVMLITE_BUILD_DIR=build tools/build.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
	# Not the Python package's tests either: its extension is built by
	# setup.py with its own flags, the same for both builds (run above).
	stage "release build: every test but the Linux boots and Python" \
		run_ctest build -j"$jobs" -E '^(boot|python)/' || true
	stage "release build: one boot" \
		run_ctest build -j1 -R '^boot/test_(boot_stock|bad_kernel|config_errors)$' || true
fi

# The arm64 cross-build, and those of its unit tests that run through
# qemu-user here. The rest assume x86's guest RAM at address 0 in their
# fixtures (arm64's starts at 2 GiB) or need what qemu-user lacks: not run
# yet, and said so.
arm64_units='^unit/test_(arm64_image|arm64_fdt|arm64_psci|bus|cli|config|config_abi|overlay|parse|snapfile)$'
if stage "build (arm64, cross)" env KVMLITE_BUILD_DIR=build-arm64 tools/build.sh --arch arm64; then
	stage "arm64 build: unit tests through qemu-user (${arm64_units})" \
		run_ctest build-arm64 -j"$jobs" -R "$arm64_units" || true
	echo "test.sh: NOTE: arm64: the other unit tests, and the x86 build's smoke and hostile tests, do not run on arm64 yet; its stub smoke tests run in the arm64 test host below (README, \"arm64\")"
	# In the arm64 test host: the stub guests (tests/stub/arm64: hello,
	# PSCI off and reset, the hostile one) in one session
	# (tests/boot/arm64_stubs.sh), then boots of Debian's arm64 kernel,
	# three in one session (arm64_boot.sh), and virtio-blk (arm64_blk.sh),
	# ~2 min together; a session the emulator ended is run again as the
	# x86 boot tests' are (tests/lib/arm64-guest.sh).
	# KVMLITE_TEST_ARM64_BOOT=0 leaves them all out, and says so.
	if [[ ${KVMLITE_TEST_ARM64_BOOT:-1} != 0 ]]; then
		stage "arm64 build: stub guests in the arm64 test host" tests/boot/arm64_stubs.sh || true
		stage "arm64 build: boots in the arm64 test host" tests/boot/arm64_boot.sh || true
		stage "arm64 build: virtio-blk in the arm64 test host" tests/boot/arm64_blk.sh || true
	else
		echo "test.sh: NOTE: arm64 stub guests and boots NOT RUN (KVMLITE_TEST_ARM64_BOOT=0)"
	fi
fi

# One summary line: tests run, passed, failed and skipped (every ctest run
# above), and the boot tests' runs retried in the emulated test host, by
# kind (tests/boot/lib.sh logs each in <build>/test-retries), with those it
# refused to retry (kvmlite's until shown otherwise).
t0=$(($(date +%s) - SECONDS))
retries=()
for f in build-asan/test-retries build/test-retries build-arm64/test-retries; do
	[[ -f $f ]] && retries+=("$f")
done
awk -F'\t' -v t0="$t0" -v ctest="$ctest_logs" '
	FILENAME == ctest { if ($0 ~ /tests passed, [0-9]+ tests failed out of [0-9]+$/) {
			w = split($0, a, " "); run += a[w]; failed += a[w - 5] }
		if ($0 ~ /^[ \t]*[0-9]+ - .* \(Skipped\)$/) skipped++
		next }
	$1 >= t0 { if ($5 == "retried") { r++; rk[$4]++ } else { n++; nk[$4]++ }
		runs[++nruns] = sprintf("  %s run %s: %s, %s: %s", $2, $3, $4, $5, substr($6, 1, 240)) }
	function kinds(a, s, k) { s = ""; for (k in a) s = s (s == "" ? "" : ", ") k " " a[k]; return s }
	END { printf "test.sh: %d tests run: %d passed, %d failed, %d skipped; %d runs retried%s; %d suspect runs not retried%s\n",
		run, run - failed - skipped, failed, skipped, r, r ? " (" kinds(rk) ")" : "",
		n, n ? " (" kinds(nk) ")" : ""
		for (i = 1; i <= nruns; i++) print runs[i] }' "$ctest_logs" "${retries[@]}" </dev/null

if ((${#failed[@]})); then
	echo "test.sh: failed stages:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
