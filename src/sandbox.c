/*
 * seccomp allow-lists (libseccomp). Each thread loads its own filter
 * before it handles anything the guest controls, so a compromised device
 * model can only make the few calls its kind of thread needs.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"

#include "kvmlite.h"

/* Which kind the current thread is, for the SIGSYS report only. */
static __thread const char *sandbox_thread_kind;

/*
 * Two kinds of entries. A plain list allows a call with any arguments.
 * An argument rule allows a call only when one of its arguments, masked
 * with @mask, equals one of @v (rules for the same call add up: any rule
 * that matches allows it). To allow a new call with checked arguments,
 * add a line to the rules of its thread kind, e.g.
 *	{ SCMP_SYS(sendto), 3, INT_ARG, VALUES(MSG_DONTWAIT | MSG_NOSIGNAL) },
 */
struct arg_rule {
	int nr;		   /* the system call */
	unsigned int arg;  /* which of its arguments (0-5) is checked */
	scmp_datum_t mask; /* INT_ARG, LONG_ARG, or the bits that matter */
	bool own_pid;	   /* the one value allowed is this process's id */
	bool own_fd;	   /* ... or the kind's fd (sandbox_enter_fd()) */
	unsigned int n;	   /* else: how many values in v */
	scmp_datum_t v[6];
};

/* int-typed arguments: the kernel reads their low 32 bits only. */
#define INT_ARG 0xffffffffULL
#define LONG_ARG (~0ULL)
#define VALUES(...)                                                            \
	.n = sizeof((scmp_datum_t[]){ __VA_ARGS__ }) / sizeof(scmp_datum_t),   \
	.v = { __VA_ARGS__ }
#define OWN_PID .own_pid = true
#define OWN_FD .own_fd = true

/* Every kind: memory, locks, signals, clocks, thread exit, and the
 * reporter itself (write, exit_group). */
static const int common_calls[] = {
	SCMP_SYS(read),		SCMP_SYS(write),
	SCMP_SYS(readv),	SCMP_SYS(writev),
	SCMP_SYS(futex),	SCMP_SYS(exit),
	SCMP_SYS(exit_group),	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigtimedwait),
	SCMP_SYS(munmap),	SCMP_SYS(brk),
	SCMP_SYS(nanosleep),	SCMP_SYS(clock_gettime),
	SCMP_SYS(gettid),	SCMP_SYS(getpid),
	SCMP_SYS(sched_yield),	SCMP_SYS(restart_syscall),
	SCMP_SYS(sigaltstack),
};

static const struct arg_rule common_rules[] = {
	/* Signals to this process's threads only (pthread_kill, raise):
	 * tgkill's first argument is the process. tkill stays out. */
	{ SCMP_SYS(tgkill), 0, INT_ARG, OWN_PID },
	/* Never executable memory. */
	{ SCMP_SYS(mmap), 2, PROT_EXEC, VALUES(0) },
	{ SCMP_SYS(mprotect), 2, PROT_EXEC, VALUES(0) },
	/* glibc drops pages of freed memory and of exited threads' stacks
	 * (DONTNEED; FREE in newer versions) and may ask for huge pages for
	 * its heaps (glibc.malloc.hugetlb); guest RAM asks for them too. */
	{ SCMP_SYS(madvise), 2, INT_ARG,
	  VALUES(MADV_DONTNEED, MADV_FREE, MADV_HUGEPAGE, MADV_NOHUGEPAGE) },
	/* realloc() of a large block: grow or move it, never onto a given
	 * address (MREMAP_FIXED) or keeping the old one (DONTUNMAP). */
	{ SCMP_SYS(mremap), 3, LONG_ARG, VALUES(0, MREMAP_MAYMOVE) },
	/* nanosleep() and friends. */
	{ SCMP_SYS(clock_nanosleep), 0, INT_ARG,
	  VALUES(CLOCK_REALTIME, CLOCK_MONOTONIC) },
};

