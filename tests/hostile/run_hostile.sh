#!/usr/bin/env bash
# Run hostile guests on the local /dev/kvm:
#
#	run_hostile.sh KVMLITE GUEST_DIR [GUEST...]
#
# Each GUEST_DIR/GUEST.elf runs as
#	kvmlite run --kernel GUEST.elf --disk path=IMG --memory 64M
# with a fresh 1 MiB scratch image (sector N holds "KVMLITE-SECTOR-" and
# the letter 'A' + N % 26, repeated; huge_reads gets the same 1 MiB made
# a sparse 1 GiB, in /dev/shm when that is a tmpfs: its holes read as the
# zero page, no page cache to fill), under a timeout and /usr/bin/time.
# Passes when the
# guest's verdict (test-exit) is 1, kvmlite reported no crash or sanitizer
# error, and its peak RSS stayed below guest RAM + 32 MiB.
# A "stop" guest (huge_reads) instead prints HOSTILE-STOP-NOW on its
# console when the host should stop it: the script then sends kvmlite
# SIGTERM and passes when kvmlite exits with status 82 (stopped by a
# signal) within HOSTILE_STOP_MS.
# Exit status 77 (SKIP) when /dev/kvm is unusable.
#
# Environment: HOSTILE_TIMEOUT (s, default 120), HOSTILE_RSS_LIMIT_KB
# (default (64 + 32) MiB), HOSTILE_STOP_MS (default 2000),
# HOSTILE_KEEP=1 keeps the scratch directory.
set -uo pipefail

