#!/usr/bin/env bash
# The emulator aborting (tests/testhost/run): QEMU that fails one of its
# own assertions dies of SIGABRT (exit 134). run says so in one line,
# whether the test host's init had started, status 125, and run_fault
# calls it the emulator's (host-abort). A fake QEMU stands in for the
# real one, which did so once in CI (2026-12-03, hw/pci/msix.c, 4 s into
# the test host's boot); it first writes a heartbeat into the control
# share when asked (HEARTBEAT=1), as the test host's init does.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/bin"
cat >"$WORK/bin/qemu-system-x86_64" <<'EOF'
#!/bin/bash
for a; do
	case $a in local,path=*,mount_tag=kl_ctl,*) ctl=${a#local,path=} ctl=${ctl%%,mount_tag=kl_ctl,*} ;; esac
done
[[ ${HEARTBEAT:-} == 1 ]] && echo 1.0 >"$ctl/heartbeat.0"
echo "qemu-system-x86_64: ../../hw/pci/msix.c:218: msix_table_mmio_write: Assertion \`addr + size <= dev->msix_entries_nr * PCI_MSIX_ENTRY_SIZE' failed." >&2
kill -ABRT $$
EOF
chmod +x "$WORK/bin/qemu-system-x86_64"

for hb in 0 1; do
	rc=0
	HEARTBEAT=$hb PATH=$WORK/bin:$PATH KVMLITE_TESTHOST=emulated timeout -k 10 120 \
		"$SRC_DIR/tests/testhost/run" -- true >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
	expect_status 125
	when=before
	[[ $hb == 1 ]] && when=after
	expect_err "^testhost: the emulator aborted \(QEMU exit 134, SIGABRT: its own assertion or fatal error, above\) $when the test host's init started$"
	touch "$WORK/.run-start"
	TESTHOST_MODE=emulated run_fault
	[[ $fault_kind == host-abort && -n $fault_retry ]] ||
		fail "heartbeat $hb: run_fault said kind '$fault_kind', retry '$fault_retry' ($fault_not), want host-abort, retried"
	[[ $fault_why == *"msix_table_mmio_write: Assertion"* ]] || fail "heartbeat $hb: the reason lacks QEMU's assertion: $fault_why"
done
pass "an aborting QEMU: status 125, one line saying so (before and after the test host's init), kind host-abort"
