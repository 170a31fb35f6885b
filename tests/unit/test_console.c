/*
 * The console's output side against real pipes and sockets: flow control
 * loses nothing, a silent reader is taken for gone after stall_ns, a
 * closed one ends output, drain is bounded, the caller's fd is left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "unit.h"

struct rig {
	struct console c;
	int p[2]; /* the pipe the console writes to */
	int stop_fd;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int ready_calls, failed_calls;
	int failed_err;
};

static void on_ready(void *opaque)
{
	struct rig *r = opaque;

	pthread_mutex_lock(&r->lock);
	r->ready_calls++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void on_failed(void *opaque, int err)
{
	struct rig *r = opaque;

	pthread_mutex_lock(&r->lock);
	r->failed_calls++;
	r->failed_err = err;
	pthread_mutex_unlock(&r->lock);
}

/* As the library's console thread: signals blocked (a closed pipe's
 * SIGPIPE stays pending there). */
static void *run(void *arg)
{
	struct rig *r = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	console_run(&r->c, r->stop_fd);
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void rig_start(struct rig *r, uint64_t stall_ns)
{
	char err[128];

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(pipe(r->p), 0);
	fcntl(r->p[0], F_SETFL, O_NONBLOCK);
	ck_assert_int_eq(
		console_init(&r->c, r->p[1], -1, NULL, r, err, sizeof(err)), 0);
	r->c.tx_ready = on_ready;
	r->c.out_failed = on_failed;
	r->c.stall_ns = stall_ns;
	r->stop_fd = eventfd(0, EFD_CLOEXEC);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	pthread_create(&r->thread, NULL, run, r);
}

static void rig_stop(struct rig *r)
{
	(void)eventfd_write(r->stop_fd, 1);
	pthread_join(r->thread, NULL);
	console_free(&r->c);
	close(r->stop_fd);
	if (r->p[0] >= 0)
		close(r->p[0]);
	close(r->p[1]);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
}

/* As the UART does: offer the byte; when refused, wait for tx_ready and
 * offer it again. Returns the ms it waited. */
static double offer(struct rig *r, uint8_t b)
{
	double t0 = now_ms();

	for (;;) {
		unsigned int seen;

		pthread_mutex_lock(&r->lock);
		seen = r->ready_calls;
		pthread_mutex_unlock(&r->lock);
		if (console_gate(&r->c, b))
			return now_ms() - t0;
		pthread_mutex_lock(&r->lock);
		while (r->ready_calls == seen)
			pthread_cond_wait(&r->cond, &r->lock);
		pthread_mutex_unlock(&r->lock);
	}
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i % 251);
}

/* Reads the pipe slowly, checking every byte. */
struct reader {
	struct rig *r;
	size_t want, got;
	bool intact;
};

static void *slow_read(void *arg)
{
	struct reader *rd = arg;
	uint8_t buf[4096];

	while (rd->got < rd->want) {
		ssize_t n = read(rd->r->p[0], buf, sizeof(buf));

		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(rd->got++))
				rd->intact = false;
		usleep(n > 0 ? 4000 : 1000); /* about 1 MB/s */
	}
	return NULL;
}

START_TEST(flow_control_loses_nothing)
{
	struct rig r;
	struct reader rd = { &r, 3 * CONSOLE_OUT_RING, 0, true };
	struct console_stats st;
	pthread_t t;
	double waited = 0;
	size_t i = 0;

	rig_start(&r, 10ULL * 1000000000ULL);
	/* No reader yet: fill the pipe and the ring until a byte is refused
	 * (and still refused 10 ms later: the pipe is full too). */
	for (;;) {
		while (console_gate(&r.c, pattern(i)))
			i++;
		usleep(10000);
		if (!console_gate(&r.c, pattern(i)))
			break;
		i++;
	}
	ck_assert_uint_ge(i, CONSOLE_OUT_RING);
	/* Then a slow reader: every byte still arrives, in order. */
	pthread_create(&t, NULL, slow_read, &rd);
	for (; i < rd.want; i++)
		waited += offer(&r, pattern(i));
	pthread_join(t, NULL);
	console_get_stats(&r.c, &st);
	ck_assert(rd.intact);
	ck_assert_uint_eq(rd.got, rd.want);
	ck_assert_uint_eq(st.written, rd.want);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.stalls, 0);
	/* The producer was held back, and let go as room came. */
	ck_assert(r.ready_calls > 0);
	ck_assert(waited > 0);
	rig_stop(&r);
}
END_TEST

