/*
 * The console must never hold a VM, or the process, hostage:
 * - a console_out_fd nobody reads (a full pipe): stop and destroy still
 *   finish at once, the guest's extra output is dropped and counted;
 * - a console_out_fd whose reader went away: no SIGPIPE kills this
 *   process (its disposition is left at the default, terminate), the
 *   error is in kvmlite_vm_last_error();
 * - console_in_fd at end of file: the console thread does not spin.
 * - a stream socket nobody reads, with the seccomp filters on.
 * - a slow reader loses nothing (flow control), a silent one is taken for
 *   gone after 5 s and the guest runs on.
 * Usage: console_stall SPEW_STUB HANG_STUB POLITE_STUB [sdfgkpi] (on the
 * local /dev/kvm; letters pick cases: stop, destroy, flow control, gone
 * reader, socket, pipe closed, input).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kvmlite.h"

/* A stop or destroy that never returns fails the test instead. */
#define HANG_LIMIT_S 30
/* Generous: the bug made them wait forever; they take ~ms. */
#define STOP_LIMIT_MS 1000
#define CONSOLE_RING_BYTES (128u << 10)

static int fails;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL: " __VA_ARGS__);                 \
			fprintf(stderr, "\n");                                 \
			fails++;                                               \
		}                                                              \
	} while (0)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Each phase has HANG_LIMIT_S from when it starts. */
static const char *volatile phase = "start";
static volatile double phase_start;

static void set_phase(const char *p)
{
	phase_start = now_ms();
	phase = p;
}

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		sleep(1);
		if (now_ms() - phase_start > HANG_LIMIT_S * 1e3)
			break;
	}
	fprintf(stderr, "FAIL: console_stall: '%s' did not finish in %d s\n",
		phase, HANG_LIMIT_S);
	_exit(1);
}

static struct kvmlite_vm *create_filtered(const char *kernel, int out_fd,
					  int in_fd, int seccomp)
{
	struct kvmlite_config cfg;
	struct kvmlite_vm *vm;
	char err[256];

	kvmlite_config_init(&cfg);
	cfg.kernel_path = kernel;
	cfg.memory = 32 << 20;
	cfg.console_out_fd = out_fd;
	cfg.console_in_fd = in_fd;
	cfg.seccomp = seccomp;
	if (kvmlite_vm_create(&cfg, &vm, err, sizeof(err))) {
		fprintf(stderr, "FAIL: create %s: %s\n", kernel, err);
		exit(1);
	}
	return vm;
}

static struct kvmlite_vm *create(const char *kernel, int out_fd, int in_fd)
{
	return create_filtered(kernel, out_fd, in_fd, 0);
}

/* Wait until the pipe behind @rfd is full: the writer can put no more in
 * (within a page of @size, as small writes leave the last page part-filled,
 * and no change for 300 ms). */
static int wait_pipe_full(int rfd, int size)
{
	int last = -1, same = 0;

	for (int i = 0; i < HANG_LIMIT_S * 100 / 2; i++) {
		int n = 0;

		if (ioctl(rfd, FIONREAD, &n) < 0)
			return -1;
		same = n == last ? same + 1 : 0;
		last = n;
		if (n >= size - 4096 && same >= 30)
			return 0;
		usleep(10000);
	}
	return -1;
}