#ifdef KVMLITE_SANITIZE_BUILD
/* ASan/UBSan/LSan runtimes: thread bookkeeping, /proc reads, the leak
 * checker's stop-the-world (a ptrace-ing clone) and report symbolisation.
 * Test builds only. */
static const int sanitizer_calls[] = {
	SCMP_SYS(openat),	   SCMP_SYS(open),
	SCMP_SYS(close),	   SCMP_SYS(readlink),
	SCMP_SYS(readlinkat),	   SCMP_SYS(getdents64),
	SCMP_SYS(clone),	   SCMP_SYS(clone3),
	SCMP_SYS(wait4),	   SCMP_SYS(waitid),
	SCMP_SYS(ptrace),	   SCMP_SYS(prctl),
	SCMP_SYS(pipe2),	   SCMP_SYS(dup2),
	SCMP_SYS(execve),	   SCMP_SYS(sched_getaffinity),
	SCMP_SYS(prlimit64),	   SCMP_SYS(getrlimit),
	SCMP_SYS(uname),	   SCMP_SYS(fstat),
	SCMP_SYS(newfstatat),	   SCMP_SYS(lseek),
	SCMP_SYS(rt_sigaction),	   SCMP_SYS(getppid),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(pread64),	   SCMP_SYS(statx),
};

static const struct arg_rule sanitizer_rules[] = {
	/* The runtimes' own signals (a report's abort): this process. */
	{ SCMP_SYS(kill), 0, INT_ARG, OWN_PID },
	/* Their allocators and shadow memory also keep pages out of core
	 * dumps. */
	{ SCMP_SYS(madvise), 2, INT_ARG, VALUES(MADV_DONTDUMP, MADV_DODUMP) },
};
#endif

static const int io_calls[] = {
	SCMP_SYS(pread64),   SCMP_SYS(pwrite64),   SCMP_SYS(preadv),
	SCMP_SYS(pwritev),   SCMP_SYS(preadv2),	   SCMP_SYS(pwritev2),
	SCMP_SYS(fdatasync), SCMP_SYS(fsync),	   SCMP_SYS(poll),
	SCMP_SYS(ppoll),     SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(lseek),     SCMP_SYS(close),
};

static const struct arg_rule io_rules[] = {
	/* virtio-blk discard and write-zeroes (src/virtio/blk.c) only: no
	 * growing the image (mode 0), no shifting its data. */
	{ SCMP_SYS(fallocate), 1, INT_ARG,
	  VALUES(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		 FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE) },
	/* The console thread's event loop (src/console.c). */
	{ SCMP_SYS(epoll_ctl), 1, INT_ARG,
	  VALUES(EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL) },
	/* A socket console: never blocking, never raising SIGPIPE. */
	{ SCMP_SYS(sendto), 3, INT_ARG, VALUES(MSG_DONTWAIT | MSG_NOSIGNAL) },
	/* virtio-net's frames to passt's stream socket, the same way. */
	{ SCMP_SYS(sendmsg), 2, INT_ARG, VALUES(MSG_DONTWAIT | MSG_NOSIGNAL) },
};

/* virtio-rng's worker (src/virtio/rng.c): its loop, its rate limit's
 * timer, and entropy. */
static const int rng_calls[] = {
	SCMP_SYS(poll),
	SCMP_SYS(ppoll),
	SCMP_SYS(timerfd_settime),
};

static const struct arg_rule rng_rules[] = {
	/* Never blocking: the pool is up once the host has booted. */
	{ SCMP_SYS(getrandom), 2, INT_ARG, VALUES(0, GRND_NONBLOCK) },
};

/* virtio-vsock's worker (src/virtio/vsock.c): Unix stream sockets only,
 * never blocking, never raising SIGPIPE. */
static const int vsock_calls[] = {
	SCMP_SYS(poll),
	SCMP_SYS(ppoll),
	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(close),
	SCMP_SYS(connect),
	SCMP_SYS(timerfd_settime),
};

