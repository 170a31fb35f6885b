/* The console log behind kvmlite_vm_expect. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "console_log.h"
#include "unit.h"

/* Appends never allocate (they run on the console thread, whose seccomp
 * filter a thread-exit arena trim would break: README, "Security"): the
 * buffer is whole from the start and stays where it is. */
START_TEST(appends_do_not_allocate)
{
	struct console_log c;
	char chunk[4096];
	char *buf;

	console_log_init(&c);
	ck_assert_ptr_nonnull(c.buf);
	ck_assert_uint_eq(c.cap, CONSOLE_LOG_MAX);
	buf = c.buf;
	memset(chunk, 'x', sizeof(chunk));
	for (unsigned int i = 0; i < 3 * CONSOLE_LOG_MAX / sizeof(chunk); i++)
		console_log_append(&c, chunk, sizeof(chunk));
	ck_assert_ptr_eq(c.buf, buf);
	ck_assert_uint_eq(c.cap, CONSOLE_LOG_MAX);
	console_log_free(&c);
}
END_TEST

START_TEST(match_and_cursor)
{
	struct console_log c;
	char seen[64];

	console_log_init(&c);
	console_log_append(&c, "boot...\nlogin: ", 15);
	ck_assert_int_eq(
		console_log_expect(&c, "login:", 0, seen, sizeof(seen)), 0);
	ck_assert_str_eq(seen, "boot...\nlogin:");
	/* The same text is not matched twice. */
	ck_assert_int_eq(
		console_log_expect(&c, "login:", 0, seen, sizeof(seen)),
		-ETIMEDOUT);
	ck_assert_str_eq(seen, " ");
	console_log_append(&c, "ro", 2);
	console_log_append(&c, "ot\n# ", 5);
	ck_assert_int_eq(console_log_expect(&c, "root\n#", 10, seen, 4), 0);
	ck_assert_str_eq(seen, "t\n#"); /* the last seen_len - 1 bytes */
	console_log_close(&c);
	ck_assert_int_eq(console_log_expect(&c, "x", -1, NULL, 0), -ESRCH);
	console_log_free(&c);
}
END_TEST

START_TEST(empty_needle)
{
	struct console_log c;
	char seen[8] = "x";

	console_log_init(&c);
	/* Before any output too (it used to wait). */
	ck_assert_int_eq(console_log_expect(&c, "", 0, seen, sizeof(seen)), 0);
	ck_assert_str_eq(seen, "");
	console_log_append(&c, "abc", 3);
	ck_assert_int_eq(console_log_expect(&c, "", 0, seen, sizeof(seen)), 0);
	ck_assert_str_eq(seen, "");
	/* It matched at the cursor, which did not move. */
	ck_assert_int_eq(console_log_expect(&c, "c", 0, seen, sizeof(seen)), 0);
	ck_assert_str_eq(seen, "abc");
	console_log_free(&c);
}
END_TEST

START_TEST(drops_oldest_beyond_limit)
{
	struct console_log c;
	static char big[CONSOLE_LOG_MAX / 4];
	char seen[16];

	console_log_init(&c);
	memset(big, 'a', sizeof(big));
	console_log_append(&c, "MARK", 4);
	for (int i = 0; i < 8; i++)
		console_log_append(&c, big, sizeof(big));
	ck_assert_uint_le(c.len, CONSOLE_LOG_MAX);
	ck_assert_int_eq(console_log_expect(&c, "MARK", 0, seen, sizeof(seen)),
			 -ETIMEDOUT);
	console_log_append(&c, "END", 3);
	ck_assert_int_eq(console_log_expect(&c, "END", 0, seen, sizeof(seen)),
			 0);
	ck_assert_str_eq(seen, "aaaaaaaaaaaaEND");
	/* One write larger than the whole log keeps its tail. */
	{
		static char huge[CONSOLE_LOG_MAX + 100];

		memset(huge, 'b', sizeof(huge));
		memcpy(huge + sizeof(huge) - 4, "TAIL", 4);
		console_log_append(&c, huge, sizeof(huge));
		ck_assert_uint_le(c.len, CONSOLE_LOG_MAX);
		ck_assert_int_eq(console_log_expect(&c, "TAIL", 0, NULL, 0), 0);
	}
	console_log_free(&c);
}
END_TEST

static void *late_writer(void *arg)
{
	usleep(50000);
	console_log_append(arg, "ready\n", 6);
	return NULL;
}

