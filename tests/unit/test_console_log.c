/* The console log behind kvmlite_vm_expect. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "console_log.h"
#include "unit.h"

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

int main(void)
{
	Suite *s = suite_create("console_log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, match_and_cursor);
	tcase_add_test(tc, drops_oldest_beyond_limit);
	tcase_add_test(tc, waits_for_output);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
