/*
 * vsockio: stdin/stdout over an AF_VSOCK stream, for test guests (busybox
 * has no vsock). Static; built into the test initramfs.
 *
 *	vsockio listen PORT	accept one connection on PORT
 *	vsockio connect CID PORT
 *	vsockio hold PORT	listen on PORT and never accept (a backlog
 *				of 1); prints VSOCKIO-HOLDING, then sleeps
 *
 * listen/connect copy stdin to the socket and the socket to stdout until
 * both reach EOF (stdin's EOF shuts the socket's write side), then print
 * "VSOCKIO in=N out=N in_secs=S out_secs=S" on stderr (in: from the
 * first byte received to EOF, the receiver's clock; out: from the start
 * to the last byte sent). For benchmarks, after the port:
 *	-s MIB	send MIB MiB of a pattern instead of stdin
 *	-d	discard what comes instead of writing stdout
 * Status 0, or 1 with a message.
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static int die(const char *what)
{
	fprintf(stderr, "vsockio: %s: %s\n", what, strerror(errno));
	return 1;
}

static unsigned long long send_mib; /* -s */
static bool discard;		    /* -d */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int pump(int s)
{
	static char buf[65536];
	unsigned long long in = 0, out = 0, left = send_mib << 20;
	bool in_open = true, sock_open = true;
	double t0 = now(), in_start = 0, in_end = 0, out_end = t0;

	if (send_mib) {
		memset(buf, 'k', sizeof(buf));
		while (left) {
			size_t n = left < sizeof(buf) ? left : sizeof(buf);
			ssize_t w = write(s, buf, n);

			if (w < 0)
				return die("write socket");
			left -= (unsigned long long)w;
			out += (unsigned long long)w;
		}
		out_end = now();
		shutdown(s, SHUT_WR);
		in_open = false;
	}
	while (in_open || sock_open) {
		struct pollfd p[2] = { { in_open ? 0 : -1, POLLIN, 0 },
				       { sock_open ? s : -1, POLLIN, 0 } };
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return die("poll");
		}
		if (p[0].revents) {
			n = read(0, buf, sizeof(buf));
			if (n < 0)
				return die("read stdin");
			if (!n) {
				in_open = false;
				out_end = now();
				shutdown(s, SHUT_WR);
			}
			for (ssize_t off = 0; off < n;) {
				ssize_t w =
					write(s, buf + off, (size_t)(n - off));

				if (w < 0)
					return die("write socket");
				off += w;
			}
			out += (unsigned long long)(n > 0 ? n : 0);
		}
		if (p[1].revents) {
			n = read(s, buf, sizeof(buf));
			if (n < 0)
				return die("read socket");
			if (n > 0 && !in)
				in_start = now();
			if (!n) {
				sock_open = false;
				in_end = now();
			}
			for (ssize_t off = 0; off < n && !discard;) {
				ssize_t w =
					write(1, buf + off, (size_t)(n - off));

				if (w < 0)
					return die("write stdout");
				off += w;
			}
			in += (unsigned long long)(n > 0 ? n : 0);
		}
	}
	fprintf(stderr, "VSOCKIO in=%llu out=%llu in_secs=%.3f out_secs=%.3f\n",
		in, out, in ? in_end - in_start : 0.0, out_end - t0);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK };
	int s, c;

	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "-d")) {
			discard = true;
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			send_mib = strtoull(argv[++i], NULL, 10);
		} else if (strcmp(argv[1], "connect") || i != 3) {
			fprintf(stderr, "vsockio: unknown argument %s\n",
				argv[i]);
			return 2;
		}
	}
	if (argc < 3) {
		fprintf(stderr, "usage: vsockio listen PORT | connect CID PORT "
				"| hold PORT\n");
		return 2;
	}
	s = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (s < 0)
		return die("socket");
	if (!strcmp(argv[1], "connect") && argc >= 4) {
		sa.svm_cid = (unsigned int)strtoul(argv[2], NULL, 0);
		sa.svm_port = (unsigned int)strtoul(argv[3], NULL, 0);
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)))
			return die("connect");
		return pump(s);
	}
	sa.svm_cid = VMADDR_CID_ANY;
	sa.svm_port = (unsigned int)strtoul(argv[2], NULL, 0);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)))
		return die("bind");
	if (!strcmp(argv[1], "hold")) {
		if (listen(s, 1))
			return die("listen");
		fprintf(stderr, "VSOCKIO-HOLDING %s\n", argv[2]);
		for (;;)
			pause();
	}
	if (listen(s, 4))
		return die("listen");
	c = accept(s, NULL, NULL);
	if (c < 0)
		return die("accept");
	close(s);
	return pump(c);
}
