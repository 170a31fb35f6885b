/* Unit tests for the minimal i8042 controller. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"
#include "fakes.h"
#include "unit.h"

static struct i8042 kbc;
static struct fake_platform fplat;

static void setup(void)
{
	struct platform_ops ops = { .event = fake_platform_event,
				    .opaque = &fplat };

	memset(&fplat, 0, sizeof(fplat));
	ck_assert_int_eq(i8042_init(&kbc, &ops), 0);
}

static void teardown(void)
{
	i8042_destroy(&kbc);
}

static uint8_t status(void)
{
	uint8_t v = 0;

	i8042_cmd_io(&kbc, 0, &v, 1, false);
	return v;
}

static void cmd(uint8_t v)
{
	i8042_cmd_io(&kbc, 0, &v, 1, true);
}

static uint8_t data_rd(void)
{
	uint8_t v = 0;

	i8042_data_io(&kbc, 0, &v, 1, false);
	return v;
}

static void data_wr(uint8_t v)
{
	i8042_data_io(&kbc, 0, &v, 1, true);
}

START_TEST(test_status_idle)
{
	uint8_t st = status();

	ck_assert_uint_eq(st & I8042_STR_IBF, 0);
	ck_assert_uint_eq(st & I8042_STR_OBF, 0);
	ck_assert_uint_eq(st & I8042_STR_SYSFLAG, I8042_STR_SYSFLAG);
	ck_assert_int_eq(fplat.nr, 0);
}
END_TEST

/* arch/x86/kernel/reboot.c, BOOT_KBD. */
START_TEST(test_reset_fe)
{
	int i, tries;

	for (tries = 0; tries < 10 && fplat.nr == 0; tries++) {
		for (i = 0; i < 0x10000; i++)
			if ((status() & I8042_STR_IBF) == 0)
				break;
		ck_assert_int_lt(i, 0x10000);
		cmd(0xfe);
	}
	ck_assert_int_eq(fplat.nr, 1);
	ck_assert_int_eq(fplat.ev[0], PLATFORM_REBOOT);
	ck_assert_int_eq(fplat.val[0], 0);
	/* Another write is another request (the VM decides what to do). */
	cmd(0xfe);
	ck_assert_int_eq(fplat.nr, 2);
	/* Pulsing other lines only does not reset. */
	cmd(0xff);
	cmd(0xfd);
	ck_assert_int_eq(fplat.nr, 2);
}
END_TEST

START_TEST(test_self_test)
{
	cmd(0xaa);
	ck_assert_uint_eq(status() & I8042_STR_OBF, I8042_STR_OBF);
	ck_assert_uint_eq(data_rd(), 0x55);
	ck_assert_uint_eq(status() & I8042_STR_OBF, 0);
	cmd(0xab);
	ck_assert_uint_eq(status() & I8042_STR_OBF, I8042_STR_OBF);
	ck_assert_uint_eq(data_rd(), 0x00);
	ck_assert_uint_eq(status() & I8042_STR_OBF, 0);
	ck_assert_int_eq(fplat.nr, 0);
}
END_TEST

START_TEST(test_command_byte)
{
	uint8_t ctr;

	cmd(0x20);
	ck_assert_uint_eq(status() & I8042_STR_OBF, I8042_STR_OBF);
	ctr = data_rd();
	ck_assert_uint_eq(ctr & I8042_CTR_SYSFLAG, I8042_CTR_SYSFLAG);

	cmd(0x60);
	data_wr(0x47);
	cmd(0x20);
	ck_assert_uint_eq(data_rd(), 0x47);

	/* Enable/disable kbd and aux bits. */
	cmd(0xad);
	cmd(0xa7);
	cmd(0x20);
	ck_assert_uint_eq(data_rd(),
			  0x47 | I8042_CTR_KBDDIS | I8042_CTR_AUXDIS);
	cmd(0xae);
	cmd(0xa8);
	cmd(0x20);
	ck_assert_uint_eq(data_rd(), 0x47);

	/* System flag in the status follows the command byte. */
	cmd(0x60);
	data_wr(0x00);
	ck_assert_uint_eq(status() & I8042_STR_SYSFLAG, 0);
	cmd(0xaa);
	ck_assert_uint_eq(data_rd(), 0x55);
	ck_assert_uint_eq(status() & I8042_STR_SYSFLAG, I8042_STR_SYSFLAG);

	/* A data write without a pending command goes to the keyboard. */
	data_wr(0xff);
	cmd(0x20);
	ck_assert_uint_eq(data_rd(), I8042_CTR_SYSFLAG);
	ck_assert_int_eq(fplat.nr, 0);
}
END_TEST

