/* Unit tests for the test-exit, boot-timer, ACPI sleep and reset ports. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/platform_ports.h"
#include "fakes.h"
#include "unit.h"

static struct fake_platform fplat;
static struct platform_ops ops = { .event = fake_platform_event,
				   .opaque = &fplat };

static void setup(void)
{
	memset(&fplat, 0, sizeof(fplat));
}

START_TEST(test_exit_byte)
{
	struct test_exit_port t;
	uint8_t v = 5;

	test_exit_port_init(&t, &ops);
	test_exit_port_io(&t, 0, &v, 1, true);
	ck_assert_int_eq(fplat.nr, 1);
	ck_assert_int_eq(fplat.ev[0], PLATFORM_TEST_EXIT);
	ck_assert_int_eq(fplat.val[0], 5);
	v = 0xff;
	test_exit_port_io(&t, 0, &v, 1, true);
	ck_assert_int_eq(fplat.nr, 2);
	ck_assert_int_eq(fplat.val[1], 0xff);
}
END_TEST

START_TEST(test_exit_ignored)
{
	struct test_exit_port t;
	uint8_t d[8] = { 5, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t buf[16];
	size_t i;

	test_exit_port_init(&t, &ops);
	test_exit_port_io(&t, 0, d, 2, true);
	test_exit_port_io(&t, 0, d, 4, true);
	test_exit_port_io(&t, 0, d, 8, true);
	test_exit_port_io(&t, 1, d, 1, true);
	memset(buf, 0xa5, sizeof(buf));
	buf[4] = 0;
	test_exit_port_io(&t, 0, buf + 4, 1, false);
	ck_assert_uint_eq(buf[4], 0xff);
	unit_check_untouched(buf, sizeof(buf), 4, 1, 0xa5);
	memset(buf + 4, 0, 4);
	test_exit_port_io(&t, 0, buf + 4, 4, false);
	for (i = 4; i < 8; i++)
		ck_assert_uint_eq(buf[i], 0xff);
	ck_assert_uint_eq(buf[8], 0xa5);
	test_exit_port_io(&t, 0, d, 0, true);
	test_exit_port_io(&t, 0, NULL, 1, true);
	test_exit_port_io(NULL, 0, d, 1, true);
	ck_assert_int_eq(fplat.nr, 0);
}
END_TEST

START_TEST(test_boot_mark)
{
	struct boot_timer_port b;
	uint8_t d[8] = { 0x42, 1, 2, 3, 4, 5, 6, 7 };
	uint8_t r[4] = { 0 };

	boot_timer_port_init(&b, &ops);
	boot_timer_port_io(&b, 0, d, 1, true);
	boot_timer_port_io(&b, 0, d, 4, true);
	boot_timer_port_io(&b, 0, d, 8, true);
	ck_assert_int_eq(fplat.nr, 3);
	ck_assert_int_eq(fplat.ev[0], PLATFORM_BOOT_MARK);
	ck_assert_int_eq(fplat.val[0], 0x42);
	ck_assert_int_eq(fplat.ev[2], PLATFORM_BOOT_MARK);
	ck_assert_int_eq(fplat.val[2], 0x42);
	boot_timer_port_io(&b, 0, r, 2, false);
	ck_assert_uint_eq(r[0], 0xff);
	ck_assert_uint_eq(r[1], 0xff);
	ck_assert_uint_eq(r[2], 0);
	ck_assert_int_eq(fplat.nr, 3);
}
END_TEST

static void sleep_wr(struct acpi_sleep_port *a, uint64_t off, uint8_t v)
{
	acpi_sleep_port_io(a, off, &v, 1, true);
}

static uint8_t sleep_rd(struct acpi_sleep_port *a, uint64_t off)
{
	uint8_t v = 0x5a;

	acpi_sleep_port_io(a, off, &v, 1, false);
	return v;
}

START_TEST(test_acpi_s5)
{
	struct acpi_sleep_port a;

	acpi_sleep_port_init(&a, &ops);
	sleep_wr(&a, ACPI_SLEEP_CTL_OFF, 0x34);
	ck_assert_int_eq(fplat.nr, 1);
	ck_assert_int_eq(fplat.ev[0], PLATFORM_POWEROFF);
	ck_assert_int_eq(fplat.val[0], 0);
	/* Other bits do not matter. */
	sleep_wr(&a, ACPI_SLEEP_CTL_OFF, 0x34 | 0xc3);
	ck_assert_int_eq(fplat.nr, 2);
}
END_TEST

