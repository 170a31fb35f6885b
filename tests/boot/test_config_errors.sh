#!/usr/bin/env bash
# Malformed configuration files, end to end through the command (local: no
# guest boots): `kvmlite run --config FILE` exits 64 with exactly one line
# on stderr, "kvmlite: FILE:LINE:COL: KEY: problem", and nothing on stdout.
# (tests/unit/test_config.c covers the parser itself.)
source "$(dirname "$0")/lib.sh"

kvmlite=$BUILD_DIR/kvmlite
[[ -x $kvmlite ]] || fail "$kvmlite is missing (build the tree first)"
n=0
# check NAME 'FILE TEXT' 'REGEX after "kvmlite: FILE"' [extra args]
check() {
	local name=$1 text=$2 want=$3 f line
	shift 3
	f=$WORK/$name.json
	printf '%b' "$text" >"$f"
	rc=0
	timeout 20 "$kvmlite" run --config "$f" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
	[[ $rc -eq 64 ]] || fail "$name: status $rc, expected 64 ($(head -n 2 "$WORK/err"))"
	[[ ! -s $WORK/out ]] || fail "$name: stdout not empty"
	[[ $(wc -l <"$WORK/err") -eq 1 ]] ||
		fail "$name: stderr is not one line: $(cat "$WORK/err")"
	line=$(cat "$WORK/err")
	[[ $line =~ ^"kvmlite: $f"$want ]] ||
		fail "$name: got '$line', want 'kvmlite: $f$want'"
	n=$((n + 1))
}
check unknown_key '{\n  "kernel": "bzImage",\n  "cpu": 2\n}\n' \
	':3:3: cpu: unknown key$'
check cpus_zero '{"kernel": "bzImage", "cpus": 0}' \
	':1:23: cpus: expected a whole number from 1 to 255$'
check cpus_string '{"kernel": "bzImage",\n "cpus": "2"}' \
	':2:2: cpus: expected '
check memory_words '{"kernel": "bzImage",\n  "memory": "lots"}' \
	':2:3: memory: expected a size'
check memory_small '{"kernel": "bzImage", "memory": "1M"}' \
	':1:23: memory: must be a multiple of 4K from 16M to 1T$'
check disk_ro '{"kernel": "bzImage",\n "disks": [{"path": "a"},\n   {"path": "b", "ro": "yes"}]}' \
	':3:18: disks\[1\]\.ro: expected true or false$'
check disk_serial '{"kernel": "bzImage", "disks": [{"path": "a", "serial": "123456789012345678901"}]}' \
	':1:[0-9]+: disks\[0\]\.serial: longer than 20 bytes$'
check net_no_tap '{"kernel": "bzImage", "nets": [{"mac": "52:54:00:00:00:01"}]}' \
	':[0-9]+:[0-9]+: nets\[0\]\.tap: missing \(or "passt"\)$'
check serial_tcp '{"kernel": "bzImage",\n"serial": "tcp:1"}' \
	':2:1: serial: expected "stdio", "file:PATH" or "none"$'
check trailing_comma '{"kernel": "bzImage",}' ':1:22: '
check not_object '[1, 2]' ':1:1: the top level must be an object$'
check no_kernel '{"cpus": 2}' ': no "kernel" given \(and no --kernel\)$'
# A good file with a bad override: the option is named, not the file.
printf '{"kernel": "bzImage"}' >"$WORK/good.json"
rc=0
"$kvmlite" run --config "$WORK/good.json" --cpus 0 >"$WORK/out" 2>"$WORK/err" || rc=$?
[[ $rc -eq 64 && $(cat "$WORK/err") == "kvmlite: --cpus '0': need a whole number from 1 to 255" ]] ||
	fail "--cpus 0 override: status $rc, '$(cat "$WORK/err")'"
pass "$n malformed config files: status 64, one line naming FILE:LINE:COL and the key"