START_TEST(test_output_port)
{
	cmd(0xd0);
	ck_assert_uint_eq(data_rd() & I8042_OUTP_RESET, I8042_OUTP_RESET);
	cmd(0xd1);
	data_wr(0xdf); /* A20 etc., reset line kept high */
	ck_assert_int_eq(fplat.nr, 0);
	cmd(0xd0);
	ck_assert_uint_eq(data_rd(), 0xdf);
	cmd(0xd1);
	data_wr(0xfe); /* reset line low */
	ck_assert_int_eq(fplat.nr, 1);
	ck_assert_int_eq(fplat.ev[0], PLATFORM_REBOOT);
	/* D1 then another command: the data byte is not an output port. */
	cmd(0xd1);
	cmd(0xae);
	data_wr(0x00);
	ck_assert_int_eq(fplat.nr, 1);
}
END_TEST

START_TEST(test_write_outbuf)
{
	cmd(0xd2);
	ck_assert_uint_eq(status() & I8042_STR_OBF, 0);
	data_wr(0x12);
	ck_assert_uint_eq(status() & (I8042_STR_OBF | I8042_STR_AUXDATA),
			  I8042_STR_OBF);
	ck_assert_uint_eq(data_rd(), 0x12);
	cmd(0xd3);
	data_wr(0x5a);
	ck_assert_uint_eq(status() & (I8042_STR_OBF | I8042_STR_AUXDATA),
			  I8042_STR_OBF | I8042_STR_AUXDATA);
	ck_assert_uint_eq(data_rd(), 0x5a);
	ck_assert_uint_eq(status() & (I8042_STR_OBF | I8042_STR_AUXDATA), 0);
	cmd(0xd4);
	data_wr(0xff);
	ck_assert_uint_eq(status() & I8042_STR_OBF, 0);
	ck_assert_int_eq(fplat.nr, 0);
}
END_TEST

START_TEST(test_hostile)
{
	static const uint32_t lens[] = { 1, 2, 4, 8 };
	uint8_t buf[24];
	size_t li;
	unsigned int c, off;
	int w;

	/* Every command byte, any width, offsets past the port. */
	for (c = 0; c < 256; c++) {
		if ((c & 0xf0) == 0xf0 && !(c & 1))
			continue;
		for (li = 0; li < 4; li++) {
			for (off = 0; off < 3; off++) {
				for (w = 0; w < 2; w++) {
					memset(buf, 0xa5, sizeof(buf));
					buf[8] = (uint8_t)c;
					i8042_cmd_io(&kbc, off, buf + 8,
						     lens[li], w);
					buf[8] = (uint8_t)c;
					i8042_data_io(&kbc, off, buf + 8,
						      lens[li], w);
					unit_check_untouched(buf, sizeof(buf),
							     8, lens[li], 0xa5);
					if (!w && off)
						ck_assert_uint_eq(buf[8], 0xff);
				}
			}
		}
	}
	/* Only D1 with a data byte with bit 0 clear could reset here. */
	ck_assert_int_eq(fplat.nr, 0);
	i8042_cmd_io(&kbc, 0, buf, 0, true);
	i8042_cmd_io(&kbc, 0, NULL, 1, true);
	i8042_data_io(NULL, 0, buf, 1, true);
	ck_assert_uint_eq(status() & I8042_STR_IBF, 0);
}
END_TEST

START_TEST(test_no_platform)
{
	struct i8042 k2;
	uint8_t v = 0xfe;

	ck_assert_int_eq(i8042_init(&k2, NULL), 0);
	i8042_cmd_io(&k2, 0, &v, 1, true); /* dropped, no crash */
	i8042_destroy(&k2);
}
END_TEST

static Suite *i8042_suite(void)
{
	Suite *s = suite_create("i8042");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_status_idle);
	tcase_add_test(tc, test_reset_fe);
	tcase_add_test(tc, test_self_test);
	tcase_add_test(tc, test_command_byte);
	tcase_add_test(tc, test_output_port);
	tcase_add_test(tc, test_write_outbuf);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_no_platform);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(i8042_suite());
}
