/*
 * bench/snapshot's in-process measurements, through libkvmlite: a cold
 * boot to the guest's marker (port 0xf5), the guest's own snapshot (port
 * 0xf6), N resets in place each to the guest's next marker, N restores in
 * this process (kvmlite_vm_restore() to the marker), and a host snapshot
 * (kvmlite_vm_snapshot(): its time and the files' sizes). One JSON object
 * per measurement on stdout. The guest: the snapshot stub
 * (STUB_SNAPSHOT, no exit) or bench/lib/snapshot_init.c.
 *
 *   bench_snapshot KERNEL INITRD|- CMDLINE MEMORY_MIB WORKDIR RESETS
 *                  RESTORES WAIT_TEXT
 *
 * WAIT_TEXT: what the booted guest prints once its snapshot is taken.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvmlite.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_snapshot: %s: %s\n", what, why);
	exit(1);
}

/* The guest's marker since the last boot, restore or reset, waited for. */
static uint64_t wait_marker(struct kvmlite_vm *vm, int timeout_s)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000ULL;
	struct kvmlite_timings t;

	for (;;) {
		kvmlite_vm_timings(vm, &t);
		if (t.guest_marker)
			return t.guest_marker;
		if (now_ns() > deadline || kvmlite_vm_wait(vm, 0) == 0)
			die("the guest's marker", "not reached");
		usleep(20);
	}
}

/* Bytes of the files in @dir: as long as they are, and allocated. */
static void dir_bytes(const char *dir, unsigned long long *len,
		      unsigned long long *alloc)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4096];
	struct stat st;

	*len = *alloc = 0;
	while (d && (e = readdir(d))) {
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (e->d_name[0] == '.' || stat(p, &st) || !S_ISREG(st.st_mode))
			continue;
		*len += (unsigned long long)st.st_size;
		*alloc += (unsigned long long)st.st_blocks * 512ULL;
	}
	if (d)
		closedir(d);
}

int main(int argc, char **argv)
{
	struct kvmlite_config cfg;
	struct kvmlite_vm *vm, *r;
	char err[512], guestdir[4096], hostdir[4096];
	unsigned long long len, alloc;
	int resets, restores;
	uint64_t t0, t1;

	if (argc != 9)
		die("usage",
		    "KERNEL INITRD|- CMDLINE MEMORY_MIB WORKDIR RESETS "
		    "RESTORES WAIT_TEXT");
	resets = atoi(argv[6]);
	restores = atoi(argv[7]);
	snprintf(guestdir, sizeof(guestdir), "%s/guest-snapshot", argv[5]);
	snprintf(hostdir, sizeof(hostdir), "%s/host-snapshot", argv[5]);
	kvmlite_config_init(&cfg);
	cfg.kernel_path = argv[1];
	cfg.initrd_path = strcmp(argv[2], "-") ? argv[2] : NULL;
	cfg.cmdline = argv[3];
	cfg.memory = strtoull(argv[4], NULL, 10) << 20;
	cfg.snapshot_dir = guestdir;
	cfg.seccomp = 1;

	t0 = now_ns();
	if (kvmlite_vm_create(&cfg, &vm, err, sizeof(err)))
		die("create", err);
	if (kvmlite_vm_start(vm))
		die("start", kvmlite_vm_last_error(vm));
	t1 = wait_marker(vm, 600);
	printf("{\"what\":\"cold_boot\",\"marker_ms\":%.3f}\n",
	       (double)(t1 - t0) / 1e6);
	if (kvmlite_vm_expect(vm, argv[8], 600000, NULL, 0))
		die("the guest's snapshot", kvmlite_vm_last_error(vm));
	dir_bytes(guestdir, &len, &alloc);
	printf("{\"what\":\"guest_snapshot\",\"file_bytes\":%llu,"
	       "\"allocated_bytes\":%llu}\n",
	       len, alloc);
	for (int i = 0; i < resets; i++) {
		uint64_t ret_ns;

		t0 = now_ns();
		if (kvmlite_vm_reset(vm))
			die("reset", kvmlite_vm_last_error(vm));
		ret_ns = now_ns();
		t1 = wait_marker(vm, 60);
		printf("{\"what\":\"reset\",\"i\":%d,\"marker_ms\":%.3f,"
		       "\"call_ms\":%.3f}\n",
		       i, (double)(t1 - t0) / 1e6, (double)(ret_ns - t0) / 1e6);
	}
	for (int i = 0; i < restores; i++) {
		struct kvmlite_config rc;
		struct kvmlite_timings t;

		kvmlite_config_init(&rc);
		rc.seccomp = 1;
		t0 = now_ns();
		rc.process_start_ns = t0;
		if (kvmlite_vm_restore(guestdir, &rc, &r, err, sizeof(err)))
			die("restore", err);
		if (kvmlite_vm_start(r))
			die("start", kvmlite_vm_last_error(r));
		t1 = wait_marker(r, 60);
		kvmlite_vm_timings(r, &t);
		printf("{\"what\":\"restore_in_process\",\"i\":%d,"
		       "\"first_run_ms\":%.3f,\"marker_ms\":%.3f}\n",
		       i, (double)(t.first_run - t0) / 1e6,
		       (double)(t1 - t0) / 1e6);
		kvmlite_vm_destroy(r);
	}
	t0 = now_ns();
	if (kvmlite_vm_snapshot(vm, hostdir))
		die("snapshot", kvmlite_vm_last_error(vm));
	t1 = now_ns();
	dir_bytes(hostdir, &len, &alloc);
	printf("{\"what\":\"host_snapshot\",\"ms\":%.3f,\"file_bytes\":%llu,"
	       "\"allocated_bytes\":%llu}\n",
	       (double)(t1 - t0) / 1e6, len, alloc);
	kvmlite_vm_destroy(vm);
	return 0;
}
