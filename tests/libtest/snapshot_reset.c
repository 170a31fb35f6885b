/*
 * Reset in place of a Linux guest, ten times in one process and one KVM
 * VM (scenario: tests/boot/test_snapshot_reset.sh). The guest keeps a
 * token in RAM, mounts an overlay disk, asks for a snapshot (port 0xf6)
 * and, in the VM that booted, prints GUEST-BOOTED and waits. After each
 * kvmlite_vm_reset() it goes on from the snapshot: it must print the same
 * token, find no file a run after the snapshot wrote (the overlay's
 * writes since the snapshot vanish), write one, and wait again.
 *
 *   snapshot_reset KERNEL INITRD DISK SNAPSHOT_DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvmlite.h"

#define RESETS 10

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The guest's console on stdout, for the test's log. */
static void console_cb(void *opaque, const char *buf, size_t len)
{
	(void)opaque;
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
}

/* Wait for @needle; its line's rest (up to the newline) into @rest. */
static int expect_line(struct kvmlite_vm *vm, const char *needle, char *rest,
		       size_t len, int timeout_ms)
{
	char seen[8192];
	int ret;

	ret = kvmlite_vm_expect(vm, needle, timeout_ms, seen, sizeof(seen));
	if (ret) {
		fprintf(stderr, "snapshot_reset: no '%s' (%s)\n", needle,
			strerror(-ret));
		return ret;
	}
	if (rest) {
		ret = kvmlite_vm_expect(vm, "\n", timeout_ms, seen,
					sizeof(seen));
		if (ret)
			return ret;
		snprintf(rest, len, "%.*s", (int)strcspn(seen, "\r\n"), seen);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct kvmlite_config cfg;
	struct kvmlite_disk disk = { 0 };
	struct kvmlite_vm *vm;
	struct kvmlite_exit ex;
	char err[512], token[128], again[128], after[128];
	int fails = 0, ret;
	static char stdout_buf[BUFSIZ];

	/* console_cb writes stdout on a sandboxed vCPU thread: a buffer
	 * glibc allocated there would cost an fstat seccomp refuses. */
	setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));
	if (argc != 5) {
		fprintf(stderr, "usage: %s KERNEL INITRD DISK SNAPSHOT_DIR\n",
			argv[0]);
		return 2;
	}
	kvmlite_config_init(&cfg);
	cfg.kernel_path = argv[1];
	cfg.initrd_path = argv[2];
	cfg.memory = 512ULL << 20;
	cfg.cmdline = "console=ttyS0 reboot=k panic=-1 pci=off quiet";
	disk.path = argv[3];
	disk.overlay = 1;
	cfg.disks = &disk;
	cfg.nr_disks = 1;
	cfg.snapshot_dir = argv[4];
	cfg.seccomp = 1;
	cfg.console_cb = console_cb;
	ret = kvmlite_vm_create(&cfg, &vm, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "snapshot_reset: create: %s\n", err);
		return 1;
	}
	if (kvmlite_vm_start(vm) ||
	    expect_line(vm, "GUEST-TOKEN ", token, sizeof(token), 200000) ||
	    expect_line(vm, "GUEST-BOOTED", NULL, 0, 200000)) {
		fails++;
		goto out;
	}
	for (int i = 0; i < RESETS && !fails; i++) {
		struct kvmlite_timings t;
		uint64_t t0 = now_ns();

		ret = kvmlite_vm_reset(vm);
		if (ret) {
			fprintf(stderr, "snapshot_reset: reset %d: %s (%s)\n",
				i, strerror(-ret), kvmlite_vm_last_error(vm));
			fails++;
			break;
		}
		if (expect_line(vm, "GUEST-RESTORED ", again, sizeof(again),
				60000) ||
		    expect_line(vm, "GUEST-AFTER ", after, sizeof(after),
				60000) ||
		    expect_line(vm, "GUEST-WROTE", NULL, 0, 60000)) {
			fails++;
			break;
		}
		kvmlite_vm_timings(vm, &t);
		printf("snapshot_reset: reset %d: token %s, after-file '%s', "
		       "guest marker %.3f ms after the reset began\n",
		       i, strcmp(again, token) ? "DIFFERS" : "same", after,
		       t.guest_marker ? (double)(t.guest_marker - t0) / 1e6
				      : -1.0);
		if (strcmp(again, token) || strcmp(after, "none"))
			fails++;
	}
out:
	kvmlite_vm_exit_info(vm, &ex);
	if (ex.reason != KVMLITE_EXIT_NONE) {
		fprintf(stderr, "snapshot_reset: the VM stopped: %s\n",
			ex.detail);
		fails++;
	}
	kvmlite_vm_stop(vm);
	kvmlite_vm_wait(vm, -1);
	kvmlite_vm_destroy(vm);
	if (fails) {
		fprintf(stderr, "FAIL: snapshot_reset\n");
		return 1;
	}
	printf("PASS: snapshot_reset: %d resets in place\n", RESETS);
	return 0;
}
