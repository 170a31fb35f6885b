#!/usr/bin/env bash
# A line typed on kvmlite's stdin reaches the guest (through the UART's
# receive interrupt) and the guest echoes it back.
source "$(dirname "$0")/lib.sh"

kernel=$(guest_kernel)
initrd=$(guest_initrd <<'SCENARIO'
stty -echo
echo "READY-FOR-INPUT"
read -r line
echo "GUEST-GOT:<$line>"
test_exit 9
SCENARIO
)
# Inside the test host: feed the line only once the guest is listening.
cat >"$WORK/drive.sh" <<DRIVE
#!/bin/sh
cd "$WORK"
# The fifo lives in the test host's /tmp: 9p shares refuse special files.
fifo=\$(mktemp -u /tmp/console-in.XXXXXX)
mkfifo "\$fifo"
kvmlite run --cmdline "$GUEST_CMDLINE" --kernel "$kernel" --initrd "$initrd" <"\$fifo" >out.guest 2>err.guest &
pid=\$!
exec 3>"\$fifo"
i=0
until grep -q READY-FOR-INPUT out.guest 2>/dev/null; do
	i=\$((i + 1)); [ \$i -gt 1200 ] && break
	sleep 0.1
done
echo "hello from the host 42" >&3
wait \$pid
rc=\$?
exec 3>&-
cat out.guest
exit \$rc
DRIVE
chmod +x "$WORK/drive.sh"
in_testhost "$WORK/drive.sh"
expect_out '^READY-FOR-INPUT'
expect_out '^GUEST-GOT:<hello from the host 42>'
expect_status 9
pass