START_TEST(silent_reader_taken_for_gone)
{
	struct rig r;
	struct console_stats st;
	size_t i = 0;
	double t0, waited;
	uint8_t buf[65536];

	rig_start(&r, 200 * 1000000ULL);
	/* Fill the ring until a byte is refused, and the pipe until the
	 * console thread can write no more (refused still 10 ms later). */
	for (;;) {
		while (console_gate(&r.c, pattern(i)))
			i++;
		usleep(10000);
		if (!console_gate(&r.c, pattern(i)))
			break;
		i++;
	}
	ck_assert_uint_ge(i, CONSOLE_OUT_RING);
	/* That byte waits out the stall limit, then goes (dropped). */
	t0 = now_ms();
	waited = offer(&r, pattern(i));
	ck_assert_msg(waited >= 150 && now_ms() - t0 < 5000, "waited %.1f ms",
		      waited);
	console_get_stats(&r.c, &st);
	ck_assert_uint_eq(st.stalls, 1);
	ck_assert_uint_eq(r.failed_calls, 1);
	ck_assert_int_eq(r.failed_err, 0);
	/* Now everything is taken at once: dropped and counted. */
	for (int k = 0; k < 1000; k++)
		ck_assert(console_gate(&r.c, 'x'));
	console_get_stats(&r.c, &st);
	ck_assert_uint_ge(st.dropped, 1000);
	/* The reader comes back: once the ring drains to half, flow control
	 * again (a full ring refuses). */
	while (read(r.p[0], buf, sizeof(buf)) > 0 || st.queued) {
		console_get_stats(&r.c, &st);
		usleep(1000);
	}
	i = 0;
	while (console_gate(&r.c, 'y') && i < 4 * CONSOLE_OUT_RING)
		i++;
	ck_assert_uint_lt(i, 4 * CONSOLE_OUT_RING);
	rig_stop(&r);
}
END_TEST

START_TEST(closed_reader_ends_output)
{
	struct rig r;
	struct console_stats st;

	rig_start(&r, 10ULL * 1000000000ULL);
	close(r.p[0]);
	r.p[0] = -1;
	ck_assert(console_gate(&r.c, 'a'));
	for (int k = 0; k < 500 && !r.failed_calls; k++)
		usleep(1000);
	ck_assert_uint_eq(r.failed_calls, 1);
	ck_assert_int_eq(r.failed_err, EPIPE);
	for (int k = 0; k < 2 * (int)CONSOLE_OUT_RING; k++)
		ck_assert(console_gate(&r.c, 'b'));
	console_get_stats(&r.c, &st);
	ck_assert_int_eq(st.out_error, EPIPE);
	ck_assert_uint_eq(st.dropped, 2 * CONSOLE_OUT_RING + 1);
	rig_stop(&r);
}
END_TEST