/* A full pipe nobody reads: stop (or destroy alone) is immediate. */
static void unread_pipe(const char *spew, bool via_stop)
{
	struct kvmlite_console_stats st;
	struct kvmlite_vm *vm;
	int p[2], cap;
	double t;

	set_phase("fill the console pipe");
	CHECK(pipe(p) == 0, "pipe");
	cap = fcntl(p[1], F_GETPIPE_SZ);
	vm = create(spew, p[1], -1);
	CHECK(kvmlite_vm_start(vm) == 0, "start");
	CHECK(wait_pipe_full(p[0], cap) == 0, "the pipe never filled");
	/* The guest goes on printing: into the buffer, then dropped. */
	for (int i = 0; i < HANG_LIMIT_S * 10 / 2; i++) {
		kvmlite_vm_console_stats(vm, &st);
		if (st.dropped)
			break;
		usleep(100000);
	}
	kvmlite_vm_console_stats(vm, &st);
	CHECK(st.dropped > 0, "nothing dropped (queued %llu)",
	      (unsigned long long)st.queued);
	CHECK(st.written >= (uint64_t)cap - 4096, "written %llu, pipe %d",
	      (unsigned long long)st.written, cap);
	CHECK(kvmlite_vm_wait(vm, 0) == -ETIMEDOUT, "stopped by itself");
	/* The state dump says why: a byte waits for the reader (the UART
	 * holds it; the spew past it overruns), or after 5 s of that the
	 * reader was taken for gone. */
	{
		static char text[16384];
		const char *l, *eol;

		CHECK(kvmlite_vm_dump(vm, text, sizeof(text)) > 0, "dump");
		l = strstr(text, "\nconsole: ");
		eol = l ? strchr(l + 1, '\n') : NULL;
		CHECK(eol && (memmem(l, (size_t)(eol - l), " blocked=1 ", 11) ||
			      memmem(l, (size_t)(eol - l), " dropping=1 ", 12)),
		      "the dump's console line says neither blocked=1 nor "
		      "dropping=1:\n%s",
		      text);
	}
	t = now_ms();
	if (via_stop) {
		set_phase("stop with a full console");
		kvmlite_vm_stop(vm);
		CHECK(kvmlite_vm_wait(vm, 5000) == 0, "wait after stop");
		printf("stop with an unread console: %.1f ms\n", now_ms() - t);
		CHECK(now_ms() - t < STOP_LIMIT_MS, "stop took %.0f ms",
		      now_ms() - t);
		t = now_ms();
	}
	set_phase("destroy with a full console");
	kvmlite_vm_destroy(vm);
	printf("destroy%s with an unread console: %.1f ms\n",
	       via_stop ? " after stop" : "", now_ms() - t);
	CHECK(now_ms() - t < STOP_LIMIT_MS, "destroy took %.0f ms",
	      now_ms() - t);
	close(p[0]);
	close(p[1]);
}

/* A stream socket nobody reads, with the seccomp filters on: the console
 * thread's send() is allowed, and stop is still immediate. */
static void unread_socket(const char *spew)
{
	struct kvmlite_console_stats st;
	struct kvmlite_vm *vm;
	int sv[2], sndbuf = 0;
	socklen_t sl = sizeof(sndbuf);
	double t;

	set_phase("fill the console socket");
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	getsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl);
	vm = create_filtered(spew, sv[1], -1, 1);
	CHECK(kvmlite_vm_start(vm) == 0, "start");
	for (int i = 0; i < HANG_LIMIT_S * 10 / 2; i++) {
		kvmlite_vm_console_stats(vm, &st);
		if (st.dropped)
			break;
		usleep(100000);
	}
	kvmlite_vm_console_stats(vm, &st);
	CHECK(st.dropped > 0 && st.written > 0,
	      "socket: written %llu dropped %llu",
	      (unsigned long long)st.written, (unsigned long long)st.dropped);
	set_phase("stop with a full console socket");
	t = now_ms();
	kvmlite_vm_stop(vm);
	CHECK(kvmlite_vm_wait(vm, 5000) == 0, "wait after stop");
	kvmlite_vm_destroy(vm);
	printf("stop and destroy with an unread socket: %.1f ms\n",
	       now_ms() - t);
	CHECK(now_ms() - t < STOP_LIMIT_MS, "took %.0f ms", now_ms() - t);
	close(sv[0]);
	close(sv[1]);
}

#define SPEW_LINE                                                              \
	"stub: 0123456789 abcdefghijklmnopqrstuvwxyz "                         \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"

/* Read what is in the pipe; check it continues the stub's lines. */
static size_t read_check(int rfd, size_t *pos, bool *intact)
{
	static const char line[] = SPEW_LINE;
	char buf[65536];
	ssize_t n;
	size_t got = 0;

	while ((n = read(rfd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != line[*pos])
				*intact = false;
			*pos = (*pos + 1) % (sizeof(line) - 1);
		}
		got += (size_t)n;
	}
	return got;
}

