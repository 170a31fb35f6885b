/*
 * The vCPU seccomp filter, seen from a console callback (it runs on the
 * vCPU thread, under the vCPU list): when the wide-write hang stub's
 * greeting arrives (16-bit writes: not coalesced, each an exit), the callback
 * makes one call, picked by MODE:
 *
 *   socket       socket(): not on the list at all
 *   kill PID     kill(PID, SIGTERM): only the process itself may be named
 *   tgkill PID   tgkill(PID, PID, SIGTERM): likewise
 *   tkill        tkill(own tid, 0): not on the list at all
 *   madvise      madvise(MADV_REMOVE): not an advice kvmlite or glibc use
 *   tgkill-self  tgkill(own pid, own tid, 0): allowed
 *
 * A forbidden call ends the process with KVMLITE_STATUS_SANDBOX and a
 * message naming the thread kind and call (the script checks both, and
 * that PID survived). For tgkill-self this program stops the VM itself
 * and exits 0 when the call returned 0.
 * Usage: seccomp_violation WIDEHANG_STUB [MODE [PID]] (MODE: socket)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvmlite.h"

struct probe {
	const char *mode;
	pid_t pid;
	int done; /* the call was made (once) */
	long ret; /* what it returned, when it returned */
};

static void on_console(void *opaque, const char *buf, size_t len)
{
	struct probe *p = opaque;
	long r = -1;

	(void)buf;
	(void)len;
	if (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE))
		return;
	if (!strcmp(p->mode, "socket"))
		r = socket(AF_INET, SOCK_STREAM, 0);
	else if (!strcmp(p->mode, "kill"))
		r = kill(p->pid, SIGTERM);
	else if (!strcmp(p->mode, "tgkill"))
		r = syscall(SYS_tgkill, p->pid, p->pid, SIGTERM);
	else if (!strcmp(p->mode, "tkill"))
		r = syscall(SYS_tkill, gettid(), 0);
	else if (!strcmp(p->mode, "madvise")) {
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		r = m == MAP_FAILED ? -1 : madvise(m, 4096, MADV_REMOVE);
	} else if (!strcmp(p->mode, "tgkill-self"))
		r = syscall(SYS_tgkill, getpid(), gettid(), 0);
	p->ret = r;
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
}

int main(int argc, char **argv)
{
	struct probe p = { .mode = "socket" };
	struct kvmlite_config cfg;
	struct kvmlite_vm *vm;
	char err[256];

	if (argc < 2 || argc > 4)
		return 2;
	if (argc >= 3)
		p.mode = argv[2];
	if (argc == 4)
		p.pid = (pid_t)atoi(argv[3]);
	if ((!strcmp(p.mode, "kill") || !strcmp(p.mode, "tgkill")) &&
	    p.pid <= 1) {
		fprintf(stderr, "seccomp_violation: %s needs a PID\n", p.mode);
		return 2;
	}
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "SKIP: seccomp_violation: /dev/kvm unusable\n");
		return 77;
	}
	kvmlite_config_init(&cfg);
	cfg.kernel_path = argv[1];
	cfg.memory = 32 << 20;
	cfg.seccomp = 1;
	cfg.console_cb = on_console;
	cfg.console_opaque = &p;
	if (kvmlite_vm_create(&cfg, &vm, err, sizeof(err))) {
		fprintf(stderr, "create: %s\n", err);
		return 1;
	}
	kvmlite_vm_start(vm);
	for (int i = 0; i < 1000 && !__atomic_load_n(&p.done, __ATOMIC_ACQUIRE);
	     i++)
		kvmlite_vm_wait(vm, 10);
	if (!strcmp(p.mode, "tgkill-self")) {
		int ok = __atomic_load_n(&p.done, __ATOMIC_ACQUIRE) && !p.ret;

		kvmlite_vm_stop(vm);
		kvmlite_vm_wait(vm, -1);
		kvmlite_vm_destroy(vm);
		if (!ok) {
			fprintf(stderr, "FAIL: tgkill on itself: %s\n",
				p.done ? "failed" : "never made");
			return 1;
		}
		printf("tgkill on itself: allowed\n");
		return 0;
	}
	/* Only reached if the filter let the call through: give a trapped
	 * call's report a moment, then say so. */
	kvmlite_vm_wait(vm, 1000);
	fprintf(stderr,
		"FAIL: the forbidden %s was not stopped (it returned %ld)\n",
		p.mode, p.ret);
	kvmlite_vm_destroy(vm);
	return 1;
}