START_TEST(waits_for_output)
{
	struct console_log c;
	pthread_t t;

	console_log_init(&c);
	pthread_create(&t, NULL, late_writer, &c);
	ck_assert_int_eq(console_log_expect(&c, "ready", 5000, NULL, 0), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(console_log_expect(&c, "more", 50, NULL, 0),
			 -ETIMEDOUT);
	console_log_free(&c);
}
END_TEST

/* c->searches, read under the lock. */
static uint64_t searches(struct console_log *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->lock);
	n = c->searches;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Wait until the waiter has searched more than @n times. */
static void wait_searches(struct console_log *c, uint64_t n)
{
	for (int i = 0; i < 100000 && searches(c) <= n; i++)
		usleep(100);
	ck_assert_uint_gt(searches(c), n);
}

struct waiter {
	struct console_log *c;
	const char *needle;
	int timeout_ms;
	int ret;
	char seen[64];
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->ret = console_log_expect(w->c, w->needle, w->timeout_ms, w->seen,
				    sizeof(w->seen));
	return NULL;
}

/*
 * 1 MiB of output one byte at a time (the UART's way) under a waiting
 * expect whose needle comes last. Each search resumes where the previous
 * one stopped, less the needle's length - 1 (a match may straddle): the
 * bytes searched are the output plus that overlap per search, not the
 * whole log again at every byte. The writer lets the waiter search at
 * least once per 4 KiB, so rescanning the log would be ~130 MiB.
 */
START_TEST(expect_searches_each_byte_once)
{
	static const char needle[] = "the-needle-at-the-end";
	const size_t nlen = sizeof(needle) - 1, total = CONSOLE_LOG_MAX;
	struct console_log c;
	struct waiter w = { &c, needle, 60000, 1, "" };
	pthread_t t;
	uint64_t s;

	console_log_init(&c);
	for (size_t i = 0; i < total; i++) {
		char ch = i >= total - nlen ? needle[i - (total - nlen)]
					    : "the-needle-"[i % 11];

		if (i == 2 * nlen) {
			/* The waiter's first search, then one per 4 KiB. */
			pthread_create(&t, NULL, waiter_main, &w);
			wait_searches(&c, 0);
		}
		if (i > 2 * nlen && !(i % 4096)) {
			s = searches(&c);
			console_log_append(&c, &ch, 1);
			wait_searches(&c, s);
		} else {
			console_log_append(&c, &ch, 1);
		}
	}
	pthread_join(t, NULL);
	ck_assert_int_eq(w.ret, 0);
	ck_assert_str_eq(w.seen + strlen(w.seen) - nlen, needle);
	ck_assert_uint_eq(c.len, total); /* nothing dropped */
	ck_assert_uint_ge(c.searches, total / 4096);
	ck_assert_msg(c.searched <= total + c.searches * (nlen - 1),
		      "%llu bytes searched for %zu of output in %llu searches",
		      (unsigned long long)c.searched, total,
		      (unsigned long long)c.searches);
	console_log_free(&c);
}
END_TEST

/* Fill @c with @n bytes of filler that holds no 'S' or 'G'. */
static void fill(struct console_log *c, size_t n)
{
	static char chunk[4096];

	memset(chunk, '.', sizeof(chunk));
	while (n) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);

		console_log_append(c, chunk, k);
		n -= k;
	}
}

/*
 * A needle whose first half is the log's last bytes before the write that
 * makes it drop its oldest half, its second half in that write: the
 * waiter's resume position moves with the drop, and the match is found
 * without searching the log again.
 */
START_TEST(expect_straddles_the_drop)
{
	struct console_log c;
	struct waiter w = { &c, "STRADDLE", 60000, 1, "" };
	pthread_t t;
	uint64_t s, before;

	console_log_init(&c);
	fill(&c, CONSOLE_LOG_MAX - 5);
	pthread_create(&t, NULL, waiter_main, &w);
	wait_searches(&c, 0);
	s = searches(&c);
	console_log_append(&c, "STRAD", 5);
	wait_searches(&c, s);
	ck_assert_uint_eq(c.len, CONSOLE_LOG_MAX);
	pthread_mutex_lock(&c.lock);
	before = c.searched;
	pthread_mutex_unlock(&c.lock);
	console_log_append(&c, "DLE.", 4); /* drops the oldest half */
	pthread_join(t, NULL);
	ck_assert_int_eq(w.ret, 0);
	ck_assert_uint_eq(c.len, CONSOLE_LOG_MAX / 2 + 4);
	ck_assert_str_eq(w.seen + strlen(w.seen) - 8, "STRADDLE");
	/* The last search: the needle's length - 1 before, and the write. */
	ck_assert_uint_le(c.searched - before, 7 + 4);
	/* Matched once only; the cursor moved with the drop too. */
	ck_assert_int_eq(
		console_log_expect(&c, "STRADDLE", 0, w.seen, sizeof(w.seen)),
		-ETIMEDOUT);
	ck_assert_str_eq(w.seen, ".");
	console_log_free(&c);
}
END_TEST

/*
 * A write longer than the log (its head, with the needle, never kept)
 * while an expect waits: the waiter's resume position was in the dropped
 * part, so it searches the new log from its start, once, finds nothing
 * and keeps waiting until the log is closed.
 */
START_TEST(expect_needle_dropped)
{
	static char huge[CONSOLE_LOG_MAX + 100];
	struct console_log c;
	struct waiter w = { &c, "GONE", -1, 1, "" };
	pthread_t t;
	uint64_t s, before;

	console_log_init(&c);
	fill(&c, 1000);
	pthread_create(&t, NULL, waiter_main, &w);
	wait_searches(&c, 0);
	memset(huge, '.', sizeof(huge));
	memcpy(huge, "GONE", 4);
	memcpy(huge + sizeof(huge) - 4, "TAIL", 4);
	s = searches(&c);
	pthread_mutex_lock(&c.lock);
	before = c.searched;
	pthread_mutex_unlock(&c.lock);
	console_log_append(&c, huge, sizeof(huge));
	wait_searches(&c, s);
	console_log_close(&c);
	pthread_join(t, NULL);
	ck_assert_int_eq(w.ret, -ESRCH);
	ck_assert_str_eq(w.seen + strlen(w.seen) - 4, "TAIL");
	ck_assert_uint_eq(c.len, CONSOLE_LOG_MAX);
	/* The new log once (then nothing new: the close wakes it again). */
	ck_assert_uint_le(c.searched - before, CONSOLE_LOG_MAX + 3);
	console_log_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("console_log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, appends_do_not_allocate);
	tcase_add_test(tc, match_and_cursor);
	tcase_add_test(tc, empty_needle);
	tcase_add_test(tc, drops_oldest_beyond_limit);
	tcase_add_test(tc, waits_for_output);
	tcase_add_test(tc, expect_searches_each_byte_once);
	tcase_add_test(tc, expect_straddles_the_drop);
	tcase_add_test(tc, expect_needle_dropped);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
