/* PIO/MMIO bus registration and dispatch. */
#include "unit.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

struct rec {
	uint64_t off;
	uint32_t len;
	bool write;
	int calls;
};

static void handler(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		    bool is_write)
{
	struct rec *r = opaque;

	r->off = off;
	r->len = len;
	r->write = is_write;
	r->calls++;
	if (!is_write)
		memset(data, 0x5a, len);
}

START_TEST(register_and_dispatch)
{
	struct bus b;
	struct rec a = { 0 }, c = { 0 };
	uint8_t d[8];

	bus_init(&b);
	ck_assert_int_eq(bus_register(&b, 0x3f8, 8, handler, &a, "a"), 0);
	ck_assert_int_eq(bus_register(&b, 0x60, 1, handler, &c, "c"), 0);
	ck_assert_int_eq(bus_dispatch(&b, 0x3fd, d, 1, false), 0);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_uint_eq(a.off, 5);
	ck_assert_uint_eq(d[0], 0x5a);
	ck_assert_int_eq(bus_dispatch(&b, 0x60, d, 1, true), 0);
	ck_assert_int_eq(c.calls, 1);
	ck_assert(c.write);
	ck_assert_ptr_eq(bus_find(&b, 0x3ff)->opaque, &a);
	ck_assert_ptr_null(bus_find(&b, 0x400));
	ck_assert_ptr_null(bus_find(&b, 0x3f7));
	bus_free(&b);
}
END_TEST

START_TEST(unhandled_reads_all_ones)
{
	struct bus b;
	uint8_t d[8] = { 0 };

	bus_init(&b);
	ck_assert_int_eq(bus_dispatch(&b, 0x80, d, 4, false), -ENOENT);
	ck_assert_uint_eq(d[0], 0xff);
	ck_assert_uint_eq(d[3], 0xff);
	ck_assert_uint_eq(d[4], 0);
	bus_free(&b);
}
END_TEST

START_TEST(overlap_and_bad_ranges_refused)
{
	struct bus b;
	struct rec a = { 0 };

	bus_init(&b);
	ck_assert_int_eq(bus_register(&b, 0x100, 0x10, handler, &a, "a"), 0);
	ck_assert_int_eq(bus_register(&b, 0x10f, 1, handler, &a, "b"), -EEXIST);
	ck_assert_int_eq(bus_register(&b, 0xf0, 0x11, handler, &a, "b"),
			 -EEXIST);
	ck_assert_int_eq(bus_register(&b, 0x80, 0x200, handler, &a, "b"),
			 -EEXIST);
	ck_assert_int_eq(bus_register(&b, 0x110, 1, handler, &a, "b"), 0);
	ck_assert_int_eq(bus_register(&b, 0xff, 1, handler, &a, "b"), 0);
	ck_assert_int_eq(bus_register(&b, 0x1000, 0, handler, &a, "z"),
			 -EINVAL);
	ck_assert_int_eq(bus_register(&b, ~0ULL, 2, handler, &a, "w"), -EINVAL);
	ck_assert_int_eq(bus_register(&b, 0x2000, 1, NULL, &a, "n"), -EINVAL);
	bus_free(&b);
}
END_TEST

START_TEST(straddling_access_refused)
{
	struct bus b;
	struct rec a = { 0 };
	uint8_t d[8];

	bus_init(&b);
	ck_assert_int_eq(bus_register(&b, 0x3c0, 2, handler, &a, "a"), 0);
	ck_assert_int_eq(bus_dispatch(&b, 0x3c1, d, 2, false), -EINVAL);
	ck_assert_uint_eq(d[0], 0xff);
	ck_assert_int_eq(bus_dispatch(&b, 0x3c0, d, 9, true), -EINVAL);
	ck_assert_int_eq(a.calls, 0);
	ck_assert_int_eq(bus_dispatch(&b, 0x3c0, d, 2, false), 0);
	ck_assert_int_eq(a.calls, 1);
	bus_free(&b);
}
END_TEST

START_TEST(many_ranges_sorted)
{
	struct bus b;
	struct rec r[64] = { 0 };
	uint8_t d[1];

	bus_init(&b);
	/* Register in a scrambled order; lookups must still find each. */
	for (int i = 0; i < 64; i++) {
		int k = (i * 37) % 64;

		ck_assert_int_eq(bus_register(&b, 0x1000 + k * 0x10, 0x8,
					      handler, &r[k], "r"),
				 0);
	}
	for (int k = 0; k < 64; k++) {
		ck_assert_int_eq(
			bus_dispatch(&b, 0x1000 + k * 0x10 + 7, d, 1, true), 0);
		ck_assert_int_eq(r[k].calls, 1);
		ck_assert_int_eq(
			bus_dispatch(&b, 0x1000 + k * 0x10 + 8, d, 1, true),
			-ENOENT);
	}
	bus_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, register_and_dispatch);
	tcase_add_test(tc, unhandled_reads_all_ones);
	tcase_add_test(tc, overlap_and_bad_ranges_refused);
	tcase_add_test(tc, straddling_access_refused);
	tcase_add_test(tc, many_ranges_sorted);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