/*
 * A slow reader (pauses of 4 s, under the 5 s stall limit, between bursts
 * of reading) and a guest that waits for THRE, as Linux does: flow
 * control, so not one byte is lost. Whether the guest outruns the 128 KiB
 * buffer in 4 s depends on this machine's exit cost: it is reported.
 */
static void slow_reader(const char *polite)
{
	struct kvmlite_console_stats st;
	struct kvmlite_vm *vm;
	size_t pos = 0, got = 0;
	bool intact = true;
	int p[2];

	set_phase("slow console reader");
	CHECK(pipe(p) == 0, "pipe");
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(p[1], F_SETPIPE_SZ, 4096); /* so that the buffer fills */
	vm = create(polite, p[1], -1);
	CHECK(kvmlite_vm_start(vm) == 0, "start");
	for (int i = 0; i < 2; i++) {
		size_t queued;

		sleep(4);
		kvmlite_vm_console_stats(vm, &st);
		queued = st.queued;
		for (int k = 0; k < 30; k++) {
			got += read_check(p[0], &pos, &intact);
			usleep(10000);
		}
		printf("slow reader: %zu bytes waited after 4 s%s\n", queued,
		       queued >= CONSOLE_RING_BYTES ? " (buffer full: flow "
						      "control held the "
						      "guest)"
						    : "");
	}
	kvmlite_vm_console_stats(vm, &st);
	printf("slow reader: %zu bytes read, %llu dropped, %llu stalls\n", got,
	       (unsigned long long)st.dropped, (unsigned long long)st.stalls);
	/* Far more than the pipe holds: the reader caught up in bursts. (The
	 * unit tests hold a full buffer whatever this machine's speed.) */
	CHECK(got > 4 * 4096, "only %zu bytes read", got);
	CHECK(intact, "the output has holes (bytes lost)");
	CHECK(st.dropped == 0 && st.stalls == 0,
	      "slow reader: %llu dropped, %llu stalls",
	      (unsigned long long)st.dropped, (unsigned long long)st.stalls);
	kvmlite_vm_stop(vm);
	CHECK(kvmlite_vm_wait(vm, 5000) == 0, "wait");
	kvmlite_vm_destroy(vm);
	close(p[0]);
	close(p[1]);
}

/* A reader that takes nothing for 5 s is taken for gone: the polite guest
 * runs on at full speed, its output dropped and counted. */
static void gone_reader(const char *polite)
{
	struct kvmlite_console_stats st;
	struct kvmlite_vm *vm;
	uint64_t d1;
	int p[2];

	set_phase("console reader gone quiet");
	CHECK(pipe(p) == 0, "pipe");
	fcntl(p[1], F_SETPIPE_SZ, 4096); /* so that the buffer fills soon */
	vm = create(polite, p[1], -1);
	CHECK(kvmlite_vm_start(vm) == 0, "start");
	/* Filling 132 KiB at the stub's rate (tens of KB/s here, less on a
	 * loaded machine), then the 5 s stall limit. */
	for (int i = 0; i < 180; i++) {
		kvmlite_vm_console_stats(vm, &st);
		if (st.stalls)
			break;
		usleep(100000);
	}
	CHECK(st.stalls == 1, "stalls %llu after 18 s",
	      (unsigned long long)st.stalls);
	CHECK(strstr(kvmlite_vm_last_error(vm), "took nothing for 5 s"),
	      "last error '%s'", kvmlite_vm_last_error(vm));
	d1 = st.dropped;
	usleep(500000);
	kvmlite_vm_console_stats(vm, &st);
	printf("reader gone: %llu bytes dropped in 0.5 s\n",
	       (unsigned long long)(st.dropped - d1));
	CHECK(st.dropped > d1 + 1000, "the guest is held back: %llu -> %llu",
	      (unsigned long long)d1, (unsigned long long)st.dropped);
	kvmlite_vm_stop(vm);
	CHECK(kvmlite_vm_wait(vm, 5000) == 0, "wait");
	kvmlite_vm_destroy(vm);
	close(p[0]);
	close(p[1]);
}