static const struct arg_rule vsock_rules[] = {
	{ SCMP_SYS(epoll_ctl), 1, INT_ARG,
	  VALUES(EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL) },
	/* The guest's connections to the host: AF_UNIX streams. */
	{ SCMP_SYS(socket), 0, INT_ARG, VALUES(AF_UNIX) },
	{ SCMP_SYS(accept4), 3, INT_ARG, VALUES(SOCK_NONBLOCK | SOCK_CLOEXEC) },
	{ SCMP_SYS(sendmsg), 2, INT_ARG, VALUES(MSG_DONTWAIT | MSG_NOSIGNAL) },
	{ SCMP_SYS(recvmsg), 2, INT_ARG,
	  VALUES(MSG_DONTWAIT, MSG_DONTWAIT | MSG_PEEK) },
	{ SCMP_SYS(shutdown), 1, INT_ARG, VALUES(SHUT_RD, SHUT_WR, SHUT_RDWR) },
};

/*
 * A virtio-9p worker (src/virtio/p9_server.c): its loop, and the *at()
 * calls of its server. seccomp cannot read paths or struct open_how, so
 * confinement is the server's (openat2's RESOLVE_BENEATH and single
 * components); what the filter adds: plain openat, fchmodat and
 * utimensat only in /proc/self/fd (the kind's fd: reopening a fid's own
 * descriptor), fcntl only to duplicate, no mknodat, no xattrs, no
 * sockets, no exec.
 */
static const int p9_calls[] = {
	SCMP_SYS(poll),	      SCMP_SYS(ppoll),	    SCMP_SYS(close),
	SCMP_SYS(openat2),    SCMP_SYS(newfstatat), SCMP_SYS(fstatfs),
	SCMP_SYS(pread64),    SCMP_SYS(pwrite64),   SCMP_SYS(ftruncate),
	SCMP_SYS(getdents64), SCMP_SYS(lseek),	    SCMP_SYS(fsync),
	SCMP_SYS(fdatasync),  SCMP_SYS(mkdirat),    SCMP_SYS(symlinkat),
	SCMP_SYS(readlinkat), SCMP_SYS(unlinkat),   SCMP_SYS(renameat),
};

static const struct arg_rule p9_rules[] = {
	{ SCMP_SYS(openat), 0, INT_ARG, OWN_FD },
	{ SCMP_SYS(fchmodat), 0, INT_ARG, OWN_FD },
	{ SCMP_SYS(utimensat), 0, INT_ARG, OWN_FD },
	{ SCMP_SYS(fcntl), 1, INT_ARG, VALUES(F_DUPFD_CLOEXEC) },
	/* chown of the fid's own descriptor, never through a link. */
	{ SCMP_SYS(fchownat), 4, INT_ARG,
	  VALUES(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) },
	/* A hard link of the fid's inode (its /proc magic link) or, for a
	 * symlink, of the descriptor itself. */
	{ SCMP_SYS(linkat), 4, INT_ARG,
	  VALUES(AT_SYMLINK_FOLLOW, AT_EMPTY_PATH) },
	{ SCMP_SYS(renameat2), 4, INT_ARG, VALUES(0) },
};

/* Loaded once the VM's threads run (filters are inherited, so earlier
 * would bind them too); this thread only sees stdin and signals. */
static const int main_calls[] = {
	SCMP_SYS(poll),	      SCMP_SYS(ppoll), SCMP_SYS(close),
	SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(lseek),
};

static const struct arg_rule main_rules[] = {
	/* The command's fatal-signal handler puts back the default action
	 * of the signal it caught before raising it again (src/main.c), as
	 * abort() does for SIGABRT. */
	{ SCMP_SYS(rt_sigaction), 0, INT_ARG,
	  VALUES(SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL) },
};

/*
 * The snapshot thread (src/snapshot.c): reads guest RAM, the vCPUs' and
 * the VM's state (GET ioctls only), writes files in the snapshot
 * directory, whose fd the filter is built with: openat, unlinkat and
 * renameat only relative to it (the names are not checked: seccomp cannot
 * read them).
 */
