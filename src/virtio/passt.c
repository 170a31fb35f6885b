/* Starting or reaching passt. See passt.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "virtio/passt.h"

#define CHILD_STACK (64 << 10)

extern char **environ;

struct child_args {
	const char *path;
	char *const *argv;
	int sock, devnull, err_w;
};

/*
 * Two steps, so that no signal reaches the program: the helper is a copy
 * of this process made without an exit signal (clone, no SIGCHLD) that
 * never execs (an exec would make its exit signal SIGCHLD again); it
 * starts passt as its own child, waits for it and exits with its status.
 * passt gets the socket as fd 3, /dev/null as stdin and stdout, a pipe to
 * us as stderr, nothing else, and no blocked signals.
 */
static int helper_main(void *p)
{
	const struct child_args *a = p;
	sigset_t all, none;
	pid_t pid;
	int st = 0;

	sigfillset(&all);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	/* fork, not vfork: the helper runs on a stack of our own, which a
	 * sanitizer's vfork does not expect (it faulted there). */
	pid = fork();
	if (pid < 0)
		_exit(126);
	if (!pid) {
		if (dup2(a->devnull, 0) < 0 || dup2(a->devnull, 1) < 0 ||
		    dup2(a->err_w, 2) < 0 || dup2(a->sock, 3) < 0)
			_exit(127);
		if (a->sock == 3)
			(void)fcntl(3, F_SETFD, 0);
		(void)syscall(SYS_close_range, 4U, ~0U,
			      4U /* CLOSE_RANGE_CLOEXEC */);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		execve(a->path, a->argv, environ);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/*
 * This passt (Debian 12's) drops the frames a full socket does not take,
 * and TCP toward the guest then waits for a retransmission: the socket's
 * send buffer, charged to the sender for a Unix stream, bounds each burst.
 * Ask for PASST_SNDBUF: with CAP_NET_ADMIN it is granted (SO_SNDBUFFORCE),
 * else the kernel caps it at net.core.wmem_max (twice that, in truth).
 */
#define PASST_SNDBUF (4 << 20)

static void grow_sndbuf(int fd)
{
	int v = PASST_SNDBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)))
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

/* passt in PATH, into @out. */
static bool find_passt(char *out, size_t len)
{
	const char *path = getenv("PATH"), *p, *end;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		if (end == p)
			continue;
		if ((size_t)snprintf(out, len, "%.*s/passt", (int)(end - p),
				     p) >= len)
			continue;
		if (!access(out, X_OK))
			return true;
	}
	return false;
}

/* The first line passt wrote to its stderr, if any, passing over its
 * complaints that syslog is unreachable (it prints one before each of its
 * messages where there is no /dev/log). */
static void read_reason(int fd, char *buf, size_t len)
{
	ssize_t n = read(fd, buf, len - 1);
	char *line, *nl;
	unsigned int bytes;
	int end;

	buf[n > 0 ? n : 0] = '\0';
	for (line = buf; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		end = 0;
		if (!(sscanf(line, "Failed to send %u bytes to syslog%n",
			     &bytes, &end) == 1 &&
		      !line[end]) &&
		    line[0]) {
			memmove(buf, line, strlen(line) + 1);
			return;
		}
		if (!nl)
			break;
	}
	snprintf(buf, len, "no message");
}

static int spawn_passt(int *fd_out, char *err, size_t errlen)
{
	char path[4096], fdarg[16], reason[256];
	char *argv[] = { "passt", "-q", "--fd", fdarg, NULL };
	struct child_args a = { .path = path, .argv = argv, .devnull = -1 };
	int sv[2] = { -1, -1 }, ep[2] = { -1, -1 }, pidfd = -1, st = 0, ret;
	char *stack = NULL;
	pid_t pid;

	if (!find_passt(path, sizeof(path)))
		return err_fmt(err, errlen, -ENOENT,
			       "net passt: passt not found in PATH (apt-get "
			       "install passt)");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    pipe2(ep, O_CLOEXEC | O_NONBLOCK)) {
		ret = err_fmt(err, errlen, -errno, "net passt: %s",
			      strerror(errno));
		goto out;
	}
	grow_sndbuf(sv[0]); /* guest -> passt */
	grow_sndbuf(sv[1]); /* passt -> guest: passt --fd sets none */
	a.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	stack = malloc(CHILD_STACK);
	if (a.devnull < 0 || !stack) {
		ret = err_fmt(err, errlen, -ENOMEM, "net passt: out of memory");
		goto out;
	}
	a.sock = sv[1];
	a.err_w = ep[1];
	snprintf(fdarg, sizeof(fdarg), "3");
	/* No exit signal: no SIGCHLD for the program, and its waitpid(-1)
	 * does not see the helper (only __WCLONE does). */
	pid = clone(helper_main, stack + CHILD_STACK, CLONE_PIDFD, &a, &pidfd);
	if (pid < 0) {
		ret = err_fmt(err, errlen, -errno, "net passt: clone: %s",
			      strerror(errno));
		goto out;
	}
	{
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		if (poll(&p, 1, PASST_START_MS) <= 0) {
			(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL,
				      NULL, 0);
			(void)waitpid(pid, &st, __WCLONE);
			ret = err_fmt(err, errlen, -ETIMEDOUT,
				      "net passt: passt did not start within "
				      "%d ms",
				      PASST_START_MS);
			goto out;
		}
	}
	while (waitpid(pid, &st, __WCLONE) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		read_reason(ep[0], reason, sizeof(reason));
		ret = err_fmt(err, errlen, -EPROTO,
			      "net passt: %s failed (status %d): %s", path,
			      WIFEXITED(st) ? WEXITSTATUS(st) : 128,
			      WIFEXITED(st) && WEXITSTATUS(st) >= 126
				      ? "cannot run it"
				      : reason);
		goto out;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		ret = err_fmt(err, errlen, -errno, "net passt: %s",
			      strerror(errno));
		goto out;
	}
	*fd_out = sv[0];
	sv[0] = -1;
	ret = 0;
out:
	free(stack);
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	if (a.devnull >= 0)
		close(a.devnull);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}

static int connect_passt(const char *path, int *fd_out, char *err,
			 size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_fmt(err, errlen, -EINVAL,
			       "net passt %s: socket path too long", path);
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_fmt(err, errlen, -errno, "net passt %s: %s", path,
			       strerror(errno));
	grow_sndbuf(fd); /* passt grows its own end if wmem_max allows */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    fcntl(fd, F_SETFL, O_NONBLOCK)) {
		ret = -errno;
		close(fd);
		return err_fmt(err, errlen, ret,
			       "net passt %s: %s (is passt listening there?)",
			       path, strerror(-ret));
	}
	*fd_out = fd;
	return 0;
}

int passt_open(const char *socket_path, int *fd_out, char *err, size_t errlen)
{
	*fd_out = -1;
	if (!socket_path || !*socket_path)
		return spawn_passt(fd_out, err, errlen);
	return connect_passt(socket_path, fd_out, err, errlen);
}