if [[ $# -lt 2 ]]; then
	echo "usage: $0 KVMLITE GUEST_DIR [GUEST...]" >&2
	exit 64
fi
kvmlite=$1 dir=$2
shift 2
guests=("$@")
if [[ ${#guests[@]} -eq 0 ]]; then
	guests=(sanity regs_scribble queue_outside_ram desc_loop
		absurd_lengths notify_hammer huge_reads vsock_hostile rng_hostile)
fi
timeout_s=${HOSTILE_TIMEOUT:-120}
stop_ms=${HOSTILE_STOP_MS:-2000}
stop_marker=HOSTILE-STOP-NOW
mem_mib=64
rss_limit_kb=${HOSTILE_RSS_LIMIT_KB:-$(((mem_mib + 32) * 1024))}

if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
	echo "*** SKIP: hostile guests: /dev/kvm is not usable here ***" >&2
	exit 77
fi
timecmd=/usr/bin/time
if [[ ! -x $timecmd ]]; then
	echo "*** SKIP: hostile guests: $timecmd (package time) missing ***" >&2
	exit 77
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/kvmlite-hostile.XXXXXX")
if [[ ${HOSTILE_KEEP:-0} != 1 ]]; then
	trap 'rm -rf "$scratch"' EXIT
fi

make_image() { # PATH [SIZE]: 2048 sectors of the pattern, then sparse
	local block=$scratch/block n letter
	: >"$block"
	for ((n = 0; n < 26; n++)); do
		letter=$(printf "\\x$(printf %x $((65 + n)))")
		for ((i = 0; i < 32; i++)); do
			printf 'KVMLITE-SECTOR-%s' "$letter"
		done >>"$block"
	done
	: >"$1"
	for ((n = 0; n < 79; n++)); do
		cat "$block"
	done >>"$1"
	truncate -s 1M "$1"
	if [[ -n ${2:-} ]]; then
		truncate -s "$2" "$1"
	fi
}

image_size() { # GUEST: the image size it needs beyond 1 MiB, if any
	case $1 in
	huge_reads) echo 1G ;;
	esac
}

extra_args() { # GUEST WORK: its devices beside the disk
	case $1 in
	vsock_hostile) echo "--vsock cid=3,uds=$2/v.sock" ;;
	rng_hostile) echo "--rng" ;;
	esac
}

# vsock_hostile's host side: a listener at UDS_1024 that accepts and never
# reads (the guest's credit must stop growing).
start_helper() { # GUEST WORK
	[[ $1 == vsock_hostile ]] || return 0
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(4)
held = []
while True:
    held.append(s.accept()[0])
' "$2/v.sock_1024" &
	helper=$!
}

is_stop_guest() { # GUEST: does the host stop it (see above)?
	[[ $1 == huge_reads ]]
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

fails=0
for g in "${guests[@]}"; do
	elf=$dir/$g.elf
	work=$scratch/$g
	mkdir -p "$work"
	if [[ ! -r $elf ]]; then
		echo "FAIL: $g: no guest $elf" >&2
		fails=$((fails + 1))
		continue
	fi
	size=$(image_size "$g")
	img=$work/disk.img
	if [[ -n $size && -w /dev/shm &&
		$(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]]; then
		img=$(mktemp /dev/shm/kvmlite-hostile.XXXXXX) || img=$work/disk.img
	fi
	make_image "$img" "$size"
	: >"$work/console.log"
	start=$(date +%s)
	rc=0
	stop_took= stop_note= helper=
	start_helper "$g" "$work"
	# shellcheck disable=SC2207 # words on purpose
	extra=($(extra_args "$g" "$work"))
	# The shell writes its pid (kvmlite's, after exec) for the stop.
	timeout -k 5 "$timeout_s" "$timecmd" -f %M -o "$work/rss" \
		bash -c 'echo $$ >"$0"; exec "$@"' "$work/pid" \
		"$kvmlite" run --kernel "$elf" --disk path="$img" "${extra[@]}" \
		--memory ${mem_mib}M --serial file:"$work/console.log" \
		</dev/null >"$work/stdout" 2>"$work/stderr" &
	bg=$!
	if is_stop_guest "$g"; then
		while kill -0 "$bg" 2>/dev/null &&
			! grep -q "$stop_marker" "$work/console.log"; do
			sleep 0.02
		done
		if grep -q "$stop_marker" "$work/console.log"; then
			t0=$(now_ms)
			kill -TERM "$(cat "$work/pid")" 2>/dev/null
			wait "$bg" || rc=$?
			stop_took=$(($(now_ms) - t0))
			stop_note=", stopped in ${stop_took} ms"
		else
			wait "$bg" || rc=$?
		fi
	else
		wait "$bg" || rc=$?
	fi
	[[ -n $helper ]] && kill "$helper" 2>/dev/null
	secs=$(($(date +%s) - start))
	[[ $img == /dev/shm/* ]] && rm -f "$img"
	rss=$(tail -n 1 "$work/rss" 2>/dev/null)
	want=1
	is_stop_guest "$g" && want=82
	why=
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		why="hung: killed after ${timeout_s}s"
	elif grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault|core dumped' \
		"$work/stderr"; then
		why="sanitizer error or crash in kvmlite"
	elif [[ $rc -eq 81 ]]; then
		why="the guest crashed (status 81)"
	elif [[ $rc -eq 70 ]]; then
		why="internal VMM failure (status 70)"
	elif [[ $rc -ne $want ]]; then
		why="status $rc, expected $want"
		if [[ $rc -ge 10 && $rc -lt 64 ]]; then
			why+=" (guest step $((rc - 10)) failed)"
		fi
	elif [[ $want -eq 82 && -z $stop_took ]]; then
		why="no $stop_marker from the guest"
	elif [[ $want -eq 82 && $stop_took -gt $stop_ms ]]; then
		why="SIGTERM to exit took ${stop_took} ms, over ${stop_ms} ms"
	elif ! [[ $rss =~ ^[0-9]+$ ]]; then
		why="no max RSS measured"
	elif [[ $rss -gt $rss_limit_kb ]]; then
		why="max RSS ${rss} KiB over the ${rss_limit_kb} KiB bound"
	fi
	if [[ -n $why ]]; then
		echo "FAIL: hostile/$g: $why" >&2
		echo "--- kvmlite stderr:" >&2
		tail -n 20 "$work/stderr" >&2
		echo "--- guest console (last lines):" >&2
		tr -cd "[:print:]\n" 2>/dev/null <"$work/console.log" | tail -n 15 >&2
		fails=$((fails + 1))
	else
		echo "PASS: hostile/$g (${secs}s, max RSS ${rss} KiB${stop_note})"
	fi
done
if [[ $fails -gt 0 ]]; then
	[[ ${HOSTILE_KEEP:-0} == 1 ]] && echo "scratch kept in $scratch" >&2
	exit 1
fi
exit 0