static const int snapshot_calls[] = {
	SCMP_SYS(pread64),   SCMP_SYS(pwrite64),  SCMP_SYS(preadv),
	SCMP_SYS(pwritev),   SCMP_SYS(fdatasync), SCMP_SYS(fsync),
	SCMP_SYS(ftruncate), SCMP_SYS(lseek),	  SCMP_SYS(close),
	SCMP_SYS(fstat),     SCMP_SYS(poll),	  SCMP_SYS(ppoll),
	SCMP_SYS(getrandom),
};

static const struct arg_rule snapshot_rules[] = {
	{ SCMP_SYS(openat), 0, INT_ARG, OWN_FD },
	{ SCMP_SYS(unlinkat), 0, INT_ARG, OWN_FD },
	/* An overlay disk's live layer is emptied once saved. */
	{ SCMP_SYS(fallocate), 1, INT_ARG,
	  VALUES(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) },
};

static const unsigned long snapshot_ioctls[] = {
#ifdef KVMLITE_ARCH_X86
	KVM_GET_REGS,	     KVM_GET_SREGS,	  KVM_GET_XSAVE,
	KVM_GET_XSAVE2,	     KVM_GET_XCRS,	  KVM_GET_DEBUGREGS,
	KVM_GET_LAPIC,	     KVM_GET_VCPU_EVENTS, KVM_GET_MP_STATE,
	KVM_GET_TSC_KHZ,     KVM_GET_MSRS,	  KVM_GET_IRQCHIP,
	KVM_GET_PIT2,	     KVM_GET_CLOCK,	  KVM_GET_MSR_INDEX_LIST,
	KVM_CHECK_EXTENSION,
#else
	/* arm64 snapshots are not built (snapshot_arm64.c). */
	KVM_GET_ONE_REG,
	KVM_GET_MP_STATE,
	KVM_CHECK_EXTENSION,
#endif
};

/* The API socket's thread: its epoll loop over the listening socket and
 * the clients, and the VM calls its endpoints make (pause and resume wait
 * on futexes, stop kicks vCPUs with tgkill, the power button raises a
 * line). It opens no files: accept4 makes its only new fds. At the end
 * it removes its socket (lstat to see that it is still ours, unlink). */
static const int api_calls[] = {
	SCMP_SYS(close),      SCMP_SYS(newfstatat),  SCMP_SYS(unlink),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
};

static const struct arg_rule api_rules[] = {
	{ SCMP_SYS(epoll_ctl), 1, INT_ARG,
	  VALUES(EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL) },
	/* Replies: never blocking, never raising SIGPIPE. */
	{ SCMP_SYS(sendto), 3, INT_ARG, VALUES(MSG_DONTWAIT | MSG_NOSIGNAL) },
	/* accept4's flags: the new fd non-blocking and close-on-exec. */
	{ SCMP_SYS(accept4), 3, INT_ARG, VALUES(SOCK_NONBLOCK | SOCK_CLOEXEC) },
};

/* vm.power-button pulses the GED's line. */
static const unsigned long api_ioctls[] = {
	KVM_IRQ_LINE,
};

/* The GETs: a vCPU reads its own state for the dump (kvmlite_vm_dump). */
static const unsigned long vcpu_ioctls[] = {
#ifdef KVMLITE_ARCH_X86
	KVM_RUN,	  KVM_IRQ_LINE,	 KVM_GET_REGS,	      KVM_GET_SREGS,
	KVM_GET_MP_STATE, KVM_GET_LAPIC, KVM_GET_VCPU_EVENTS, TUNSETOFFLOAD,
#else
	KVM_RUN, KVM_IRQ_LINE, KVM_GET_ONE_REG, KVM_GET_MP_STATE, TUNSETOFFLOAD,
#endif
};
/* KVM_IRQ_LINE: console input raises the UART's interrupt on the thread
 * that delivers it (the console thread, or the command's main thread). */
