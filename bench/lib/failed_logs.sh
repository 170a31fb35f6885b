# shellcheck shell=bash
# bench_keep_logs NAME: a failed series' logs ($work/logs) copied to
# $build/benchwork/failed/NAME-<UTC time>, whose path it prints: the next
# run of the bench empties $work.
# shellcheck disable=SC2154 # build and work: the bench script's own
bench_keep_logs() {
	local kept
	kept=$build/benchwork/failed/$1-$(date -u +%Y%m%dT%H%M%SZ)
	mkdir -p "$build/benchwork/failed"
	cp -r "$work/logs" "$kept" 2>/dev/null || kept="(none: no run wrote one)"
	printf '%s\n' "$kept"
}
