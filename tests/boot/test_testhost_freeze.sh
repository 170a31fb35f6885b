#!/usr/bin/env bash
# The emulated test host's freeze watchdog (tests/testhost/run): a test
# host one of whose CPUs stops its heartbeat is stopped, status 125, with
# a one-line reason, instead of hanging until the test's timeout. CPU 1's
# heartbeat is stopped by hand here; a real freeze stops it with the rest.
source "$(dirname "$0")/lib.sh"

rc=0
start=$SECONDS
KVMLITE_TESTHOST=emulated KVMLITE_TESTHOST_FREEZE=15 timeout -k 10 150 \
	"$SRC_DIR/tests/testhost/run" -- sh -c \
	'kill "$(sed -n 2p /run/heartbeat.pid)" && echo HEARTBEAT-STOPPED && sleep 600' \
	>"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
took=$((SECONDS - start))
expect_out '^HEARTBEAT-STOPPED$'
expect_status 125
expect_err '^testhost: the emulated test host froze \(no heartbeat from CPU 1 for [0-9]+ s\); stopping it$'
pass "a test host with CPU 1 silent for 15 s was stopped (status 125, ${took}s)"