static const unsigned long io_ioctls[] = {
	BLKDISCARD,
	BLKZEROOUT,
	KVM_IRQ_LINE,
};
/* KVM_GET_IRQCHIP: the state dump reads the IOAPIC (SIGUSR1). */
static const unsigned long main_ioctls[] = {
	TCGETS,		 TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, KVM_IRQ_LINE,
#ifdef KVMLITE_ARCH_X86
	KVM_GET_IRQCHIP,
#endif
};

static int allow_all(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);

		if (ret)
			return ret;
	}
	return 0;
}

/* One filter rule per allowed value; @pid stands for OWN_PID, @fd for
 * OWN_FD. */
static int allow_rules(scmp_filter_ctx ctx, const struct arg_rule *rules,
		       size_t n, pid_t pid, int fd)
{
	for (size_t i = 0; i < n; i++) {
		const struct arg_rule *r = &rules[i];
		unsigned int nv = r->own_pid || r->own_fd ? 1 : r->n;

		for (unsigned int j = 0; j < nv; j++) {
			scmp_datum_t v = r->own_pid  ? (scmp_datum_t)pid
					 : r->own_fd ? (scmp_datum_t)fd
						     : r->v[j];
			/* Spelled out: clang warns on SCMP_A1's partial
			 * initializer. */
			struct scmp_arg_cmp cmp = {
				.arg = r->arg,
				.op = SCMP_CMP_MASKED_EQ,
				.datum_a = r->mask,
				.datum_b = v & r->mask,
			};
			int ret = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW,
							 r->nr, 1, &cmp);

			if (ret)
				return ret;
		}
	}
	return 0;
}

static int allow_ioctls(scmp_filter_ctx ctx, const unsigned long *req, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct scmp_arg_cmp cmp = { .arg = 1,
					    .op = SCMP_CMP_EQ,
					    .datum_a = req[i],
					    .datum_b = 0 };
		int ret = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW,
						 SCMP_SYS(ioctl), 1, &cmp);

		if (ret)
			return ret;
	}
	return 0;
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ALLOW(list) allow_all(ctx, list, ARRAY_LEN(list))
#define ALLOW_RULES(list) allow_rules(ctx, list, ARRAY_LEN(list), pid, fd)
#define ALLOW_IOCTLS(list) allow_ioctls(ctx, list, ARRAY_LEN(list))

/* renameat within the directory @fd: both directory arguments are it. */
static int allow_rename_in(scmp_filter_ctx ctx, int fd)
{
	struct scmp_arg_cmp cmp[2] = {
		{ .arg = 0,
		  .op = SCMP_CMP_MASKED_EQ,
		  .datum_a = INT_ARG,
		  .datum_b = (scmp_datum_t)fd & INT_ARG },
		{ .arg = 2,
		  .op = SCMP_CMP_MASKED_EQ,
		  .datum_a = INT_ARG,
		  .datum_b = (scmp_datum_t)fd & INT_ARG },
	};

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(renameat),
				      2, cmp);
}

int sandbox_enter(enum sandbox_kind kind)
{
	return sandbox_enter_fd(kind, -1);
}

