#!/usr/bin/env bash
# The stock Debian bzImage boots to the test init; a test-exit value
# becomes kvmlite's exit status.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel)
initrd=$(guest_initrd <<'SCENARIO'
echo "SCENARIO-RAN uname=$(uname -r)"
test_exit 7
SCENARIO
)
# kvmlite's default command line, not the tests' quiet one.
in_testhost kvmlite run --kernel "$kernel" --initrd "$initrd" --memory 512M
expect_out 'Linux version 6\.'
expect_out '^KVMLITE-GUEST-INIT'
expect_out '^SCENARIO-RAN uname=6\.'
expect_status 7
pass
