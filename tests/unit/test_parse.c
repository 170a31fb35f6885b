/* Value parsers: sizes, whole numbers, booleans. */
#include <errno.h>
#include <string.h>

#include "parse.h"
#include "unit.h"

START_TEST(sizes)
{
	static const struct {
		const char *in;
		uint64_t want;
	} good[] = {
		{ "512M", 512ULL << 20 },
		{ "2G", 2ULL << 30 },
		{ "64k", 64 << 10 },
		{ "1GiB", 1ULL << 30 },
		{ "3MB", 3ULL << 20 },
		{ "1T", 1ULL << 40 },
		{ "0", 0 },
		/* No unit: MiB, as QEMU's -m. */
		{ "512", 512ULL << 20 },
		{ "1048576", 1ULL << 40 },
		/* B alone: bytes. */
		{ "1048576B", 1048576 },
		{ "4096B", 4096 },
	};
	static const char *const bad[] = { "",	    "M",    "-1",  "+5",
					   " 5",    "5X",   "5 M", "1.5G",
					   "5MiBx", "0x10", "5Mi", "5iB",
					   "5BB",   "B",    "5b",  NULL };
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_int_eq(parse_size(good[i].in, &v), 0);
		ck_assert_uint_eq(v, good[i].want);
	}
	for (size_t i = 0; bad[i]; i++)
		ck_assert_msg(parse_size(bad[i], &v) == -EINVAL,
			      "'%s' accepted", bad[i]);
	ck_assert_int_eq(parse_size("99999999999999999999", &v), -ERANGE);
	ck_assert_int_eq(parse_size("17179869184G", &v), -ERANGE);
	ck_assert_int_eq(parse_size("17592186044416", &v), -ERANGE);
	ck_assert_int_eq(parse_size(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(uints)
{
	unsigned int v;

	ck_assert_int_eq(parse_uint("2", 1, 255, &v), 0);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(parse_uint("0", 1, 255, &v), -ERANGE);
	ck_assert_int_eq(parse_uint("256", 1, 255, &v), -ERANGE);
	ck_assert_int_eq(parse_uint("-1", 1, 255, &v), -EINVAL);
	ck_assert_int_eq(parse_uint("2x", 1, 255, &v), -EINVAL);
	ck_assert_int_eq(parse_uint("", 1, 255, &v), -EINVAL);
	ck_assert_int_eq(parse_uint("99999999999999999999", 1, 255, &v),
			 -ERANGE);
}
END_TEST

START_TEST(bools)
{
	int v = -1;

	ck_assert_int_eq(parse_bool("on", &v), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(parse_bool("false", &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(parse_bool("yes", &v), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, sizes);
	tcase_add_test(tc, uints);
	tcase_add_test(tc, bools);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
