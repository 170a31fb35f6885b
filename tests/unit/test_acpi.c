/* ACPI tables (RSDP, XSDT, FADT, MADT, DSDT) and the AML writer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader_fixtures.h"
#include "unit.h"

static struct guest_mem mem;
static char err[256];

static void setup(void)
{
	fx_mem_init(&mem, MiB(64));
	err[0] = '\0';
}

static void teardown(void)
{
	guest_mem_free(&mem);
}

static const struct boot_mmio_dev devs[3] = {
	{ LAYOUT_VIRTIO_MMIO, 0x1000, 5 },
	{ LAYOUT_VIRTIO_MMIO + 0x1000, 0x1000, 6 },
	{ LAYOUT_VIRTIO_MMIO + 0x2000, 0x1000, 7 },
};

static const uint8_t *find(const uint8_t *hay, size_t n, const void *needle,
			   size_t len)
{
	for (size_t i = 0; i + len <= n; i++)
		if (!memcmp(hay + i, needle, len))
			return hay + i;
	return NULL;
}

/* Check a table's header and checksum; returns its length. */
static uint32_t check_table(uint64_t addr, const char *sig)
{
	uint32_t len = (uint32_t)fx_rd(&mem, addr + 4, 4);
	const uint8_t *t = gmem_ptr(&mem, addr, len);

	ck_assert_ptr_nonnull(t);
	ck_assert_mem_eq(t, sig, 4);
	ck_assert_uint_ge(addr, LAYOUT_ACPI);
	ck_assert_uint_le(addr + len, LAYOUT_ACPI_END);
	ck_assert_uint_eq(fx_sum(&mem, addr, len), 0);
	ck_assert_mem_eq(t + 10, "KVMLTE", 6);
	ck_assert_mem_eq(t + 16, "KVMLITE ", 8);
	ck_assert_mem_eq(t + 28, "KVML", 4);
	return len;
}

struct tables {
	uint64_t xsdt, fadt, madt, dsdt;
};

static void write_and_check(unsigned int ncpus, const struct boot_mmio_dev *d,
			    unsigned int nr, struct tables *t)
{
	uint64_t rsdp = 0;
	uint32_t xlen;

	ck_assert_int_eq(
		acpi_tables_write(&mem, ncpus, d, nr, &rsdp, err, sizeof(err)),
		0);
	ck_assert_uint_eq(rsdp, LAYOUT_ACPI);
	ck_assert_mem_eq(gmem_ptr(&mem, rsdp, 8), "RSD PTR ", 8);
	ck_assert_uint_eq(fx_sum(&mem, rsdp, 20), 0);
	ck_assert_uint_eq(fx_sum(&mem, rsdp, 36), 0);
	ck_assert_uint_eq(fx_rd(&mem, rsdp + 15, 1), 2);
	ck_assert_uint_eq(fx_rd(&mem, rsdp + 20, 4), 36);
	ck_assert_mem_eq(gmem_ptr(&mem, rsdp + 9, 6), "KVMLTE", 6);

	t->xsdt = fx_rd(&mem, rsdp + 24, 8);
	xlen = check_table(t->xsdt, "XSDT");
	ck_assert_uint_eq(xlen, 36 + 16);
	t->fadt = fx_rd(&mem, t->xsdt + 36, 8);
	t->madt = fx_rd(&mem, t->xsdt + 44, 8);
	ck_assert_uint_eq(check_table(t->fadt, "FACP"), 276);
	check_table(t->madt, "APIC");
	t->dsdt = fx_rd(&mem, t->fadt + 140, 8);
	ck_assert_uint_eq(fx_rd(&mem, t->fadt + 40, 4), t->dsdt);
	check_table(t->dsdt, "DSDT");
}