START_TEST(test_acpi_ignored)
{
	struct acpi_sleep_port a;
	unsigned int typ;

	acpi_sleep_port_init(&a, &ops);
	sleep_wr(&a, ACPI_SLEEP_CTL_OFF, 0x20 | (3 << 2)); /* S3 */
	sleep_wr(&a, ACPI_SLEEP_CTL_OFF, 5 << 2);	   /* no SLP_EN */
	for (typ = 0; typ < 8; typ++)
		if (typ != 5)
			sleep_wr(&a, ACPI_SLEEP_CTL_OFF,
				 (uint8_t)(0x20 | (typ << 2)));
	/* S5 value written to the status register. */
	sleep_wr(&a, ACPI_SLEEP_STS_OFF, 0x34);
	sleep_wr(&a, 2, 0x34);
	sleep_wr(&a, ~0ULL, 0x34);
	ck_assert_int_eq(fplat.nr, 0);
	/* Control reads as 0, past-the-end reads 0xff. */
	ck_assert_uint_eq(sleep_rd(&a, ACPI_SLEEP_CTL_OFF), 0);
	ck_assert_uint_eq(sleep_rd(&a, 2), 0xff);
	ck_assert_uint_eq(sleep_rd(&a, ~0ULL), 0xff);
}
END_TEST

START_TEST(test_acpi_status)
{
	struct acpi_sleep_port a;

	acpi_sleep_port_init(&a, &ops);
	ck_assert_uint_eq(sleep_rd(&a, ACPI_SLEEP_STS_OFF) & ACPI_WAK_STS, 0);
	atomic_store(&a.status, ACPI_WAK_STS | 0x01);
	ck_assert_uint_eq(sleep_rd(&a, ACPI_SLEEP_STS_OFF), 0x81);
	sleep_wr(&a, ACPI_SLEEP_STS_OFF, ACPI_WAK_STS); /* write-1-to-clear */
	ck_assert_uint_eq(sleep_rd(&a, ACPI_SLEEP_STS_OFF), 0x01);
	sleep_wr(&a, ACPI_SLEEP_STS_OFF, 0);
	ck_assert_uint_eq(sleep_rd(&a, ACPI_SLEEP_STS_OFF), 0x01);
	sleep_wr(&a, ACPI_SLEEP_STS_OFF, 0xff);
	ck_assert_uint_eq(sleep_rd(&a, ACPI_SLEEP_STS_OFF), 0);
	ck_assert_int_eq(fplat.nr, 0);
}
END_TEST

START_TEST(test_acpi_wide)
{
	struct acpi_sleep_port a;
	uint8_t buf[24];
	size_t i;

	acpi_sleep_port_init(&a, &ops);
	atomic_store(&a.status, 0x80);
	/* A 16-bit read covers control then status. */
	memset(buf, 0xa5, sizeof(buf));
	acpi_sleep_port_io(&a, 0, buf + 8, 2, false);
	ck_assert_uint_eq(buf[8], 0);
	ck_assert_uint_eq(buf[9], 0x80);
	/* A 64-bit read at offset 1: status, then 0xff past the end. */
	acpi_sleep_port_io(&a, 1, buf + 8, 8, false);
	ck_assert_uint_eq(buf[8], 0x80);
	for (i = 9; i < 16; i++)
		ck_assert_uint_eq(buf[i], 0xff);
	unit_check_untouched(buf, sizeof(buf), 8, 8, 0xa5);
	/* A 16-bit write: S5 to control, clear status. */
	buf[8] = 0x34;
	buf[9] = 0x80;
	acpi_sleep_port_io(&a, 0, buf + 8, 2, true);
	ck_assert_int_eq(fplat.nr, 1);
	ck_assert_int_eq(fplat.ev[0], PLATFORM_POWEROFF);
	ck_assert_uint_eq(sleep_rd(&a, ACPI_SLEEP_STS_OFF), 0);
	/* Wrap-around offsets are harmless. */
	acpi_sleep_port_io(&a, ~0ULL, buf + 8, 8, true);
	acpi_sleep_port_io(&a, 0, buf, 0, true);
	acpi_sleep_port_io(&a, 0, NULL, 1, true);
	acpi_sleep_port_io(NULL, 0, buf, 1, true);
	ck_assert_int_eq(fplat.nr, 1);
}
END_TEST

