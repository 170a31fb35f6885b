/*
 * kvmlite_vm_expect() that never matches times out cleanly, and a VM
 * stopped and destroyed after that leaves nothing behind.
 *
 *   expect_timeout KERNEL INITRD ITERATIONS [--leak-one]
 *
 * The guest (scenario in tests/boot/test_lib_expect_timeout.sh) prints
 * GUEST-TICK lines forever. Part 1: expect a string it never prints: the
 * call returns -ETIMEDOUT after its timeout, `seen` holds the recent output
 * (the last ticks), the VM still runs; then stop, wait, destroy.
 *
 * Part 2, leaks: after one warm-up round, ITERATIONS rounds of
 * create/start/expect-timeout/stop/wait/destroy, then compare the process's
 * open fds, threads, memory mappings, heap bytes in use (mallinfo2, or the
 * ASan allocator's count) and resident set against the baseline: fds,
 * threads and mappings must not grow at all (mappings by 2 under ASan,
 * whose allocator maps regions of its own), the heap by less than 4 KiB,
 * and RSS by less than 4 MiB over the second half of the rounds (16 MiB
 * under ASan; the first rounds warm up allocator caches and the like; one
 * leaked guest would touch far more). The
 * checker is itself checked: one more round without destroy must be
 * flagged (then that VM is destroyed). Under ASan, LeakSanitizer checks
 * too (__lsan_do_recoverable_leak_check and at exit); --leak-one leaves a
 * created (not started) VM undestroyed at exit so the script can see
 * LeakSanitizer catch it.
 */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvmlite.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#include <sanitizer/lsan_interface.h>
/* From the ASan runtime (GCC ships no allocator_interface.h). */
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#define ASAN 0
#endif

static int fails;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL: expect_timeout: " __VA_ARGS__); \
			fprintf(stderr, "\n");                                 \
			fails++;                                               \
		}                                                              \
	} while (0)

static const char *kernel, *initrd;

struct usage {
	long fds, threads, maps, rss_kb;
	long long heap;
};

static long count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static struct usage measure(void)
{
	struct usage u = { 0 };
	char line[512];
	FILE *f;

	u.fds = count_dir("/proc/self/fd") - 1; /* minus opendir's own */
	u.threads = count_dir("/proc/self/task");
	f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strchr(line, '\n'))
			u.maps++;
	if (f)
		fclose(f);
	f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			u.rss_kb = atol(line + 6);
	if (f)
		fclose(f);
#if ASAN
	u.heap = (long long)__sanitizer_get_current_allocated_bytes();
#else
	{
		struct mallinfo2 mi = mallinfo2();

		u.heap = (long long)(mi.uordblks + mi.hblkhd);
	}
#endif
	return u;
}