/* A full pipe at stop: drain gives up after idle_ns, not later. */
START_TEST(drain_is_bounded)
{
	struct console c;
	char err[128];
	int p[2];
	double t;
	uint64_t now;
	struct timespec ts;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(
		console_init(&c, p[1], -1, NULL, NULL, err, sizeof(err)), 0);
	while (console_gate(&c, 'z'))
		;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	t = now_ms();
	console_drain(&c, now + 1000000000ULL, 50000000ULL);
	t = now_ms() - t;
	ck_assert(t >= 45 && t < 500);
	console_free(&c);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* How each kind of fd is written; the caller's flags are left alone. */
START_TEST(sinks)
{
	struct console c;
	char err[128], path[] = "/tmp/kvmlite-console-XXXXXX";
	int p[2], sv[2], f;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(
		console_init(&c, p[1], -1, NULL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(c.sink, CONSOLE_SINK_WRITE);
	ck_assert_int_ge(c.own_fd, 0); /* a non-blocking reopening */
	ck_assert(!(fcntl(p[1], F_GETFL) & O_NONBLOCK));
	ck_assert(fcntl(c.own_fd, F_GETFL) & O_NONBLOCK);
	console_free(&c);
	ck_assert_int_ge(fcntl(p[1], F_GETFD), 0); /* not closed */

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(
		console_init(&c, sv[0], -1, NULL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(c.sink, CONSOLE_SINK_SEND);
	ck_assert_int_eq(c.own_fd, -1);
	console_free(&c);

	f = mkstemp(path);
	ck_assert_int_ge(f, 0);
	ck_assert_int_eq(console_init(&c, f, -1, NULL, NULL, err, sizeof(err)),
			 0);
	ck_assert_int_eq(c.sink, CONSOLE_SINK_WRITE);
	ck_assert_int_eq(c.out_fd, f);
	console_free(&c);

	ck_assert_int_eq(
		console_init(&c, 1000, -1, NULL, NULL, err, sizeof(err)),
		-EBADF);
	ck_assert_ptr_nonnull(strstr(err, "console output fd 1000"));

	unlink(path);
	close(f);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Input: Ctrl-A escapes taken out when asked for, bytes in order. */
struct keys {
	char got[64];
	size_t n;
	char esc[8];
	size_t nesc;
};

static size_t take(void *opaque, const uint8_t *buf, size_t len)
{
	struct keys *k = opaque;

	for (size_t i = 0; i < len && k->n < sizeof(k->got); i++)
		k->got[k->n++] = (char)buf[i];
	return len;
}

static void on_escape(void *opaque, char key)
{
	struct keys *k = opaque;

	if (k->nesc < sizeof(k->esc))
		k->esc[k->nesc++] = key;
}

struct in_rig {
	struct console c;
	int stop_fd;
};

static void *run_in(void *arg)
{
	struct in_rig *r = arg;

	console_run(&r->c, r->stop_fd);
	return NULL;
}

static void check_input(bool escapes, const char *typed, size_t len,
			const char *want, size_t want_len, const char *esc)
{
	static struct keys k;
	struct in_rig r;
	pthread_t t;
	char err[128];
	int p[2];

	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(
		console_init(&r.c, -1, p[0], take, &k, err, sizeof(err)), 0);
	r.c.escapes = escapes;
	r.c.escape = on_escape;
	r.stop_fd = eventfd(0, EFD_CLOEXEC);
	pthread_create(&t, NULL, run_in, &r);
	ck_assert_int_eq(write(p[1], typed, len), (ssize_t)len);
	close(p[1]); /* EOF ends input; the thread runs on */
	for (int i = 0; i < 500 && k.n < want_len; i++)
		usleep(1000);
	usleep(20000);
	(void)eventfd_write(r.stop_fd, 1);
	pthread_join(t, NULL);
	ck_assert_uint_eq(k.n, want_len);
	ck_assert_mem_eq(k.got, want, want_len);
	ck_assert_uint_eq(k.nesc, strlen(esc));
	ck_assert_mem_eq(k.esc, esc, strlen(esc));
	console_free(&r.c);
	close(r.stop_fd);
	close(p[0]);
}

START_TEST(input_escapes)
{
	static const char typed[] = "ab\001xcd\001\001e\001zf\001Pg";

	check_input(true, typed, sizeof(typed) - 1, "abcd\001efg", 8, "xp");
	/* Off: every byte passes, nothing acts. */
	check_input(false, typed, sizeof(typed) - 1, typed, sizeof(typed) - 1,
		    "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, flow_control_loses_nothing);
	tcase_add_test(tc, silent_reader_taken_for_gone);
	tcase_add_test(tc, closed_reader_ends_output);
	tcase_add_test(tc, drain_is_bounded);
	tcase_add_test(tc, sinks);
	tcase_add_test(tc, input_escapes);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