int sandbox_enter_fd(int kind, int fd)
{
	static const char *const names[] = { "vCPU",	 "I/O",	     "main",
					     "rng",	 "vsock",    "API",
					     "snapshot", "virtio-9p" };
	/* Read once, here: the filter is built by the thread it binds. */
	pid_t pid = getpid();
	scmp_filter_ctx ctx;
	int ret;

#ifdef KVMLITE_SANITIZE_BUILD
	/* LeakSanitizer's exit-time check runs on the main thread and
	 * stops the world with a ptrace-ing clone: leave that thread free. */
	if (kind == SANDBOX_MAIN)
		return 0;
#endif
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	ret = ALLOW(common_calls);
	if (!ret)
		ret = ALLOW_RULES(common_rules);
#ifdef KVMLITE_SANITIZE_BUILD
	if (!ret)
		ret = ALLOW(sanitizer_calls);
	if (!ret)
		ret = ALLOW_RULES(sanitizer_rules);
#endif
	switch (kind) {
	case SANDBOX_VCPU:
		if (!ret)
			ret = ALLOW_IOCTLS(vcpu_ioctls);
		break;
	case SANDBOX_IO:
		if (!ret)
			ret = ALLOW(io_calls);
		if (!ret)
			ret = ALLOW_RULES(io_rules);
		if (!ret)
			ret = ALLOW_IOCTLS(io_ioctls);
		break;
	case SANDBOX_RNG:
		if (!ret)
			ret = ALLOW(rng_calls);
		if (!ret)
			ret = ALLOW_RULES(rng_rules);
		break;
	case SANDBOX_VSOCK:
		if (!ret)
			ret = ALLOW(vsock_calls);
		if (!ret)
			ret = ALLOW_RULES(vsock_rules);
		break;
	case SANDBOX_API:
		if (!ret)
			ret = ALLOW(api_calls);
		if (!ret)
			ret = ALLOW_RULES(api_rules);
		if (!ret)
			ret = ALLOW_IOCTLS(api_ioctls);
		break;
	case SANDBOX_MAIN:
		if (!ret)
			ret = ALLOW(main_calls);
		if (!ret)
			ret = ALLOW_RULES(main_rules);
		if (!ret)
			ret = ALLOW_IOCTLS(main_ioctls);
		break;
	case SANDBOX_SNAPSHOT:
		if (fd < 0)
			ret = -EBADF;
		if (!ret)
			ret = ALLOW(snapshot_calls);
		if (!ret)
			ret = ALLOW_RULES(snapshot_rules);
		if (!ret)
			ret = allow_rename_in(ctx, fd);
		if (!ret)
			ret = ALLOW_IOCTLS(snapshot_ioctls);
		break;
	case SANDBOX_P9:
		if (fd < 0)
			ret = -EBADF;
		if (!ret)
			ret = ALLOW(p9_calls);
		if (!ret)
			ret = ALLOW_RULES(p9_rules);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (!ret)
		sandbox_thread_kind = names[kind];
	return ret;
}

int sandbox_available(void)
{
	/* The kernel API level libseccomp found; 0 means no seccomp. */
	return seccomp_api_get() >= 1 ? 0 : -ENOSYS;
}

/* Async-signal-safe: a few write()s and _exit(). */
static void sigsys_report(int sig, siginfo_t *si, void *uc)
{
	char num[24], *p = num + sizeof(num);
	unsigned int nr = (unsigned int)si->si_syscall;
	const char *kind = sandbox_thread_kind ? sandbox_thread_kind : "?";
	static const char a[] = "kvmlite: seccomp: forbidden system call ";
	static const char b[] = " on a ";
	static const char c[] = " thread; stopping\n";

	(void)sig;
	(void)uc;
	*--p = '\0';
	do {
		*--p = (char)('0' + nr % 10);
		nr /= 10;
	} while (nr);
	if (write(STDERR_FILENO, a, sizeof(a) - 1) < 0 ||
	    write(STDERR_FILENO, p, strlen(p)) < 0 ||
	    write(STDERR_FILENO, b, sizeof(b) - 1) < 0 ||
	    write(STDERR_FILENO, kind, strlen(kind)) < 0 ||
	    write(STDERR_FILENO, c, sizeof(c) - 1) < 0) {
		/* Nothing more can be done from here. */
	}
	_exit(KVMLITE_STATUS_SANDBOX);
}

void sandbox_install_reporter(void)
{
	struct sigaction old, sa;

	if (sigaction(SIGSYS, NULL, &old) || old.sa_handler != SIG_DFL ||
	    (old.sa_flags & SA_SIGINFO))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_report;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
}
