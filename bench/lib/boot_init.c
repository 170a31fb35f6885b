/* bench/boot's /init: the guest's first userspace action. Marks kvmlite's
 * boot timer (port 0xf5), prints the guest's CLOCK_MONOTONIC (≈ time since
 * the kernel's timekeeping started: the kernel's own share of the boot) on
 * the console, and ends the VM through the test-exit port (0xf4, value 3:
 * kvmlite exits 3, QEMU's isa-debug-exit 7). Static. */
#include <stdio.h>
#include <sys/io.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timespec ts;
	char line[80];
	int ok = ioperm(0xf4, 2, 1) == 0;

	if (ok)
		outb(0, 0xf5);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int n = snprintf(line, sizeof(line), "\nBOOTINIT guest_mono_ms=%.3f\n",
			 ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
	(void)!write(1, line, (size_t)n); /* /dev/console, if any */
	if (ok)
		outb(3, 0xf4);
	static const char msg[] = "boot_init: cannot write port 0xf4\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	return 1;
}
