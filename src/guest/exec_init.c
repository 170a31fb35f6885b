/*
 * The guest's /init for kvmlite exec: a static binary that libkvmlite
 * embeds and puts into the initramfs it builds (src/exec/exec.c). It reads
 * /kvmlite-exec (NUL-separated records: see exec_protocol.h), loads the
 * modules, mounts the host's root read-only over 9p under an overlay whose
 * upper layer is a tmpfs, mounts the shares, runs the command and reports
 * its status on I/O port 0xf4. Its own failures go to port 0xf7, so the
 * host tells them apart from any status the command returns.
 *
 * The command's stdout and stderr are pipes; this init frames what they
 * give onto ttyS0 (raw mode: bytes pass exactly), and the host splits the
 * frames again. Kernel output (only panics, at loglevel=1) comes between
 * frames and goes to the host's stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <sys/io.h>
#endif
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "exec/exec_protocol.h"

#define MAX_ARGS 4096
#define MAX_SHARES 16
#define MAX_MODULES 64

struct share {
	const char *tag, *mnt;
	int ro;
};

struct plan {
	char *buf;
	const char *argv[MAX_ARGS + 1];
	int argc;
	const char *cwd;
	const char *root_tag;
	struct share shares[MAX_SHARES];
	int nr_shares;
	const char *modules[MAX_MODULES];
	int nr_modules;
};

static int tty = -1;

/* One frame: header then payload, all of it (blocking writes). */
static void put_frame(int type, const char *buf, size_t len)
{
	while (len) {
		size_t n = len > EXEC_FRAME_MAX ? EXEC_FRAME_MAX : len;
		unsigned char h[4] = { EXEC_FRAME_START, (unsigned char)type,
				       (unsigned char)(n & 0xff),
				       (unsigned char)(n >> 8) };
		const char *p;
		size_t left;

		if (tty < 0)
			return;
		for (p = (const char *)h, left = 4; left;) {
			ssize_t w = write(tty, p, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return;
			p += w;
			left -= (size_t)w;
		}
		for (p = buf, left = n; left;) {
			ssize_t w = write(tty, p, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return;
			p += w;
			left -= (size_t)w;
		}
		buf += n;
		len -= n;
	}
}

static void port_out(unsigned short port, int status)
{
	if (tty >= 0)
		tcdrain(tty);
	sync();
#if defined(__x86_64__)
	if (ioperm(port, 1, 1) == 0)
		outb((unsigned char)status, port);
#else
	/* arm64 has no I/O ports: exec is refused there (exec_validate). */
	(void)port;
	(void)status;
#endif
	/* Not reached in kvmlite; elsewhere, at least stop. */
	syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, NULL);
	for (;;)
		pause();
}

/* The init's own failure: one line on stderr, the status on port 0xf7. */
static void __attribute__((noreturn, format(printf, 2, 3)))
fail(int status, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "kvmlite exec: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	put_frame(EXEC_FRAME_STDERR, line, (size_t)n);
	port_out(EXEC_PORT_FAIL, status);
	for (;;)
		pause();
}

static void read_plan(struct plan *p)
{
	struct stat st;
	char *s, *end;
	int fd = open(EXEC_PLAN_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) || st.st_size <= 0)
		fail(EXEC_STATUS_SETUP, "%s: %s", EXEC_PLAN_PATH,
		     strerror(errno));
	p->buf = malloc((size_t)st.st_size + 1);
	if (!p->buf || read(fd, p->buf, (size_t)st.st_size) != st.st_size)
		fail(EXEC_STATUS_SETUP, "%s: cannot read it", EXEC_PLAN_PATH);
	close(fd);
	p->buf[st.st_size] = '\0';
	s = p->buf;
	end = p->buf + st.st_size;
#define NEXT()                                                                 \
	({                                                                     \
		const char *v_ = s;                                            \
		if (s >= end)                                                  \
			fail(EXEC_STATUS_SETUP, "%s: truncated",               \
			     EXEC_PLAN_PATH);                                  \
		s += strlen(s) + 1;                                            \
		v_;                                                            \
	})
	while (s < end) {
		const char *key = NEXT();

		if (!strcmp(key, "arg") && p->argc < MAX_ARGS) {
			p->argv[p->argc++] = NEXT();
		} else if (!strcmp(key, "cwd")) {
			p->cwd = NEXT();
		} else if (!strcmp(key, "root")) {
			p->root_tag = NEXT();
		} else if (!strcmp(key, "module") &&
			   p->nr_modules < MAX_MODULES) {
			p->modules[p->nr_modules++] = NEXT();
		} else if (!strcmp(key, "share") && p->nr_shares < MAX_SHARES) {
			struct share *sh = &p->shares[p->nr_shares++];

			sh->tag = NEXT();
			sh->mnt = NEXT();
			sh->ro = !strcmp(NEXT(), "1");
		} else {
			fail(EXEC_STATUS_SETUP, "%s: bad record '%s'",
			     EXEC_PLAN_PATH, key);
		}
	}
#undef NEXT
	p->argv[p->argc] = NULL;
	if (!p->argc || !p->root_tag)
		fail(EXEC_STATUS_SETUP, "%s: no command or no root",
		     EXEC_PLAN_PATH);
}

