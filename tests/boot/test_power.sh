#!/usr/bin/env bash
# Guest poweroff ends kvmlite with 0, guest reboot with 80.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel)
initrd=$(guest_initrd <<'SCENARIO'
echo "GOING-DOWN"
poweroff -f
SCENARIO
)
run_kvmlite --kernel "$kernel" --initrd "$initrd"
expect_out '^GOING-DOWN'
expect_status 0
pass "poweroff"

initrd=$(guest_initrd <<'SCENARIO'
echo "REBOOTING"
reboot -f
SCENARIO
)
run_kvmlite --kernel "$kernel" --initrd "$initrd"
expect_out '^REBOOTING'
expect_status 80
pass "reboot"