START_TEST(test_fadt)
{
	struct tables t;
	uint64_t f;

	write_and_check(1, NULL, 0, &t);
	f = t.fadt;
	ck_assert_uint_eq(fx_rd(&mem, f + 8, 1), 6); /* revision */
	ck_assert_uint_eq(fx_rd(&mem, f + 112, 4),
			  (1u << 20) | (1u << 4) | (1u << 5) | (1u << 10));
	/* RESET_REG_SUP: the reset register is the reset control port,
	 * SystemIO, 8 bits, byte access, and the value resets it. */
	ck_assert_uint_eq(fx_rd(&mem, f + 116, 1), 1);
	ck_assert_uint_eq(fx_rd(&mem, f + 117, 1), 8);
	ck_assert_uint_eq(fx_rd(&mem, f + 118, 1), 0);
	ck_assert_uint_eq(fx_rd(&mem, f + 119, 1), 1);
	ck_assert_uint_eq(fx_rd(&mem, f + 120, 8), PORT_RESET_CTL);
	ck_assert_uint_eq(fx_rd(&mem, f + 128, 1), 0x06);
	/* VGA not present, no 8042, MSI bit clear. */
	ck_assert_uint_eq(fx_rd(&mem, f + 109, 2), 1u << 2);
	/* Sleep control / status: SystemIO, 8 bits, byte access. */
	ck_assert_uint_eq(fx_rd(&mem, f + 244, 1), 1);
	ck_assert_uint_eq(fx_rd(&mem, f + 245, 1), 8);
	ck_assert_uint_eq(fx_rd(&mem, f + 246, 1), 0);
	ck_assert_uint_eq(fx_rd(&mem, f + 247, 1), 1);
	ck_assert_uint_eq(fx_rd(&mem, f + 248, 8), PORT_ACPI_SLEEP_CTL);
	ck_assert_uint_eq(fx_rd(&mem, f + 256, 1), 1);
	ck_assert_uint_eq(fx_rd(&mem, f + 257, 1), 8);
	ck_assert_uint_eq(fx_rd(&mem, f + 260, 8), PORT_ACPI_SLEEP_STS);
	ck_assert_mem_eq(gmem_ptr(&mem, f + 268, 8), "KVMLITE", 8);
	/* No fixed hardware blocks at all. */
	ck_assert_uint_eq(fx_rd(&mem, f + 56, 4), 0);
	ck_assert_uint_eq(fx_rd(&mem, f + 76, 4), 0);
	ck_assert_uint_eq(fx_rd(&mem, f + 46, 2), 0);
}
END_TEST

static void check_madt(unsigned int ncpus)
{
	struct tables t;
	uint32_t len;
	const uint8_t *p;

	write_and_check(ncpus, NULL, 0, &t);
	len = (uint32_t)fx_rd(&mem, t.madt + 4, 4);
	ck_assert_uint_eq(len, 44 + 8 * ncpus + 12);
	ck_assert_uint_eq(fx_rd(&mem, t.madt + 36, 4), LAYOUT_LAPIC);
	ck_assert_uint_eq(fx_rd(&mem, t.madt + 40, 4), 0);
	p = gmem_ptr(&mem, t.madt + 44, len - 44);
	for (unsigned int i = 0; i < ncpus; i++, p += 8) {
		ck_assert_uint_eq(p[0], 0);
		ck_assert_uint_eq(p[1], 8);
		ck_assert_uint_eq(p[2], i);
		ck_assert_uint_eq(p[3], i);
		ck_assert_uint_eq(p[4], 1);
	}
	ck_assert_uint_eq(p[0], 1);
	ck_assert_uint_eq(p[1], 12);
	ck_assert_uint_eq(p[2], ncpus);
	ck_assert_uint_eq(p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24,
			  LAYOUT_IOAPIC);
	ck_assert_uint_eq(p[8] | p[9] | p[10] | p[11], 0);
}

START_TEST(test_madt)
{
	check_madt(1);
	check_madt(4);
	check_madt(255);
}
END_TEST

