/*
 * /init of bench/snapshot's Linux guest (static): marks the boot timer
 * (port 0xf5: the cold boot's marker), asks for a snapshot (port 0xf6)
 * and reads the port back. Restored (non-zero; also under QEMU, whose
 * unassigned port reads 0xff), it marks the boot timer again (the
 * restore's or the reset's marker) and, with "snapexit=1" on the kernel
 * command line (the kernel hands it to /init as an environment variable),
 * ends the VM through the test-exit port (3: kvmlite exits 3, QEMU's
 * isa-debug-exit 7). Otherwise it prints a line and waits.
 */
#include <stdlib.h>
#include <sys/io.h>
#include <unistd.h>

int main(void)
{
	static const char msg[] = "SNAPINIT-WAITING\n";
	const char *e = getenv("snapexit");

	if (ioperm(0xf4, 3, 1))
		return 1;
	outb(0, 0xf5);
	outb(1, 0xf6);
	if (inb(0xf6)) {
		outb(0, 0xf5);
		if (e && *e == '1')
			outb(3, 0xf4);
	}
	if (write(1, msg, sizeof(msg) - 1) < 0)
		return 1;
	for (;;)
		pause();
}
