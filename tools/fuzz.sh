#!/usr/bin/env bash
# Build the libFuzzer targets and run each for SECONDS (default 60) on a
# scratch copy of its seed corpus (tests/fuzz/corpus/<target>, which stays
# untouched). Stops at the first crash, leak or timeout and prints the
# reproducer; else prints a summary.
#
#	tools/fuzz.sh [SECONDS] [TARGET...]
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_WORK_DIR (scratch
# corpora and artifacts, default $FUZZ_BUILD_DIR/fuzz-work), FUZZ_JOBS
# (parallel build jobs, default 2), FUZZ_SRC_DIR (default: this tree).
set -euo pipefail

src=${FUZZ_SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
seconds=${1:-60}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
	targets=(fuzz_virtq_blk fuzz_virtq_net fuzz_elf fuzz_bzimage fuzz_cli
		fuzz_config fuzz_snapshot fuzz_virtq_vsock fuzz_virtq_rng fuzz_api
		fuzz_9p fuzz_exec_demux fuzz_arm64_image fuzz_modules_dep)
fi
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
work=${FUZZ_WORK_DIR:-$build/fuzz-work}
corpora=$(cd "$(dirname "$0")/.." && pwd)/tests/fuzz/corpus

if ! [[ $seconds =~ ^[0-9]+$ ]] || [[ $seconds -eq 0 ]]; then
	echo "usage: $0 [SECONDS] [TARGET...]" >&2
	exit 64
fi

echo "== building the fuzz targets in $build"
CC=${CC:-clang} cmake -S "$src" -B "$build" -DKVMLITE_FUZZ=ON \
	-DKVMLITE_SANITIZE=ON -DKVMLITE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"${FUZZ_JOBS:-2}" --target "${targets[@]}" >/dev/null

declare -A max_len=([fuzz_virtq_blk]=16384 [fuzz_virtq_net]=16384
		    [fuzz_elf]=65536 [fuzz_bzimage]=65536 [fuzz_cli]=1024
		    [fuzz_config]=4096 [fuzz_snapshot]=65536 [fuzz_virtq_vsock]=16384
		    [fuzz_virtq_rng]=16384 [fuzz_api]=16384 [fuzz_9p]=16384 [fuzz_exec_demux]=16384
		    [fuzz_arm64_image]=4096 [fuzz_modules_dep]=8192)
summary=()
for t in "${targets[@]}"; do
	bin=$build/tests/fuzz/$t
	corpus=$work/$t/corpus
	artifacts=$work/$t/artifacts
	log=$work/$t/log
	mkdir -p "$corpus" "$artifacts"
	cp -n "$corpora/$t"/* "$corpus"/ 2>/dev/null || true
	echo "== $t: ${seconds}s (log $log)"
	rc=0
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len="${max_len[$t]:-4096}" -print_final_stats=1 \
		-artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
	stats=$(grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' \
		"$log" | awk '{printf "%s ", $2}' || true)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
	if [[ $rc -ne 0 ]]; then
		echo "!! $t FAILED (status $rc):" >&2
		grep -E 'ERROR|SUMMARY|runtime error|fuzz_[a-z_]+: ' "$log" \
			| head -5 >&2 || true
		repro=$(ls -t "$artifacts"/* 2>/dev/null | head -1 || true)
		echo "!! reproducer: ${repro:-none}" >&2
		echo "!! rerun: $bin $repro" >&2
		exit 1
	fi
	summary+=("$(printf '%-16s ok  execs/peak_rss_mb: %s %s corpus: %s files' \
		"$t" "$stats" "$cov" "$(ls "$corpus" | wc -l)")")
done
echo "== summary (${seconds}s each)"
printf '%s\n' "${summary[@]}"
