/* outb PORT VALUE: write one byte to an x86 I/O port from a guest's
 * userspace, for kernels without /dev/port (e.g. Debian's cloud flavour).
 * Built statically by tests/guest/initramfs so it runs in a busybox initramfs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *end1, *end2;
	unsigned long port, value;

	if (argc != 3) {
		fprintf(stderr, "usage: outb PORT VALUE\n");
		return 2;
	}
	port = strtoul(argv[1], &end1, 0);
	value = strtoul(argv[2], &end2, 0);
	if (*end1 || *end2 || port > 0xffff || value > 0xff) {
		fprintf(stderr,
			"outb: bad PORT (0..0xffff) or VALUE (0..255)\n");
		return 2;
	}
	if (ioperm(port, 1, 1) != 0) {
		perror("outb: ioperm");
		return 1;
	}
	/* The console's tty transmits asynchronously: let what the guest
	 * printed reach the host before, say, the test-exit port ends the VM.
	 */
	for (int fd = 0; fd <= 2; fd++)
		if (isatty(fd))
			tcdrain(fd);
	outb((unsigned char)value, (unsigned short)port);
	return 0;
}
