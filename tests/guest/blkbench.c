/*
 * blkbench [-d DEV] [-s MIB] [-t SECONDS] [-n COUNT] [-S SEED]
 *
 * A tiny block benchmark for test guests (built statically by
 * tests/guest/initramfs, used by bench/blk). On DEV (default /dev/vda),
 * with O_DIRECT and one request in flight at a time:
 *   1. sequential 1 MiB writes over the first MIB MiB (default 128), then
 *      fdatasync (included in the time);
 *   2. sequential 1 MiB reads of the same range;
 *   3. random 4 KiB reads (4 KiB aligned, in that range) for SECONDS
 *      (default 5), or exactly COUNT reads with -n.
 * Times come from clock_gettime(CLOCK_MONOTONIC). Prints one line:
 *   BLKBENCH seq_write_mbps=F seq_read_mbps=F rand_read_iops=F
 *            size_mib=N rand_reads=N rand_secs=F
 * (MB = 10^6 bytes). Exit status 0, or 1 with a message on any error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BLOCK (1u << 20)
#define RAND_BLOCK 4096u

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "blkbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void xfer(int fd, void *buf, size_t len, off_t off, int write)
{
	ssize_t n =
		write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);

	if (n < 0)
		die(write ? "pwrite" : "pread");
	if ((size_t)n != len) {
		errno = EIO;
		die("short transfer");
	}
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

int main(int argc, char **argv)
{
	const char *dev = "/dev/vda";
	unsigned long size_mib = 128, count = 0;
	double secs = 5, t0, t_w, t_r, t_rr;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, blocks, done = 0;
	unsigned char *buf;
	int fd, c;

	while ((c = getopt(argc, argv, "d:s:t:n:S:")) != -1) {
		switch (c) {
		case 'd':
			dev = optarg;
			break;
		case 's':
			size_mib = strtoul(optarg, NULL, 0);
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		case 'n':
			count = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0) | 1;
			break;
		default:
			fprintf(stderr, "usage: blkbench [-d DEV] [-s MIB] "
					"[-t SECONDS] [-n COUNT] [-S SEED]\n");
			return 2;
		}
	}
	if (!size_mib || secs <= 0) {
		fprintf(stderr, "blkbench: bad -s or -t\n");
		return 2;
	}
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0)
		die(dev);
	if (posix_memalign((void **)&buf, 4096, SEQ_BLOCK))
		die("posix_memalign");
	for (size_t i = 0; i < SEQ_BLOCK; i++)
		buf[i] = (unsigned char)(i * 7 + 1);

	t0 = now();
	for (unsigned long i = 0; i < size_mib; i++)
		xfer(fd, buf, SEQ_BLOCK, (off_t)i * SEQ_BLOCK, 1);
	if (fdatasync(fd))
		die("fdatasync");
	t_w = now() - t0;

	t0 = now();
	for (unsigned long i = 0; i < size_mib; i++)
		xfer(fd, buf, SEQ_BLOCK, (off_t)i * SEQ_BLOCK, 0);
	t_r = now() - t0;

	blocks = (uint64_t)size_mib * (SEQ_BLOCK / RAND_BLOCK);
	t0 = now();
	for (;;) {
		off_t off = (off_t)(xorshift(&seed) % blocks) * RAND_BLOCK;

		xfer(fd, buf, RAND_BLOCK, off, 0);
		done++;
		if (count) {
			if (done >= count)
				break;
		} else if (!(done & 15) && now() - t0 >= secs) {
			break;
		}
	}
	t_rr = now() - t0;
	close(fd);

	printf("BLKBENCH seq_write_mbps=%.1f seq_read_mbps=%.1f "
	       "rand_read_iops=%.0f size_mib=%lu rand_reads=%llu "
	       "rand_secs=%.3f\n",
	       (double)size_mib * SEQ_BLOCK / 1e6 / t_w,
	       (double)size_mib * SEQ_BLOCK / 1e6 / t_r, (double)done / t_rr,
	       size_mib, (unsigned long long)done, t_rr);
	fflush(stdout);
	return 0;
}
