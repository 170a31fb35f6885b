/*
 * seccomp allow-lists (libseccomp). Each thread loads its own filter
 * before it handles anything the guest controls, so a compromised device
 * model can only make the few calls its kind of thread needs.
 */
#include "sandbox.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "kvmlite.h"

/* Which kind the current thread is, for the SIGSYS report only. */
static __thread const char *sandbox_thread_kind;

/* Every kind: memory, locks, signals, clocks, thread exit, and the
 * reporter itself (write, exit_group). */
static const int common_calls[] = {
	SCMP_SYS(read),		 SCMP_SYS(write),
	SCMP_SYS(readv),	 SCMP_SYS(writev),
	SCMP_SYS(futex),	 SCMP_SYS(exit),
	SCMP_SYS(exit_group),	 SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn),	 SCMP_SYS(rt_sigtimedwait),
	SCMP_SYS(madvise),	 SCMP_SYS(munmap),
	SCMP_SYS(brk),		 SCMP_SYS(mremap),
	SCMP_SYS(nanosleep),	 SCMP_SYS(clock_nanosleep),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettid),
	SCMP_SYS(getpid),	 SCMP_SYS(tgkill),
	SCMP_SYS(sched_yield),	 SCMP_SYS(restart_syscall),
	SCMP_SYS(sigaltstack),
};

#ifdef KVMLITE_SANITIZE_BUILD
/* ASan/UBSan/LSan runtimes: thread bookkeeping, /proc reads, the leak
 * checker's stop-the-world (a ptrace-ing clone) and report symbolisation.
 * Test builds only. */
static const int sanitizer_calls[] = {
	SCMP_SYS(openat),	SCMP_SYS(open),
	SCMP_SYS(close),	SCMP_SYS(readlink),
	SCMP_SYS(readlinkat),	SCMP_SYS(getdents64),
	SCMP_SYS(clone),	SCMP_SYS(clone3),
	SCMP_SYS(wait4),	SCMP_SYS(waitid),
	SCMP_SYS(ptrace),	SCMP_SYS(prctl),
	SCMP_SYS(pipe2),	SCMP_SYS(dup2),
	SCMP_SYS(execve),	SCMP_SYS(sched_getaffinity),
	SCMP_SYS(prlimit64),	SCMP_SYS(getrlimit),
	SCMP_SYS(uname),	SCMP_SYS(fstat),
	SCMP_SYS(newfstatat),	SCMP_SYS(lseek),
	SCMP_SYS(rt_sigaction), SCMP_SYS(kill),
	SCMP_SYS(getppid),	SCMP_SYS(set_robust_list),
	SCMP_SYS(rseq),		SCMP_SYS(pread64),
	SCMP_SYS(statx),
};
#endif

static const int io_calls[] = {
	SCMP_SYS(pread64),     SCMP_SYS(pwrite64),  SCMP_SYS(preadv),
	SCMP_SYS(pwritev),     SCMP_SYS(preadv2),   SCMP_SYS(pwritev2),
	SCMP_SYS(fdatasync),   SCMP_SYS(fsync),	    SCMP_SYS(fallocate),
	SCMP_SYS(poll),	       SCMP_SYS(ppoll),	    SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(lseek),
	SCMP_SYS(close),       SCMP_SYS(sendto), /* a socket console */
};

/* Loaded once the VM's threads run (filters are inherited, so earlier
 * would bind them too); this thread only sees stdin and signals. */
static const int main_calls[] = {
	SCMP_SYS(poll),		SCMP_SYS(ppoll), SCMP_SYS(close),
	SCMP_SYS(newfstatat),	SCMP_SYS(fstat), SCMP_SYS(lseek),
	SCMP_SYS(rt_sigaction),
};

/* The GETs: a vCPU reads its own state for the dump (kvmlite_vm_dump). */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN,	  KVM_IRQ_LINE,	 KVM_GET_REGS,	      KVM_GET_SREGS,
	KVM_GET_MP_STATE, KVM_GET_LAPIC, KVM_GET_VCPU_EVENTS, TUNSETOFFLOAD,
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
	TCGETS,	    TCSETS,	  TCSETSW,	   TCSETSF,
	TIOCGWINSZ, KVM_IRQ_LINE, KVM_GET_IRQCHIP,
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

static int allow_ioctls(scmp_filter_ctx ctx, const unsigned long *req, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* Spelled out: clang warns on SCMP_A1's partial initializer. */
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

/* mmap and mprotect, but never to make memory executable. */
static int allow_mappings(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp no_exec = { .arg = 2,
					.op = SCMP_CMP_MASKED_EQ,
					.datum_a = PROT_EXEC,
					.datum_b = 0 };
	int ret;

	ret = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     &no_exec);
	if (!ret)
		ret = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW,
					     SCMP_SYS(mprotect), 1, &no_exec);
	return ret;
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

int sandbox_enter(enum sandbox_kind kind)
{
	static const char *const names[] = { "vCPU", "I/O", "main" };
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
	ret = allow_all(ctx, common_calls, ARRAY_LEN(common_calls));
#ifdef KVMLITE_SANITIZE_BUILD
	if (!ret)
		ret = allow_all(ctx, sanitizer_calls,
				ARRAY_LEN(sanitizer_calls));
#endif
	if (!ret)
		ret = allow_mappings(ctx);
	switch (kind) {
	case SANDBOX_VCPU:
		if (!ret)
			ret = allow_ioctls(ctx, vcpu_ioctls,
					   ARRAY_LEN(vcpu_ioctls));
		break;
	case SANDBOX_IO:
		if (!ret)
			ret = allow_all(ctx, io_calls, ARRAY_LEN(io_calls));
		if (!ret)
			ret = allow_ioctls(ctx, io_ioctls,
					   ARRAY_LEN(io_ioctls));
		break;
	case SANDBOX_MAIN:
		if (!ret)
			ret = allow_all(ctx, main_calls, ARRAY_LEN(main_calls));
		if (!ret)
			ret = allow_ioctls(ctx, main_ioctls,
					   ARRAY_LEN(main_ioctls));
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