static void print_usage(const char *what, struct usage u)
{
	printf("expect_timeout: %-9s fds %ld threads %ld maps %ld heap %lld "
	       "rss %ld kB\n",
	       what, u.fds, u.threads, u.maps, u.heap, u.rss_kb);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static struct kvmlite_vm *create(void)
{
	struct kvmlite_config cfg;
	struct kvmlite_vm *vm = NULL;
	char err[512];

	kvmlite_config_init(&cfg);
	cfg.seccomp = 1; /* as the kvmlite command runs */
	cfg.kernel_path = kernel;
	cfg.initrd_path = initrd;
	cfg.cmdline = KVMLITE_DEFAULT_CMDLINE " quiet"; /* boots faster */
	cfg.memory = 256 << 20;
	if (kvmlite_vm_create(&cfg, &vm, err, sizeof(err))) {
		CHECK(0, "create: %s", err);
		return NULL;
	}
	if (kvmlite_vm_start(vm)) {
		CHECK(0, "start: %s", kvmlite_vm_last_error(vm));
		kvmlite_vm_destroy(vm);
		return NULL;
	}
	return vm;
}

/* One leak round: returns the VM stopped but not destroyed. */
static struct kvmlite_vm *round_trip(void)
{
	struct kvmlite_vm *vm = create();
	char seen[256];
	int ret;

	if (!vm)
		return NULL;
	ret = kvmlite_vm_expect(vm, "NEVER-PRINTED-MARKER", 500, seen,
				sizeof(seen));
	CHECK(ret == -ETIMEDOUT, "round: expect returned %d", ret);
	kvmlite_vm_stop(vm);
	CHECK(kvmlite_vm_wait(vm, 10000) == 0, "round: stop did not stop");
	return vm;
}

static void part1(void)
{
	struct kvmlite_vm *vm = create();
	struct kvmlite_exit ex;
	char seen[4096], tiny[16];
	long long t0, dt;
	int ret;

	if (!vm)
		return;
	/* The guest's tty ends lines with CR LF. */
	ret = kvmlite_vm_expect(vm, "GUEST-TICK 3\r\n", 240000, seen,
				sizeof(seen));
	CHECK(ret == 0, "the guest never ticked (%d): %s", ret, seen);
	if (ret)
		goto out;

	t0 = now_ms();
	memset(seen, 'x', sizeof(seen));
	ret = kvmlite_vm_expect(vm, "NEVER-PRINTED-MARKER", 3000, seen,
				sizeof(seen));
	dt = now_ms() - t0;
	CHECK(ret == -ETIMEDOUT, "expect returned %d, not -ETIMEDOUT", ret);
	CHECK(dt >= 2990 && dt < 6000, "the 3000 ms timeout took %lld ms", dt);
	CHECK(memchr(seen, 0, sizeof(seen)) != NULL, "seen not terminated");
	CHECK(strstr(seen, "GUEST-TICK ") != NULL,
	      "seen lacks the recent ticks: '%s'", seen);
	CHECK(strstr(seen, "GUEST-TICK 3\r\n") == NULL,
	      "seen has output from before the last match: '%s'", seen);
	printf("expect_timeout: -ETIMEDOUT after %lld ms; seen %zu bytes, "
	       "ends '%s'\n",
	       dt, strlen(seen),
	       strlen(seen) > 40 ? seen + strlen(seen) - 40 : seen);

	/* A small buffer gets the last seen_len - 1 bytes. */
	ret = kvmlite_vm_expect(vm, "NEVER-PRINTED-MARKER", 1500, tiny,
				sizeof(tiny));
	CHECK(ret == -ETIMEDOUT, "second expect returned %d", ret);
	CHECK(strlen(tiny) == sizeof(tiny) - 1, "tiny seen has %zu bytes",
	      strlen(tiny));

	/* The VM keeps running after a timed-out expect. */
	CHECK(kvmlite_vm_wait(vm, 0) == -ETIMEDOUT,
	      "the VM stopped after the expect timeout");
	ret = kvmlite_vm_expect(vm, "GUEST-TICK", 30000, seen, sizeof(seen));
	CHECK(ret == 0, "no tick after the timeout (%d)", ret);
	kvmlite_vm_stop(vm);
	CHECK(kvmlite_vm_wait(vm, 10000) == 0, "stop did not stop the VM");
	kvmlite_vm_exit_info(vm, &ex);
	CHECK(ex.reason == KVMLITE_EXIT_STOPPED, "exit reason %d", ex.reason);
	CHECK(kvmlite_vm_expect(vm, "NEVER-PRINTED-MARKER", 1000, NULL, 0) ==
		      -ESRCH,
	      "expect on a stopped VM is not -ESRCH");
out:
	kvmlite_vm_destroy(vm);
}

int main(int argc, char **argv)
{
	struct usage base, half = { 0 }, after, leaked;
	struct kvmlite_vm *vm;
	int iterations;

	if (argc < 4) {
		fprintf(stderr, "usage: expect_timeout KERNEL INITRD "
				"ITERATIONS [--leak-one]\n");
		return 2;
	}
	kernel = argv[1];
	initrd = argv[2];
	iterations = atoi(argv[3]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("expect_timeout: leak check by %s\n",
	       ASAN ? "LeakSanitizer + counters (ASan allocator)"
		    : "counters (mallinfo2)");

	if (argc > 4 && !strcmp(argv[4], "--leak-one")) {
		/* For the script: a VM never destroyed must be reported. It is
		 * not started: a running VM's own threads still reach it. */
		struct kvmlite_config cfg;
		char err[512];

		kvmlite_config_init(&cfg);
		cfg.kernel_path = kernel;
		cfg.initrd_path = initrd;
		cfg.memory = 256 << 20;
		vm = NULL;
		if (kvmlite_vm_create(&cfg, &vm, err, sizeof(err))) {
			fprintf(stderr, "create: %s\n", err);
			return 1;
		}
		printf("expect_timeout: leaving a VM undestroyed\n");
		vm = NULL;
		return 0;
	}

	part1();

	kvmlite_vm_destroy(round_trip()); /* warm-up */
	base = measure();
	print_usage("baseline", base);
	for (int i = 0; i < iterations; i++) {
		kvmlite_vm_destroy(round_trip());
		if (i == iterations / 2 - 1) {
			half = measure();
			print_usage("halfway", half);
		}
	}
	after = measure();
	print_usage("after", after);
	CHECK(after.fds <= base.fds, "fds grew %ld -> %ld", base.fds,
	      after.fds);
	CHECK(after.threads <= base.threads, "threads grew %ld -> %ld",
	      base.threads, after.threads);
	/* ASan's allocator maps a new region now and then as its
	 * quarantine cycles; a leaked VM adds its RAM, run areas and more. */
	CHECK(after.maps <= base.maps + (ASAN ? 2 : 0),
	      "mappings grew %ld -> %ld", base.maps, after.maps);
	CHECK(after.heap - base.heap < 4096, "heap grew %lld -> %lld",
	      base.heap, after.heap);
	/* Under ASan RSS creeps up by itself (~1 MiB a round seen, with the
	 * heap and mappings flat: the sanitizer's own memory). A leaked
	 * guest is ~70 MiB. */
	CHECK(iterations < 2 ||
		      after.rss_kb - half.rss_kb < (ASAN ? 16384 : 4096),
	      "RSS grew %ld -> %ld kB over the last %d rounds", half.rss_kb,
	      after.rss_kb, iterations - iterations / 2);
#if ASAN
	CHECK(__lsan_do_recoverable_leak_check() == 0,
	      "LeakSanitizer found leaks");
#endif

	/* The checker must see one VM that was not destroyed. */
	vm = round_trip();
	leaked = measure();
	print_usage("1 leaked", leaked);
	CHECK(leaked.fds > after.fds, "a leaked VM's fds went unnoticed");
	CHECK(leaked.maps > after.maps, "a leaked VM's memory went unnoticed");
	CHECK(leaked.rss_kb - after.rss_kb >= 4096,
	      "a leaked VM's resident memory went unnoticed (%ld -> %ld kB)",
	      after.rss_kb, leaked.rss_kb);
	CHECK(leaked.heap - after.heap >= 4096,
	      "a leaked VM's heap went unnoticed (%lld -> %lld)", after.heap,
	      leaked.heap);
	kvmlite_vm_destroy(vm);

	if (!fails)
		printf("PASS: expect_timeout (%d rounds)\n", iterations);
	return fails ? 1 : 0;
}
