/*
 * netbench: TCP bulk throughput, one connection at a time.
 *
 *   netbench -c HOST [-p PORT] [-s MIB] [-d send|recv|both]   (client)
 *   netbench -l [-p PORT] [-n CONNS]                           (server)
 *
 * Built statically into the test-guest initramfs (tests/guest/initramfs),
 * where it is the client, and for the test host by bench/net, where it is
 * the server. Per connection the client sends a 16-byte request
 * ("NETBENCH", direction, byte count); then for
 *   send (guest -> host, "g2h"): the client writes MIB MiB and shuts down
 *     its side; the server reads to EOF and answers one byte;
 *   recv (host -> guest, "h2g"): the server writes MIB MiB and shuts down
 *     its side; the client reads to EOF and answers one byte.
 * Each side times its part with CLOCK_MONOTONIC (the sender from its first
 * write to the receiver's answer, the receiver from its first byte to EOF)
 * and prints one line per transfer:
 *   NETBENCH role=client|server dir=g2h|h2g bytes=N secs=F mbps=F
 * (MB = 10^6 bytes). 256 KiB writes and reads, default socket buffers.
 * Default port 5201, 256 MiB, both directions; the server serves CONNS
 * connections (default: until killed). Exit status 0, or 1 with a message.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256u << 10)
#define MAGIC "NETBENCH"

static char buf[CHUNK];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "netbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t w = write(fd, c, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		c += w;
		len -= (size_t)w;
	}
}

static void read_all(int fd, void *p, size_t len)
{
	char *c = p;

	while (len) {
		ssize_t r = read(fd, c, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read");
		if (!r) {
			errno = EPROTO;
			die("short read");
		}
		c += r;
		len -= (size_t)r;
	}
}

static void report(const char *role, const char *dir, uint64_t bytes,
		   double secs)
{
	printf("NETBENCH role=%s dir=%s bytes=%llu secs=%.4f mbps=%.1f\n", role,
	       dir, (unsigned long long)bytes, secs,
	       (double)bytes / secs / 1e6);
	fflush(stdout);
}

/* Write @bytes, shut down, wait for the one-byte answer; report. */
static void do_send(int fd, const char *role, const char *dir, uint64_t bytes)
{
	uint64_t left = bytes;
	double t0 = now();
	char ack;

	while (left) {
		size_t n = left < CHUNK ? (size_t)left : CHUNK;

		write_all(fd, buf, n);
		left -= n;
	}
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown");
	read_all(fd, &ack, 1);
	report(role, dir, bytes, now() - t0);
}

/* Read to EOF, answer one byte; report. */
static void do_recv(int fd, const char *role, const char *dir, uint64_t want)
{
	uint64_t got = 0;
	double t0 = 0;

	for (;;) {
		ssize_t r = read(fd, buf, CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read");
		if (!r)
			break;
		if (!got)
			t0 = now();
		got += (uint64_t)r;
	}
	write_all(fd, "k", 1);
	if (got != want) {
		fprintf(stderr, "netbench: got %llu bytes, wanted %llu\n",
			(unsigned long long)got, (unsigned long long)want);
		exit(1);
	}
	report(role, dir, got, now() - t0);
}

static void encode(unsigned char req[16], char dir, uint64_t bytes)
{
	memcpy(req, MAGIC, 7);
	req[7] = (unsigned char)dir;
	for (int i = 0; i < 8; i++)
		req[8 + i] = (unsigned char)(bytes >> (8 * i));
}

static int client(const char *host, int port, uint64_t bytes, char dir)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	unsigned char req[16];
	int fd, one = 1;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "netbench: bad address %s\n", host);
		return 1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	for (int tries = 0;; tries++) {
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		if (tries >= 50)
			die("connect");
		close(fd);
		usleep(100000);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	encode(req, dir, bytes);
	write_all(fd, req, sizeof(req));
	if (dir == 's')
		do_send(fd, "client", "g2h", bytes);
	else
		do_recv(fd, "client", "h2g", bytes);
	close(fd);
	return 0;
}

static int server(int port, long conns)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	int lfd, one = 1;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(lfd, 4) < 0)
		die("listen");
	printf("NETBENCH-LISTENING port=%d\n", port);
	fflush(stdout);
	for (long i = 0; conns < 0 || i < conns; i++) {
		unsigned char req[16];
		uint64_t bytes = 0;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
		read_all(fd, req, sizeof(req));
		if (memcmp(req, MAGIC, 7) || (req[7] != 's' && req[7] != 'r')) {
			fprintf(stderr, "netbench: bad request\n");
			return 1;
		}
		for (int k = 0; k < 8; k++)
			bytes |= (uint64_t)req[8 + k] << (8 * k);
		if (req[7] == 's')
			do_recv(fd, "server", "g2h", bytes);
		else
			do_send(fd, "server", "h2g", bytes);
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *host = NULL, *dir = "both";
	long mib = 256, conns = -1;
	int port = 5201, listen_mode = 0, opt, ret = 0;

	while ((opt = getopt(argc, argv, "c:lp:s:d:n:")) != -1) {
		switch (opt) {
		case 'c':
			host = optarg;
			break;
		case 'l':
			listen_mode = 1;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 's':
			mib = atol(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'n':
			conns = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	memset(buf, 0x5a, sizeof(buf));
	if (listen_mode)
		return server(port, conns);
	if (!host || mib <= 0 || port <= 0 || port > 65535)
		goto usage;
	if (!strcmp(dir, "send") || !strcmp(dir, "both"))
		ret |= client(host, port, (uint64_t)mib << 20, 's');
	if (!strcmp(dir, "recv") || !strcmp(dir, "both"))
		ret |= client(host, port, (uint64_t)mib << 20, 'r');
	return ret;
usage:
	fprintf(stderr, "usage: netbench -c HOST [-p PORT] [-s MIB] "
			"[-d send|recv|both] | netbench -l [-p PORT] "
			"[-n CONNS]\n");
	return 1;
}
