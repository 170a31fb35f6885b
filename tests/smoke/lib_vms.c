/*
 * Several VMs in one process through the library, on the local /dev/kvm:
 * a stub that exits with 42 and stubs that halt forever, stopped from the
 * host. Checks wait timeouts, stop, exit info and clean destruction.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvmlite.h"

#define NVMS 4

static int fails;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL: " __VA_ARGS__);                 \
			fprintf(stderr, "\n");                                 \
			fails++;                                               \
		}                                                              \
	} while (0)

static struct kvmlite_vm *create(const char *kernel, unsigned int cpus)
{
	struct kvmlite_config cfg;
	struct kvmlite_vm *vm;
	char err[256];
	int ret;

	kvmlite_config_init(&cfg);
	cfg.kernel_path = kernel;
	cfg.cpus = cpus;
	cfg.memory = 32 << 20;
	ret = kvmlite_vm_create(&cfg, &vm, err, sizeof(err));
	CHECK(ret == 0, "create %s: %s", kernel, err);
	return ret ? NULL : vm;
}

int main(int argc, char **argv)
{
	struct kvmlite_vm *vms[NVMS];
	struct kvmlite_exit ex;

	if (argc != 3)
		return 2;
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "SKIP: lib_vms: /dev/kvm is not usable here\n");
		return 77;
	}
	CHECK(kvmlite_version() == KVMLITE_VERSION, "version");

	vms[0] = create(argv[1], 1);
	for (int i = 1; i < NVMS; i++)
		vms[i] = create(argv[2], (unsigned int)i);
	for (int i = 0; i < NVMS; i++)
		if (!vms[i])
			return 1;
	for (int i = 0; i < NVMS; i++)
		CHECK(kvmlite_vm_start(vms[i]) == 0, "start %d", i);

	CHECK(kvmlite_vm_wait(vms[0], 10000) == 0, "exit stub did not exit");
	kvmlite_vm_exit_info(vms[0], &ex);
	CHECK(ex.reason == KVMLITE_EXIT_TEST_EXIT && ex.test_exit_value == 42,
	      "exit stub: reason %d value %d", ex.reason, ex.test_exit_value);
	CHECK(kvmlite_exit_status(&ex) == 42, "exit status");
	/* A caller with a smaller struct (built against an older header)
	 * gets no more than its size: the rest stays as it was. */
	{
		union {
			struct kvmlite_exit e;
			uint8_t b[sizeof(struct kvmlite_exit) + 16];
		} u;
		size_t small = offsetof(struct kvmlite_exit, detail) + 8;

		memset(&u, 0x5a, sizeof(u));
		kvmlite_vm_exit_info_sized(vms[0], &u.e, small);
		CHECK(u.e.reason == KVMLITE_EXIT_TEST_EXIT, "sized reason");
		for (size_t i = small; i < sizeof(u); i++)
			CHECK(u.b[i] == 0x5a, "byte %zu past the size written",
			      i);
		/* A bigger one: ours, then zeros. */
		memset(&u, 0x5a, sizeof(u));
		kvmlite_vm_exit_info_sized(vms[0], &u.e, sizeof(u));
		for (size_t i = sizeof(u.e); i < sizeof(u); i++)
			CHECK(u.b[i] == 0, "byte %zu past ours not zeroed", i);
	}

	/* Console output through expect; a pause holds every vCPU. */
	{
		char seen[128];

		CHECK(kvmlite_vm_expect(vms[1], "hello from the", 5000, seen,
					sizeof(seen)) == 0,
		      "expect hello: saw '%s'", seen);
		CHECK(strstr(seen, "stub: hello from the") != NULL, "seen '%s'",
		      seen);
		CHECK(kvmlite_vm_expect(vms[1], "never printed", 100, seen,
					sizeof(seen)) == -ETIMEDOUT,
		      "expect timeout");
		CHECK(strcmp(seen, " guest\n") == 0, "rest '%s'", seen);
		CHECK(kvmlite_vm_pause(vms[3]) == 0, "pause");
		CHECK(kvmlite_vm_resume(vms[3]) == 0, "resume");
		CHECK(kvmlite_vm_resume(vms[3]) == -EINVAL, "double resume");
		CHECK(kvmlite_vm_pause(vms[2]) == 0, "pause 2");
	}

	/* A power button press reaches a running VM; the stub ignores it. */
	CHECK(kvmlite_vm_shutdown(vms[1]) == 0, "shutdown request");
	/* The halting ones keep running until stopped. */
	for (int i = 1; i < NVMS; i++)
		CHECK(kvmlite_vm_wait(vms[i], 200) == -ETIMEDOUT,
		      "hang stub %d stopped by itself", i);
	for (int i = 1; i < NVMS; i++)
		kvmlite_vm_stop(vms[i]);
	for (int i = 1; i < NVMS; i++) {
		CHECK(kvmlite_vm_wait(vms[i], 5000) == 0, "stop %d", i);
		kvmlite_vm_exit_info(vms[i], &ex);
		CHECK(ex.reason == KVMLITE_EXIT_STOPPED, "reason %d",
		      ex.reason);
		CHECK(kvmlite_exit_status(&ex) == KVMLITE_STATUS_STOPPED,
		      "stopped status");
	}
	CHECK(kvmlite_vm_expect(vms[1], "never printed", 1000, NULL, 0) ==
		      -ESRCH,
	      "expect after stop");
	CHECK(kvmlite_vm_pause(vms[1]) == -EINVAL, "pause after stop");
	CHECK(kvmlite_vm_shutdown(vms[1]) == -ESRCH, "shutdown after stop");
	for (int i = 0; i < NVMS; i++)
		kvmlite_vm_destroy(vms[i]);

	/* Destroying a running VM stops it first. */
	vms[0] = create(argv[2], 2);
	if (vms[0]) {
		kvmlite_vm_start(vms[0]);
		kvmlite_vm_destroy(vms[0]);
	}
	if (!fails)
		printf("PASS: lib_vms\n");
	return fails ? 1 : 0;
}
