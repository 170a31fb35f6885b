#!/usr/bin/env bash
# The guard and the retry policy end to end, in the test host, with a fake
# kvmlite (no guest: seconds, not minutes): a run that hangs is stopped by
# the guard inside the test host, which first sends SIGUSR1 to kvmlite and
# keeps its state dump; the hang is retried (with "hang" on the list, as
# bench/soak would write it) and every retry is logged with its files; a
# seccomp kill is never retried, whatever the list says.
# (tests/smoke/retry_policy.sh covers the policy case by case.)
source "$(dirname "$0")/lib.sh"

[[ $TESTHOST_MODE == emulated ]] || {
	echo "SKIP: $TEST_NAME: nothing is retried with hardware virtualization" >&2
	exit 77
}
mkdir -p "$WORK/bin"
cat >"$WORK/bin/kvmlite" <<'EOF'
#!/bin/bash
# A stand-in for kvmlite: a hung VM that answers SIGUSR1 with a state dump.
trap 'echo "kvmlite: dump: vcpu 0 rip=0xffffffff81e3c4ab mp_state=HALTED (fake)" >&2
      echo "kvmlite: dump: blk0 queue 0 avail 17 used 17 status 0xf (fake)" >&2' USR1
[[ ${1:-} == seccomp ]] && {
	echo "kvmlite: seccomp: forbidden system call 41 on a vCPU thread; stopping" >&2
	exit 71
}
echo "FAKE-GUEST-UP"
mkfifo /tmp/fake-kvmlite.$$ && exec 9<>/tmp/fake-kvmlite.$$
while :; do read -r -t 0.2 -u 9 || :; done
EOF
chmod +x "$WORK/bin/kvmlite"
printf '# test list\nhang 1 0\ncrash-report 1 0\nguest-panic 1 0\n' >"$WORK/faults"
EMULATOR_FAULTS=$WORK/faults RETRY_LOG=$WORK/retries

# 1. A hang, three runs: dumped and retried twice, then reported as a hang.
# A test-host freeze in one of them (the emulator's: the policy retries it
# as such, so the three are not all hangs) runs the three again, once.
for attempt in 1 2; do
	st=0
	rm -f "$WORK/retries" "$WORK"/*.try*
	(BOOT_TIMEOUT=8 in_testhost env PATH="$WORK/bin:$PATH" kvmlite run) 2>"$WORK/verdict" || st=$?
	cat "$WORK/verdict" >&2
	grep -q '^\(RETRY\|NOTE\): .*: host-freeze: ' "$WORK/verdict" || break
	((attempt == 2)) || echo "RETRY: $TEST_NAME: the three hung runs again: the test host froze in one of them (the emulator's)" >&2
done
[[ $st -ne 0 ]] || fail "a hung run passed"
[[ $(grep -c "^RETRY: $TEST_NAME: run [12] of 3: hang: guard: HUNG: env did not end within 8 s" "$WORK/verdict") -eq 2 ]] ||
	fail "not retried twice as a hang"
grep -q "^FAIL: $TEST_NAME: hung: env did not end within 8 s; state dump requested from 1 kvmlite" "$WORK/verdict" ||
	fail "the last run is not reported as a hang"
for t in 1 2; do
	grep -q '^guard: SIGUSR1 sent to kvmlite pid [0-9]*' "$WORK/err.try$t" ||
		fail "run $t: no SIGUSR1 sent"
	[[ $(grep -c '^kvmlite: dump: ' "$WORK/err.try$t") -eq 4 ]] || fail "run $t: the two dumps were not kept"
	grep -q '^FAKE-GUEST-UP' "$WORK/out.try$t" || fail "run $t: the output was not kept"
done
[[ $(grep -c $'\thang\tretried\t' "$WORK/retries") -eq 2 ]] || fail "retries not logged: $(cat "$WORK/retries")"
grep -q $'\thang\tnot-retried\t.*no runs left' "$WORK/retries" || fail "the last run is not logged"
cut -f7 "$WORK/retries" | grep -q "$WORK/err.try1" || fail "kept files not logged"
pass "a hang: SIGUSR1 sent, state dump kept in err.try1 and err.try2, retried twice, logged, then reported as a hang"

# 2. A seccomp kill: never retried, even with a dump and every kind listed.
st=0
rm -f "$WORK/retries"
(EXPECT_VMM_FAULT=1 in_testhost env PATH="$WORK/bin:$PATH" kvmlite seccomp && exit "$rc") 2>"$WORK/verdict" || st=$?
cat "$WORK/verdict" >&2
[[ $st -eq 71 ]] || fail "status $st, not 71"
grep -q "^NOTE: $TEST_NAME: run 1: vmm-error: status 71: kvmlite: seccomp: forbidden .*; not retried: kvmlite's own failure" \
	"$WORK/verdict" || fail "the seccomp kill is not reported as kvmlite's"
grep -q RETRY "$WORK/verdict" && fail "a seccomp kill was retried"
[[ $(wc -l <"$WORK/retries") -eq 1 ]] && grep -q $'\tvmm-error\tnot-retried\t' "$WORK/retries" ||
	fail "the seccomp kill is not logged once as not retried: $(cat "$WORK/retries")"
pass "a seccomp kill (status 71): one run, not retried"

# 3. The same kill in a test that does not expect one fails it, whatever
# the test goes on to check.
st=0
(in_testhost env PATH="$WORK/bin:$PATH" kvmlite seccomp && exit 0) 2>"$WORK/verdict" || st=$?
cat "$WORK/verdict" >&2
[[ $st -eq 1 ]] && grep -q "^FAIL: $TEST_NAME: kvmlite's own failure: status 71: kvmlite: seccomp: forbidden" "$WORK/verdict" ||
	fail "a seccomp kill did not fail the test (status $st)"
pass "a seccomp kill the test did not ask for fails it"