START_TEST(test_no_platform)
{
	struct test_exit_port t;
	struct boot_timer_port b;
	struct acpi_sleep_port a;
	uint8_t v = 0x34;

	test_exit_port_init(&t, NULL);
	boot_timer_port_init(&b, NULL);
	acpi_sleep_port_init(&a, NULL);
	test_exit_port_io(&t, 0, &v, 1, true);
	boot_timer_port_io(&b, 0, &v, 1, true);
	acpi_sleep_port_io(&a, 0, &v, 1, true);
	ck_assert_int_eq(fplat.nr, 0);
}
END_TEST

/* Linux's reboot=pci writes SYS_RST, then SYS_RST | RST_CPU; the FADT's
 * reset register asks for 0x06 at once. Only RST_CPU resets. */
START_TEST(test_reset_ctl)
{
	struct reset_ctl_port r;
	uint8_t v;

	reset_ctl_port_init(&r, &ops);
	v = RESET_CTL_SYS_RST;
	reset_ctl_port_io(&r, 0, &v, 1, true);
	ck_assert_int_eq(fplat.nr, 0);
	v = 0;
	reset_ctl_port_io(&r, 0, &v, 1, false);
	ck_assert_uint_eq(v, RESET_CTL_SYS_RST);
	v = RESET_CTL_SYS_RST | RESET_CTL_RST_CPU;
	reset_ctl_port_io(&r, 0, &v, 1, true);
	ck_assert_int_eq(fplat.nr, 1);
	ck_assert_int_eq(fplat.ev[0], PLATFORM_REBOOT);
	/* RST_CPU reads back clear, as Linux's read-modify-write expects. */
	reset_ctl_port_io(&r, 0, &v, 1, false);
	ck_assert_uint_eq(v, RESET_CTL_SYS_RST);
	v = RESET_CTL_HARD_RESET;
	reset_ctl_port_io(&r, 0, &v, 1, true);
	ck_assert_int_eq(fplat.nr, 2);
	ck_assert_int_eq(fplat.ev[1], PLATFORM_REBOOT);
}
END_TEST

/* Wider or misplaced accesses, and no platform: nothing happens. */
START_TEST(test_reset_ctl_ignored)
{
	struct reset_ctl_port r;
	uint8_t d[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t buf[4] = { 0 };

	reset_ctl_port_init(&r, &ops);
	reset_ctl_port_io(&r, 0, d, 2, true);
	reset_ctl_port_io(&r, 0, d, 4, true);
	reset_ctl_port_io(&r, 1, d, 1, true);
	reset_ctl_port_io(&r, 0, d, 0, true);
	reset_ctl_port_io(&r, 0, NULL, 1, true);
	reset_ctl_port_io(NULL, 0, d, 1, true);
	ck_assert_int_eq(fplat.nr, 0);
	reset_ctl_port_io(&r, 0, buf, 4, false);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(buf[i], 0xff);
	reset_ctl_port_init(&r, NULL);
	reset_ctl_port_io(&r, 0, d, 1, true);
	ck_assert_int_eq(fplat.nr, 0);
}
END_TEST

static Suite *ports_suite(void)
{
	Suite *s = suite_create("platform_ports");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_exit_byte);
	tcase_add_test(tc, test_exit_ignored);
	tcase_add_test(tc, test_boot_mark);
	tcase_add_test(tc, test_acpi_s5);
	tcase_add_test(tc, test_acpi_ignored);
	tcase_add_test(tc, test_acpi_status);
	tcase_add_test(tc, test_acpi_wide);
	tcase_add_test(tc, test_no_platform);
	tcase_add_test(tc, test_reset_ctl);
	tcase_add_test(tc, test_reset_ctl_ignored);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(ports_suite());
}
