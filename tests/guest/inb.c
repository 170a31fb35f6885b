/* inb PORT: read one byte from an x86 I/O port from a guest's userspace
 * and print it in decimal (e.g. kvmlite's snapshot port 0xf6: 0 in a VM
 * that booted, 1 in one restored from a snapshot). Built statically by
 * tests/guest/initramfs, like outb.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
	char *end;
	unsigned long port;

	if (argc != 2) {
		fprintf(stderr, "usage: inb PORT\n");
		return 2;
	}
	port = strtoul(argv[1], &end, 0);
	if (*end || port > 0xffff) {
		fprintf(stderr, "inb: bad PORT (0..0xffff)\n");
		return 2;
	}
	if (ioperm(port, 1, 1) != 0) {
		perror("inb: ioperm");
		return 1;
	}
	printf("%u\n", inb((unsigned short)port));
	return 0;
}