/* The reader closed its end: no SIGPIPE; the error is recorded. */
static void closed_reader(const char *spew)
{
	struct kvmlite_console_stats st;
	struct kvmlite_vm *vm;
	const char *e = "";
	int p[2];

	set_phase("console reader gone");
	CHECK(pipe(p) == 0, "pipe");
	close(p[0]);
	vm = create(spew, p[1], -1);
	CHECK(kvmlite_vm_start(vm) == 0, "start");
	CHECK(kvmlite_vm_expect(vm, "stub: ", 10000, NULL, 0) == 0,
	      "no output");
	for (int i = 0; i < 100; i++) {
		e = kvmlite_vm_last_error(vm);
		if (*e)
			break;
		usleep(50000);
	}
	CHECK(strstr(e, "console output") && strstr(e, strerror(EPIPE)),
	      "last error '%s'", e);
	kvmlite_vm_console_stats(vm, &st);
	CHECK(st.out_error == EPIPE, "out_error %d", st.out_error);
	CHECK(st.dropped > 0, "nothing counted as dropped");
	CHECK(kvmlite_vm_wait(vm, 0) == -ETIMEDOUT, "VM stopped by itself");
	kvmlite_vm_stop(vm);
	CHECK(kvmlite_vm_wait(vm, 5000) == 0, "wait");
	kvmlite_vm_destroy(vm);
	close(p[1]);
}

/* Input at EOF: the console thread must sleep, not spin. */
static void input_eof(const char *hang)
{
	struct kvmlite_vm *vm;
	double c0, t0, busy;
	int p[2];

	set_phase("console input at EOF");
	CHECK(pipe(p) == 0, "pipe");
	close(p[1]);
	vm = create(hang, -1, p[0]);
	CHECK(kvmlite_vm_start(vm) == 0, "start");
	CHECK(kvmlite_vm_expect(vm, "hello", 10000, NULL, 0) == 0,
	      "no greeting");
	usleep(200000);
	c0 = cpu_ms();
	t0 = now_ms();
	usleep(1000000);
	busy = (cpu_ms() - c0) / (now_ms() - t0);
	printf("CPU use with console input at EOF: %.0f%%\n", busy * 100);
	CHECK(busy < 0.3, "the process used %.0f%% of a CPU while idle",
	      busy * 100);
	kvmlite_vm_stop(vm);
	CHECK(kvmlite_vm_wait(vm, 5000) == 0, "wait");
	kvmlite_vm_destroy(vm);
	close(p[0]);
}

int main(int argc, char **argv)
{
	pthread_t w;

	if (argc < 4)
		return 2;
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr,
			"SKIP: console_stall: /dev/kvm is not usable here\n");
		return 77;
	}
	/* Default dispositions, as an embedding program may have them. */
	signal(SIGPIPE, SIG_DFL);
	set_phase("start");
	pthread_create(&w, NULL, watchdog, NULL);
	/* argv[3], for checking one by one: which to run (default all). */
	if (argc < 5 || strchr(argv[4], 's'))
		unread_pipe(argv[1], true);
	if (argc < 5 || strchr(argv[4], 'd'))
		unread_pipe(argv[1], false);
	if (argc < 5 || strchr(argv[4], 'f'))
		slow_reader(argv[3]);
	if (argc < 5 || strchr(argv[4], 'g'))
		gone_reader(argv[3]);
	if (argc < 5 || strchr(argv[4], 'k'))
		unread_socket(argv[1]);
	if (argc < 5 || strchr(argv[4], 'p'))
		closed_reader(argv[1]);
	if (argc < 5 || strchr(argv[4], 'i'))
		input_eof(argv[2]);
	if (!fails)
		printf("PASS: console_stall\n");
	return fails ? 1 : 0;
}
