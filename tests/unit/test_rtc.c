/* CMOS RTC: time of day in BCD and binary, guest clock setting, hostile
 * indices and widths. */
#include <string.h>

#include "devices/rtc.h"
#include "unit.h"

static uint8_t rd(struct rtc *r, uint8_t reg)
{
	uint8_t d[8];

	d[0] = reg;
	rtc_io(r, 0, d, 1, true);
	memset(d, 0, sizeof(d));
	rtc_io(r, 1, d, 1, false);
	return d[0];
}

static void wr(struct rtc *r, uint8_t reg, uint8_t v)
{
	uint8_t d = reg;

	rtc_io(r, 0, &d, 1, true);
	d = v;
	rtc_io(r, 1, &d, 1, true);
}

/* 2026-11-26 05:29:12 UTC, a Thursday. */
#define NOW 1795670952

START_TEST(bcd_time)
{
	struct rtc r;

	ck_assert_int_eq(rtc_init(&r), 0);
	r.fixed_now = NOW;
	ck_assert_uint_eq(rd(&r, 0x00), 0x12);
	ck_assert_uint_eq(rd(&r, 0x02), 0x29);
	ck_assert_uint_eq(rd(&r, 0x04), 0x05);
	ck_assert_uint_eq(rd(&r, 0x06), 0x05); /* Thursday = 5 */
	ck_assert_uint_eq(rd(&r, 0x07), 0x26);
	ck_assert_uint_eq(rd(&r, 0x08), 0x11);
	ck_assert_uint_eq(rd(&r, 0x09), 0x26);
	ck_assert_uint_eq(rd(&r, 0x32), 0x20);
	ck_assert_uint_eq(rd(&r, 0x0a) & 0x80, 0); /* never updating */
	ck_assert_uint_eq(rd(&r, 0x0d), 0x80);
	/* Bit 7 of the index masks NMI; it does not change the register. */
	ck_assert_uint_eq(rd(&r, 0x80 | 0x02), 0x29);
	rtc_destroy(&r);
}
END_TEST

START_TEST(binary_and_12h)
{
	struct rtc r;

	ck_assert_int_eq(rtc_init(&r), 0);
	r.fixed_now = NOW + 12 * 3600; /* 17:29:12 */
	wr(&r, 0x0b, 0x04);	       /* binary, 12-hour */
	ck_assert_uint_eq(rd(&r, 0x02), 29);
	ck_assert_uint_eq(rd(&r, 0x04), 0x80 | 5);
	wr(&r, 0x0b, 0x06);
	ck_assert_uint_eq(rd(&r, 0x04), 17);
	rtc_destroy(&r);
}
END_TEST

START_TEST(guest_sets_clock)
{
	struct rtc r;

	ck_assert_int_eq(rtc_init(&r), 0);
	r.fixed_now = NOW;
	wr(&r, 0x09, 0x30); /* year 2030 */
	wr(&r, 0x04, 0x23); /* 23h */
	ck_assert_uint_eq(rd(&r, 0x09), 0x30);
	ck_assert_uint_eq(rd(&r, 0x04), 0x23);
	ck_assert_uint_eq(rd(&r, 0x02), 0x29);
	/* The clock keeps running from there. */
	r.fixed_now += 60;
	ck_assert_uint_eq(rd(&r, 0x02), 0x30);
	/* CMOS RAM and alarm registers are plain storage. */
	wr(&r, 0x40, 0xab);
	ck_assert_uint_eq(rd(&r, 0x40), 0xab);
	wr(&r, 0x01, 0x59);
	ck_assert_uint_eq(rd(&r, 0x01), 0x59);
	/* UIP and register D are read-only. */
	wr(&r, 0x0a, 0xff);
	ck_assert_uint_eq(rd(&r, 0x0a) & 0x80, 0);
	wr(&r, 0x0d, 0);
	ck_assert_uint_eq(rd(&r, 0x0d), 0x80);
	rtc_destroy(&r);
}
END_TEST

START_TEST(hostile_accesses)
{
	struct rtc r;
	uint8_t d[16];

	ck_assert_int_eq(rtc_init(&r), 0);
	for (unsigned int i = 0; i < 256; i++) {
		for (uint32_t len = 1; len <= 8; len *= 2) {
			for (uint64_t off = 0; off < 3; off++) {
				memset(d, 0x5c, sizeof(d));
				d[0] = (uint8_t)i;
				rtc_io(&r, off, d, len, i & 1);
				for (size_t k = len; k < sizeof(d); k++)
					ck_assert_uint_eq(d[k], 0x5c);
			}
		}
	}
	rtc_io(&r, ~0ULL, d, 1, false);
	ck_assert_uint_eq(d[0], 0xff);
	rtc_io(&r, 0, d, 0, false);
	rtc_io(NULL, 0, d, 1, false);
	rtc_destroy(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rtc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, bcd_time);
	tcase_add_test(tc, binary_and_12h);
	tcase_add_test(tc, guest_sets_clock);
	tcase_add_test(tc, hostile_accesses);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
