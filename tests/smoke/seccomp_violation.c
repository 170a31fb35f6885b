/*
 * A forbidden system call on a vCPU thread ends the process with status
 * KVMLITE_STATUS_SANDBOX and a message naming the thread kind and call.
 * The console callback runs on the vCPU thread: when the hang stub's
 * greeting arrives, it opens a socket, which the vCPU list forbids.
 * Usage: seccomp_violation HANG_STUB (the script checks status + stderr).
 */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvmlite.h"

static void on_console(void *opaque, const char *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	(void)len;
	(void)socket(AF_INET, SOCK_STREAM, 0);
}

int main(int argc, char **argv)
{
	struct kvmlite_config cfg;
	struct kvmlite_vm *vm;
	char err[256];

	if (argc != 2)
		return 2;
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "SKIP: seccomp_violation: /dev/kvm unusable\n");
		return 77;
	}
	kvmlite_config_init(&cfg);
	cfg.kernel_path = argv[1];
	cfg.memory = 32 << 20;
	cfg.seccomp = 1;
	cfg.console_cb = on_console;
	if (kvmlite_vm_create(&cfg, &vm, err, sizeof(err))) {
		fprintf(stderr, "create: %s\n", err);
		return 1;
	}
	kvmlite_vm_start(vm);
	kvmlite_vm_wait(vm, 10000);
	/* Only reached if the filter let the call through. */
	fprintf(stderr, "FAIL: the forbidden call was not stopped\n");
	kvmlite_vm_destroy(vm);
	return 1;
}
