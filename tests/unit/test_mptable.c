/* MP spec 1.4 tables: floating pointer, config table, BDA pointer. */
#include <stdlib.h>
#include <string.h>

#include "loader_fixtures.h"
#include "unit.h"

static struct guest_mem mem;

static void setup(void)
{
	fx_mem_init(&mem, MiB(16));
}

static void teardown(void)
{
	guest_mem_free(&mem);
}

static void check_mptable(unsigned int ncpus)
{
	uint64_t cfg;
	uint16_t len, count;
	const uint8_t *p;
	unsigned int cpus = 0, buses = 0, ioapics = 0, ints = 0, lints = 0;

	ck_assert_int_eq(mptable_write(&mem, ncpus), 0);

	/* Linux finds the EBDA via the BDA, then "_MP_" in its first KiB. */
	ck_assert_uint_eq(fx_rd(&mem, 0x40e, 2) << 4, LAYOUT_EBDA);
	ck_assert_mem_eq(gmem_ptr(&mem, LAYOUT_EBDA, 4), "_MP_", 4);
	ck_assert_uint_eq(fx_sum(&mem, LAYOUT_EBDA, 16), 0);
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_EBDA + 8, 1), 1);	/* length */
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_EBDA + 9, 1), 4);	/* spec */
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_EBDA + 11, 1), 0); /* no default */

	cfg = fx_rd(&mem, LAYOUT_EBDA + 4, 4);
	ck_assert_mem_eq(gmem_ptr(&mem, cfg, 4), "PCMP", 4);
	len = (uint16_t)fx_rd(&mem, cfg + 4, 2);
	ck_assert_uint_eq(len, 44 + 20 * ncpus + 8 + 8 + 18 * 8);
	ck_assert_uint_le(cfg + len, LAYOUT_ACPI_END);
	ck_assert_uint_ge(cfg, LAYOUT_ACPI);
	ck_assert_uint_eq(fx_sum(&mem, cfg, len), 0);
	ck_assert_uint_eq(fx_rd(&mem, cfg + 6, 1), 4);
	ck_assert_mem_eq(gmem_ptr(&mem, cfg + 8, 7), "KVMLITE", 7);
	ck_assert_uint_eq(fx_rd(&mem, cfg + 36, 4), LAYOUT_LAPIC);
	count = (uint16_t)fx_rd(&mem, cfg + 34, 2);

	p = gmem_ptr(&mem, cfg + 44, len - 44);
	for (unsigned int n = 0; n < count; n++) {
		switch (p[0]) {
		case 0:
			ck_assert_uint_eq(p[1], cpus); /* APIC id */
			ck_assert_uint_eq(p[2], 0x14);
			ck_assert_uint_eq(p[3], cpus == 0 ? 3 : 1);
			cpus++;
			p += 20;
			break;
		case 1:
			ck_assert_mem_eq(p + 2, "ISA   ", 6);
			buses++;
			p += 8;
			break;
		case 2:
			ck_assert_uint_eq(p[1], ncpus); /* no CPU has it */
			ck_assert_uint_eq(p[3], 1);
			ck_assert_uint_eq(p[4] | p[5] << 8 | p[6] << 16 |
						  (uint32_t)p[7] << 24,
					  LAYOUT_IOAPIC);
			ioapics++;
			p += 8;
			break;
		case 3:
			ck_assert_uint_eq(p[1], 0);    /* INT */
			ck_assert_uint_eq(p[5], ints); /* ISA IRQ n */
			ck_assert_uint_eq(p[6], ncpus);
			ck_assert_uint_eq(p[7], ints); /* -> pin n */
			ints++;
			p += 8;
			break;
		case 4:
			ck_assert_uint_eq(p[1], lints == 0 ? 3 : 1);
			ck_assert_uint_eq(p[6], 0xff);
			ck_assert_uint_eq(p[7], lints);
			lints++;
			p += 8;
			break;
		default:
			ck_abort_msg("unknown MP entry type %u", p[0]);
		}
	}
	ck_assert_uint_eq(cpus, ncpus);
	ck_assert_uint_eq(buses, 1);
	ck_assert_uint_eq(ioapics, 1);
	ck_assert_uint_eq(ints, 16);
	ck_assert_uint_eq(lints, 2);
}

START_TEST(test_mptable_sizes)
{
	check_mptable(1);
	check_mptable(2);
	check_mptable(64);
	check_mptable(255);
}
END_TEST

START_TEST(test_mptable_bad_ncpus)
{
	ck_assert_int_lt(mptable_write(&mem, 0), 0);
	ck_assert_int_lt(mptable_write(&mem, 256), 0);
}
END_TEST

/* Through x86_boot_prepare the MP table does not collide with ACPI. */
START_TEST(test_mptable_with_acpi)
{
	struct fx_bzimage o = fx_bzimage_default();
	struct boot_entry e;
	char err[256];
	size_t size;
	uint8_t *img;
	struct boot_args a;

	o.pref_address = 0;
	o.init_size = MiB(4);
	img = fx_bzimage_build(&o, &size);
	a = fx_args(img, size);
	a.ncpus = 255;
	ck_assert_int_eq(x86_boot_prepare(&mem, &a, &e, err, sizeof(err)), 0);
	ck_assert_uint_eq(fx_sum(&mem, LAYOUT_EBDA, 16), 0);
	ck_assert_uint_eq(fx_sum(&mem, MPTABLE_CONFIG_ADDR,
				 fx_rd(&mem, MPTABLE_CONFIG_ADDR + 4, 2)),
			  0);
	ck_assert_uint_eq(fx_sum(&mem, LAYOUT_ACPI, 36), 0);
	free(img);
}
END_TEST

static Suite *mptable_suite(void)
{
	Suite *s = suite_create("mptable");
	TCase *tc = tcase_create("mptable");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_mptable_sizes);
	tcase_add_test(tc, test_mptable_bad_ncpus);
	tcase_add_test(tc, test_mptable_with_acpi);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(mptable_suite());
}