static void load_modules(const struct plan *p)
{
	for (int i = 0; i < p->nr_modules; i++) {
		const char *m = p->modules[i];
		size_t n = strlen(m);
		int flags = 0, fd;

		if ((n > 3 && !strcmp(m + n - 3, ".xz")) ||
		    (n > 4 && !strcmp(m + n - 4, ".zst")) ||
		    (n > 3 && !strcmp(m + n - 3, ".gz")))
			flags = 4; /* MODULE_INIT_COMPRESSED_FILE */
		fd = open(m, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(EXEC_STATUS_SETUP, "module %s: %s", m,
			     strerror(errno));
		if (syscall(SYS_finit_module, fd, "", flags) && errno != EEXIST)
			fail(EXEC_STATUS_SETUP,
			     "module %s: the kernel refused it: %s", m,
			     strerror(errno));
		close(fd);
	}
}

/* mkdir -p, for mount points in the overlay. */
static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (char *q = buf + 1; *q; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*q = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

/* The 9p device may still be probing: retry a missing tag for a while. */
static int mount_9p(const char *tag, const char *at, unsigned long flags)
{
	const char *opts = "trans=virtio,version=9p2000.L,msize=262144";

	for (int i = 0; i < 50; i++) {
		if (!mount(tag, at, "9p", flags, opts))
			return 0;
		if (errno != ENOENT && errno != ENODEV)
			return -1;
		usleep(20000);
	}
	return -1;
}

static void mount_or_fail(const char *src, const char *at, const char *type,
			  unsigned long flags, const char *opts)
{
	if (mkdir_p(at) || mount(src, at, type, flags, opts))
		fail(EXEC_STATUS_SETUP, "cannot mount %s on %s: %s", type, at,
		     strerror(errno));
}

static void set_up_root(const struct plan *p)
{
	char at[4096];

	mount_or_fail("rw", "/mnt/rw", "tmpfs", 0, "mode=0755");
	if (mkdir_p("/mnt/lower") ||
	    mount_9p(p->root_tag, "/mnt/lower", MS_RDONLY))
		fail(EXEC_STATUS_SETUP, "cannot mount the root (9p tag %s): %s",
		     p->root_tag, strerror(errno));
	if (mkdir_p("/mnt/rw/upper") || mkdir_p("/mnt/rw/work"))
		fail(EXEC_STATUS_SETUP, "tmpfs: %s", strerror(errno));
	mount_or_fail("overlay", "/mnt/root", "overlay", 0,
		      "lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,"
		      "workdir=/mnt/rw/work");
	mount_or_fail("proc", "/mnt/root/proc", "proc", 0, NULL);
	mount_or_fail("sys", "/mnt/root/sys", "sysfs", 0, NULL);
	mount_or_fail("dev", "/mnt/root/dev", "devtmpfs", 0, NULL);
	mount_or_fail("devpts", "/mnt/root/dev/pts", "devpts", 0, NULL);
	mount_or_fail("shm", "/mnt/root/dev/shm", "tmpfs", 0, NULL);
	mount_or_fail("tmp", "/mnt/root/tmp", "tmpfs", 0, "mode=1777");
	mount_or_fail("run", "/mnt/root/run", "tmpfs", 0, "mode=0755");
	for (int i = 0; i < p->nr_shares; i++) {
		const struct share *sh = &p->shares[i];

		snprintf(at, sizeof(at), "/mnt/root%s", sh->mnt);
		if (mkdir_p(at) ||
		    mount_9p(sh->tag, at, sh->ro ? MS_RDONLY : 0))
			fail(EXEC_STATUS_SETUP,
			     "cannot mount the share %s on %s: %s", sh->tag,
			     sh->mnt, strerror(errno));
	}
	if (chdir("/mnt/root") || mount(".", "/", NULL, MS_MOVE, NULL) ||
	    chroot("."))
		fail(EXEC_STATUS_SETUP, "cannot switch to the new root: %s",
		     strerror(errno));
	if (chdir(p->cwd && !chdir(p->cwd) ? "." : "/"))
		fail(EXEC_STATUS_SETUP, "chdir: %s", strerror(errno));
}

/* Frames what is readable on @fd; false at end of file. */
static int pump(int fd, int type)
{
	char buf[EXEC_FRAME_MAX];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	put_frame(type, buf, (size_t)n);
	return 1;
}

static int run(const struct plan *p)
{
	int out[2], err[2], ex[2], e = 0, status = 0, done = 0;
	struct pollfd fds[2];
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) ||
	    pipe2(ex, O_CLOEXEC))
		fail(EXEC_STATUS_SETUP, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fail(EXEC_STATUS_SETUP, "fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setsid();
		if (null >= 0)
			dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execvp(p->argv[0], (char *const *)p->argv);
		e = errno;
		if (write(ex[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	close(ex[1]);
	if (read(ex[0], &e, sizeof(e)) == sizeof(e)) {
		waitpid(pid, NULL, 0);
		fail(e == ENOENT || e == ENOTDIR ? EXEC_STATUS_NOT_FOUND
						 : EXEC_STATUS_CANNOT_RUN,
		     "%s: %s", p->argv[0], strerror(e));
	}
	close(ex[0]);
	fds[0] = (struct pollfd){ .fd = out[0], .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = err[0], .events = POLLIN };
	/* Until both pipes close, or the command has exited and what its
	 * leftover children hold open has nothing more to read. */
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		int r = poll(fds, 2, done ? 0 : 100);

		if (r < 0 && errno != EINTR)
			break;
		if (r == 0 && done)
			break;
		for (int i = 0; i < 2; i++)
			if (fds[i].fd >= 0 && fds[i].revents &&
			    !pump(fds[i].fd,
				  i ? EXEC_FRAME_STDERR : EXEC_FRAME_STDOUT)) {
				close(fds[i].fd);
				fds[i].fd = -1;
			}
		if (!done && waitpid(pid, &status, WNOHANG) == pid)
			done = 1;
	}
	if (!done)
		waitpid(pid, &status, 0);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int main(void)
{
	struct plan p = { 0 };
	struct termios t;
	int status;

	/* The initramfs holds /dev/ttyS0 itself: nothing to mount first. */
	tty = open("/dev/ttyS0", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty >= 0 && !tcgetattr(tty, &t)) {
		cfmakeraw(&t);
		tcsetattr(tty, TCSANOW, &t);
	}
	read_plan(&p);
	load_modules(&p);
	set_up_root(&p);
	setenv("PATH",
	       "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
	       "/sbin:/bin",
	       1);
	setenv("HOME", "/root", 0);
	setenv("TERM", "dumb", 0);
	status = run(&p);
	port_out(EXEC_PORT_EXIT, status);
	return 0;
}
