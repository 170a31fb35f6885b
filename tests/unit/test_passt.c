/*
 * Starting and reaching passt (src/virtio/passt.c) with stand-ins for
 * passt in PATH: a start sends the program no SIGCHLD and leaves it no
 * child to reap; a passt that fails is reported with its first line; the
 * real passt, where installed, gets a socket that carries frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "virtio/passt.h"

static char dir[64], err[512], *old_path;

static void fake(const char *body)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/passt", dir);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	ck_assert_int_eq(chmod(p, 0755), 0);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/passt-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	old_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	setenv("PATH", dir, 1);
}

static void teardown(void)
{
	char cmd[128];

	if (old_path)
		setenv("PATH", old_path, 1);
	free(old_path);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A passt that starts (exits 0 with the socket as fd 3): the caller gets
 * the other end, no SIGCHLD and no child. */
START_TEST(start_no_signal)
{
	sigset_t chld, pending;
	char buf[8];
	int fd = -1;

	fake("[ \"$3\" = 3 ] && [ -S /proc/self/fd/3 ] || exit 9\n"
	     "echo hi >&3; exit 0");
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &chld, NULL), 0);
	ck_assert_msg(passt_open("", &fd, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	fcntl(fd, F_SETFL, 0);
	ck_assert_int_eq(read(fd, buf, 3), 3);
	ck_assert_int_eq(memcmp(buf, "hi\n", 3), 0);
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert(!sigismember(&pending, SIGCHLD));
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG | __WALL), -1);
	ck_assert_int_eq(errno, ECHILD);
	close(fd);
}
END_TEST

START_TEST(failures)
{
	int fd = -1;

	fake("echo 'passt: No external routable interface' >&2; exit 1");
	ck_assert_int_eq(passt_open("", &fd, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "failed (status 1): passt: No external "
				  "routable interface"),
		      "%s", err);
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_int_eq(fd, -1);
	/* Without /dev/log passt complains before each message. */
	fake("echo 'Failed to send 46 bytes to syslog' >&2\n"
	     "echo 'Failed to open user namespace' >&2; exit 1");
	ck_assert_int_eq(passt_open("", &fd, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "failed (status 1): Failed to open user "
				  "namespace"),
		      "%s", err);
	setenv("PATH", "/nonexistent", 1);
	ck_assert_int_eq(passt_open("", &fd, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "net passt: passt not found in PATH (apt-get "
			      "install passt)");
	ck_assert_int_eq(
		passt_open("/nonexistent/p.sock", &fd, err, sizeof(err)),
		-ENOENT);
	ck_assert_msg(
		strstr(err, "net passt /nonexistent/p.sock: No such file"),
		"%s", err);
}
END_TEST

/* What a send buffer asked for 4 MiB gets: with CAP_NET_ADMIN (root
 * here) 4 MiB, else net.core.wmem_max at most; the kernel doubles it. */
static int grown_sndbuf(void)
{
	long max = 0;
	FILE *f;

	if (geteuid() == 0)
		return 8 << 20;
	f = fopen("/proc/sys/net/core/wmem_max", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld", &max), 1);
	fclose(f);
	return 2 * (int)(max < (4 << 20) ? max : (4 << 20));
}

static int sndbuf(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len), 0);
	return v;
}

/* Both ends of the socket get big send buffers: Debian 12's passt drops
 * what a full socket does not take (TCP toward the guest then waits for a
 * retransmission), and with --fd it sets no size of its own. */
START_TEST(start_sndbuf)
{
	char buf[32] = "";
	int fd = -1;
	ssize_t n;

	fake("exec /usr/bin/python3 -c 'import socket\n"
	     "s = socket.socket(fileno=3)\n"
	     "s.send(b\"%d\" % s.getsockopt(socket.SOL_SOCKET, "
	     "socket.SO_SNDBUF))' &\nexit 0");
	ck_assert_msg(passt_open("", &fd, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_ge(sndbuf(fd), grown_sndbuf());
	fcntl(fd, F_SETFL, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	ck_assert_int_ge(atoi(buf), grown_sndbuf());
	close(fd);
}
END_TEST

/* passt=SOCKET: a listener there is connected to. */
START_TEST(attach)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ls = socket(AF_UNIX, SOCK_STREAM, 0), fd = -1, c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/p.sock", dir);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(ls, 1), 0);
	ck_assert_msg(passt_open(sa.sun_path, &fd, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_int_ge(sndbuf(fd), grown_sndbuf());
	c = accept(ls, NULL, NULL);
	ck_assert_int_ge(c, 0);
	close(c);
	close(fd);
	close(ls);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("passt");
	TCase *tc = tcase_create("passt");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, start_no_signal);
	tcase_add_test(tc, start_sndbuf);
	tcase_add_test(tc, failures);
	tcase_add_test(tc, attach);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