START_TEST(test_dsdt)
{
	static const uint8_t s5[] = { 0x08, '_',  'S',	'5',  '_',  0x12, 0x07,
				      0x04, 0x0a, 0x05, 0x00, 0x00, 0x00 };
	static const uint8_t crs0[] = { 0x86, 0x09, 0x00, 0x01, 0x00, 0x00,
					0x00, 0xd0, 0x00, 0x10, 0x00, 0x00,
					0x89, 0x06, 0x00, 0x03, 0x01, 0x05,
					0x00, 0x00, 0x00, 0x79, 0x00 };
	struct tables t;
	uint32_t len;
	const uint8_t *d;

	write_and_check(2, devs, 3, &t);
	len = (uint32_t)fx_rd(&mem, t.dsdt + 4, 4);
	d = gmem_ptr(&mem, t.dsdt, len);
	ck_assert_ptr_nonnull(find(d, len, s5, sizeof(s5)));
	ck_assert_ptr_nonnull(find(d, len, "\\_SB_", 5));
	ck_assert_ptr_nonnull(find(d, len, "V000", 4));
	ck_assert_ptr_nonnull(find(d, len, "V001", 4));
	ck_assert_ptr_nonnull(find(d, len, "V002", 4));
	ck_assert_ptr_null(find(d, len, "V003", 4));
	ck_assert_ptr_nonnull(find(d, len, "LNRO0005", 9));
	ck_assert_ptr_nonnull(find(d, len, crs0, sizeof(crs0)));
}
END_TEST

START_TEST(test_mmio_validation)
{
	struct boot_mmio_dev bad = { GiB(5), 0x1000, 5 };
	uint64_t rsdp;

	ck_assert_int_eq(
		acpi_tables_write(&mem, 1, &bad, 1, &rsdp, err, sizeof(err)),
		-EINVAL);
	ck_assert(err[0]);
	bad.base = 0xfffff000;
	bad.size = 0x2000;
	ck_assert_int_eq(
		acpi_tables_write(&mem, 1, &bad, 1, &rsdp, err, sizeof(err)),
		-EINVAL);
	bad.size = 0x1000;
	ck_assert_int_eq(
		acpi_tables_write(&mem, 1, &bad, 1, &rsdp, err, sizeof(err)),
		0);
}
END_TEST

/* Many devices: the DSDT grows past one-byte PkgLengths; too many fail. */
START_TEST(test_many_devices)
{
	struct boot_mmio_dev *d = calloc(5000, sizeof(*d));
	struct tables t;
	uint64_t rsdp;
	uint32_t len;

	for (unsigned int i = 0; i < 5000; i++)
		d[i] = (struct boot_mmio_dev){
			LAYOUT_VIRTIO_MMIO + i * 0x200ULL, 0x200, 5 + i % 20
		};
	write_and_check(8, d, 300, &t);
	len = (uint32_t)fx_rd(&mem, t.dsdt + 4, 4);
	ck_assert_ptr_nonnull(
		find(gmem_ptr(&mem, t.dsdt, len), len, "V12B", 4));
	ck_assert_int_eq(
		acpi_tables_write(&mem, 255, d, 4096, &rsdp, err, sizeof(err)),
		-E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "ACPI"));
	ck_assert_int_eq(
		acpi_tables_write(&mem, 255, d, 5000, &rsdp, err, sizeof(err)),
		-E2BIG);
	free(d);
}
END_TEST

START_TEST(test_aml_pkg_length)
{
	uint8_t buf[0x20000];
	struct aml_buf b;
	size_t mark;

	/* 1 byte: body + 1 < 0x40. */
	aml_init(&b, buf, sizeof(buf));
	mark = aml_package_open(&b, 0);
	aml_close(&b, mark);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_uint_eq(buf[0], 0x12);
	ck_assert_uint_eq(buf[1], 0x02);

	/* 2 bytes: 0x3f body bytes + 2 = 0x41. */
	aml_init(&b, buf, sizeof(buf));
	mark = aml_buffer_open(&b, 0x3e);
	for (int i = 0; i < 0x3e - 1; i++)
		aml_byte(&b, 0xaa);
	aml_close(&b, mark);
	/* body = BytePrefix, 0x3e, 0x3d bytes = 0x3f; total 0x41 */
	ck_assert_uint_eq(buf[1], 0x40 | 0x01);
	ck_assert_uint_eq(buf[2], 0x04);
	ck_assert_uint_eq(b.len, 1 + 2 + 0x3f);

	/* 3 bytes: total 0x1003. */
	aml_init(&b, buf, sizeof(buf));
	mark = aml_scope_open(&b, "\\_SB_");
	for (int i = 0; i < 0x1000 - 5; i++)
		aml_byte(&b, 0);
	aml_close(&b, mark);
	ck_assert_uint_eq(buf[1], 0x80 | 0x03);
	ck_assert_uint_eq(buf[2], 0x00);
	ck_assert_uint_eq(buf[3], 0x01);

	/* Overflow is sticky and reported. */
	aml_init(&b, buf, 4);
	aml_string(&b, "LNRO0005");
	ck_assert(b.overflow);
}
END_TEST

