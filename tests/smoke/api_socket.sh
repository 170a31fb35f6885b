#!/usr/bin/env bash
# The API socket under curl: every endpoint's status and body, the
# socket's mode, which files at PATH are refused or replaced, the end
# through vmm.shutdown (status 82, the socket removed), and vm.snapshot
# into --snapshot-dir, which `kvmlite restore` then resumes (the echo stub
# echoes what is typed at it and exits with the status typed after "x").
# Usage: api_socket.sh KVMLITE HANG_STUB ECHO_STUB
set -euo pipefail
kvmlite=$1 hang=$2 echo=$3
[[ -r /dev/kvm && -w /dev/kvm ]] || { echo "SKIP: no usable /dev/kvm"; exit 77; }
command -v curl >/dev/null || { echo "FAIL: curl is missing (apt-get install curl)"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/api_socket.XXXXXX")
pid=
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: api_socket: $*" >&2
	[[ -f $dir/err ]] && sed 's/^/  stderr: /' "$dir/err" >&2
	exit 1
}
sock=$dir/api.sock

# req METHOD ENDPOINT [BODY]: sets $code and $body.
req() {
	local args=(-s -o "$dir/body" -w '%{http_code}' -X "$1" --max-time 30
		--unix-socket "$sock" "http://localhost/api/v1/$2")
	[[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' -d "$3")
	code=$(curl "${args[@]}") || fail "curl $1 $2: status $?"
	body=$(cat "$dir/body")
}
# json EXPR: evaluate a Python expression on the last body, as `j`.
json() {
	python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if ($1) else 1)" "$body" ||
		fail "body $body: not ($1)"
}
expect() { # CODE
	[[ $code == "$1" ]] || fail "expected HTTP $1, got $code: $body"
}
start() { # kvmlite arguments after the defaults; the kernel: $kernel
	"$kvmlite" run --kernel "${kernel:-$hang}" --serial none --name api-test --cpus 2 \
		--memory 64M --api-socket "$sock" "$@" 2>"$dir/err" &
	pid=$!
	# Answering, not just there: a stale socket at the path is there
	# before kvmlite replaces it.
	for _ in $(seq 400); do
		[[ -S $sock ]] && curl -s -o /dev/null --max-time 5 --unix-socket "$sock" \
			http://localhost/api/v1/vmm.ping && return 0
		kill -0 "$pid" 2>/dev/null || fail "kvmlite ended before making the socket"
		sleep 0.05
	done
	fail "no socket after 20 s"
}
finish() { # expected status
	local rc=0
	wait "$pid" || rc=$?
	pid=
	[[ $rc -eq $1 ]] || fail "kvmlite exited with $rc, expected $1"
}

start
[[ $(stat -c %a "$sock") == 600 ]] || fail "socket mode $(stat -c %a "$sock")"
req GET vmm.ping
expect 200
json "j['version'] == j['build_version'] and j['pid'] == $pid"
req GET vm.info
expect 200
json "j['state'] == 'Running' and j['config']['cpus']['boot_vcpus'] == 2 and j['config']['memory']['size'] == 64 << 20"
json "j['config']['payload']['kernel'] == '$hang' and j['config']['name'] == 'api-test'"
req GET vm.counters
expect 200
json "set(j) == {'console'} and j['console']['dropped'] == 0"
req PUT vm.pause
expect 204
req GET vm.info
json "j['state'] == 'Paused'"
req PUT vm.pause
expect 409
json "'paused' in j['error']"
req PUT vm.resume
expect 204
req PUT vm.resume
expect 409
req GET vm.info
json "j['state'] == 'Running'"
req PUT vm.power-button
expect 204
# Snapshots: the body is checked, then a VM without --snapshot-dir says
# what it needs (more below).
req PUT vm.snapshot '{"destination_url": "file:///tmp/snap"}'
expect 409
json "'--snapshot-dir' in j['error']"
req PUT vm.snapshot '{"destination_url": "http://x/"}'
expect 400
json "'file:///DIR' in j['error']"
req PUT vm.snapshot '{"destination_url": '
expect 400
json "j['error'].startswith('body:')"
req PUT vm.snapshot '[]'
expect 400
req PUT vm.snapshot '{"destination_url": 7}'
expect 400
req PUT vm.snapshot ''
expect 400
# Wrong method, unknown endpoint, a body too large.
req GET vm.pause
expect 405
json "j['error'] == '/api/v1/vm.pause takes PUT'"
req PUT vmm.ping
expect 405
req GET vm.nothing
expect 404
json "j['error'] == 'unknown endpoint /api/v1/vm.nothing'"
req PUT vm.snapshot "$(head -c 5000 /dev/zero | tr '\0' x)"
expect 413
kill -0 "$pid" || fail "kvmlite died"
echo "PASS: endpoints: ping, info, counters, pause/resume, power-button, snapshot (bad bodies, no --snapshot-dir), 405, 404, 413"

# A second kvmlite on the same path: refused, the first untouched.
rc=0
"$kvmlite" run --kernel "$hang" --serial none --api-socket "$sock" 2>"$dir/err2" || rc=$?
[[ $rc -eq 64 ]] || fail "second kvmlite on a live socket: status $rc"
grep -q "^kvmlite: --api-socket $sock: in use by a running process$" "$dir/err2" ||
	fail "second kvmlite: $(cat "$dir/err2")"
req GET vmm.ping
expect 200
req PUT vmm.shutdown
expect 204
finish 82
grep -q "^kvmlite: VM stopped (vmm.shutdown on the API socket)$" "$dir/err" ||
	fail "stderr: $(cat "$dir/err")"
[[ ! -e $sock ]] || fail "the socket was left behind"
echo "PASS: a live socket is refused; vmm.shutdown: status 82, socket removed"

# A file that is not a socket is never replaced.
echo precious >"$sock"
rc=0
"$kvmlite" run --kernel "$hang" --serial none --api-socket "$sock" 2>"$dir/err2" || rc=$?
[[ $rc -eq 64 ]] || fail "regular file at PATH: status $rc"
grep -q "^kvmlite: --api-socket $sock: exists and is not a socket (not replacing it)$" "$dir/err2" ||
	fail "regular file: $(cat "$dir/err2")"
[[ $(cat "$sock") == precious ]] || fail "the file at PATH was changed"
rm -f "$sock"
# A stale socket (nobody listening) is replaced.
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()" "$sock"
[[ -S $sock ]] || fail "could not make a stale socket"
start
req GET vmm.ping
expect 200
kill -TERM "$pid"
finish 82
[[ ! -e $sock ]] || fail "SIGTERM left the socket behind"
echo "PASS: a regular file at PATH is refused and kept; a stale socket is replaced; SIGTERM removes it"

# A directory that is not the user's, and a path too long.
mkdir "$dir/theirs"
chown 65534 "$dir/theirs" 2>/dev/null || chown nobody "$dir/theirs"
rc=0
"$kvmlite" run --kernel "$hang" --serial none --api-socket "$dir/theirs/api.sock" 2>"$dir/err2" || rc=$?
[[ $rc -eq 64 ]] || fail "someone else's directory: status $rc"
grep -q "the directory $dir/theirs is not yours (owner uid 65534)" "$dir/err2" || fail "$(cat "$dir/err2")"
[[ ! -e $dir/theirs/api.sock ]] || fail "a socket was made in someone else's directory"
rc=0
"$kvmlite" run --kernel "$hang" --serial none --api-socket "$dir/$(head -c 120 /dev/zero | tr '\0' a)" 2>"$dir/err2" || rc=$?
[[ $rc -eq 64 ]] || fail "long path: status $rc"
grep -q "a socket path must be 1 to 107 bytes" "$dir/err2" || fail "$(cat "$dir/err2")"
rc=0
"$kvmlite" run --kernel "$hang" --serial none --api-socket "$dir/nodir/api.sock" 2>"$dir/err2" || rc=$?
[[ $rc -eq 64 && $(wc -l <"$dir/err2") -eq 1 ]] || fail "missing directory: status $rc: $(cat "$dir/err2")"
echo "PASS: someone else's directory, a missing one and a path too long: status 64, one line"

# Every device gives counters: rng and vsock beside the console (a kind
# without counters ended the command with SIGSEGV here).
start --rng --vsock cid=3,uds="$dir/v.sock"
req GET vm.counters
expect 200
json "set(j) == {'console', 'rng0', 'vsock0'} and j['rng0']['bytes'] == 0 and j['vsock0']['conns_opened'] == 0"
req PUT vmm.shutdown
expect 204
finish 82
echo "PASS: counters of rng0 and vsock0"

# vm.snapshot into --snapshot-dir (written by the VM's snapshot thread:
# the API thread's filter opens no files), then `kvmlite restore` goes on
# from it: the echo stub echoes and exits with the status typed.
snaps=$dir/snaps
kernel=$echo start --snapshot-dir "$snaps"
real=$(realpath "$snaps")
[[ -d $snaps && ! -e $snaps/state ]] || fail "the snapshot directory: $(ls -la "$snaps" 2>&1)"
req PUT vm.snapshot "{\"destination_url\": \"file://$snaps\"}"
expect 204
[[ -s $snaps/state && -s $snaps/memory ]] || fail "no snapshot written: $(ls -la "$snaps")"
state1=$(md5sum <"$snaps/state")
# The same directory spelt otherwise is the same directory.
ln -s "$snaps" "$dir/link"
req PUT vm.snapshot "{\"destination_url\": \"file://$dir/./link/\"}"
expect 204
[[ $(md5sum <"$snaps/state") != "$state1" ]] || fail "the second snapshot did not replace the first"
# Anywhere else is refused, naming the one allowed; nothing is written.
mkdir "$dir/other"
req PUT vm.snapshot "{\"destination_url\": \"file://$dir/other\"}"
expect 403
json "'file://$real)' in j['error'] and 'not this VM' in j['error']"
req PUT vm.snapshot "{\"destination_url\": \"file://$dir/missing\"}"
expect 403
json "'No such file or directory' in j['error'] and 'file://$real)' in j['error']"
req PUT vm.snapshot "{\"destination_url\": \"file://$snaps/state\"}"
expect 403
[[ -z $(ls -A "$dir/other") && ! -e $dir/missing ]] || fail "something was written outside --snapshot-dir"
req PUT vm.snapshot '{"destination_url": "file:///'
expect 400
# Two clients at once: each gets its snapshot, one after the other.
cpids=()
for i in 1 2; do
	curl -s -o /dev/null -w '%{http_code}' -X PUT --max-time 30 --unix-socket "$sock" \
		-d "{\"destination_url\": \"file://$snaps\"}" \
		http://localhost/api/v1/vm.snapshot >"$dir/code$i" &
	cpids+=($!)
done
wait "${cpids[@]}" || true
[[ $(cat "$dir/code1") == 204 && $(cat "$dir/code2") == 204 ]] ||
	fail "two snapshots at once: $(cat "$dir/code1") $(cat "$dir/code2")"
# Paused: the snapshot leaves it paused.
req PUT vm.pause
expect 204
req PUT vm.snapshot "{\"destination_url\": \"file://$snaps\"}"
expect 204
req GET vm.info
json "j['state'] == 'Paused'"
req PUT vm.resume
expect 204
kill -0 "$pid" || fail "kvmlite died"
req PUT vmm.shutdown
expect 204
finish 82
out=$(printf 'restored hello\nx\027' | timeout 30 "$kvmlite" restore "$snaps" 2>"$dir/err") && rc=0 || rc=$?
[[ $rc -eq 23 ]] || fail "restore: status $rc (expected the 23 typed), output $out"
[[ $out == *"restored hello"* ]] || fail "restore: no echo in $out"
echo "PASS: vm.snapshot to --snapshot-dir (running, paused, two at once, another spelling) restores and runs; other dirs 403"

# A snapshot asked for as the VM is stopped: the stop is not held up.
kernel=$echo start --snapshot-dir "$snaps"
curl -s -o /dev/null -w '%{http_code}' -X PUT --max-time 30 --unix-socket "$sock" \
	-d "{\"destination_url\": \"file://$snaps\"}" \
	http://localhost/api/v1/vm.snapshot >"$dir/code1" &
cpid=$!
kill -TERM "$pid"
SECONDS=0
finish 82
[[ $SECONDS -le 5 ]] || fail "the stop took $SECONDS s with a snapshot asked for"
wait "$cpid" || true
code=$(cat "$dir/code1")
[[ $code == 204 || $code == 409 || $code == 000 ]] || fail "snapshot at the stop: HTTP $code"
echo "PASS: a snapshot asked for at a stop: status 82 at once (HTTP $code)"