START_TEST(test_aml_integers_names)
{
	uint8_t buf[64];
	struct aml_buf b;

	aml_init(&b, buf, sizeof(buf));
	aml_integer(&b, 0);
	aml_integer(&b, 1);
	aml_integer(&b, 0x80);
	aml_integer(&b, 0x1234);
	aml_integer(&b, 0xd0000000);
	aml_integer(&b, 0x100000000ULL);
	static const uint8_t want[] = { 0x00, 0x01, 0x0a, 0x80, 0x0b, 0x34,
					0x12, 0x0c, 0x00, 0x00, 0x00, 0xd0,
					0x0e, 0,    0,	  0,	0,    1,
					0,    0,    0 };
	ck_assert_uint_eq(b.len, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));

	aml_init(&b, buf, sizeof(buf));
	aml_name(&b, "\\_SB_V000");
	ck_assert_uint_eq(b.len, 10);
	ck_assert_mem_eq(buf, "\\\x2e_SB_V000", 10);
	ck_assert(!b.overflow);
	aml_name(&b, "BAD");
	ck_assert(b.overflow);
}
END_TEST

/* ACPICA's own disassembler must accept the DSDT (tools/setup.sh installs
 * acpica-tools; without it this test fails rather than pass unchecked). */
START_TEST(test_dsdt_iasl)
{
	char dir[] = "/tmp/kvmlite-acpi-XXXXXX";
	char path[128], cmd[1024];
	struct tables t;
	uint32_t len;
	FILE *f;
	int rc;

	ck_assert_msg(system("command -v iasl >/dev/null 2>&1") == 0,
		      "iasl not found: apt-get install acpica-tools");
	write_and_check(2, devs, 3, &t);
	len = (uint32_t)fx_rd(&mem, t.dsdt + 4, 4);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(gmem_ptr(&mem, t.dsdt, len), 1, len, f), len);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && iasl -d dsdt.dat >log 2>&1 && "
		 "grep -q 'LNRO0005' dsdt.dsl && grep -q '_S5_' dsdt.dsl && "
		 "grep -q 'Memory32Fixed (ReadWrite,' dsdt.dsl && "
		 "grep -q 0xD0002000 dsdt.dsl && "
		 "grep -q 'EisaId (\"PNP0C0C\")' dsdt.dsl && "
		 "grep -q '\"ACPI0013\"' dsdt.dsl && "
		 "grep -q 'Method (_EVT, 1' dsdt.dsl && "
		 "grep -qF 'Notify (\\_SB.PWRB, 0x80)' dsdt.dsl && "
		 "grep -qx ' *0x00000003,' dsdt.dsl && "
		 "! grep -qi 'error' log",
		 dir);
	rc = system(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(rc == 0, "iasl -d did not accept the DSDT");
}
END_TEST

static Suite *acpi_suite(void)
{
	Suite *s = suite_create("acpi");
	TCase *tc = tcase_create("tables");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fadt);
	tcase_add_test(tc, test_madt);
	tcase_add_test(tc, test_dsdt);
	tcase_add_test(tc, test_mmio_validation);
	tcase_add_test(tc, test_many_devices);
	tcase_add_test(tc, test_aml_pkg_length);
	tcase_add_test(tc, test_aml_integers_names);
	tcase_add_test(tc, test_dsdt_iasl);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(acpi_suite());
}
