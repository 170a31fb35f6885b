/* Kernel loading, zero page, PVH start_info, e820, initrd and errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader_fixtures.h"
#include "unit.h"

static struct guest_mem mem;
static char err[256];

static void setup_64m(void)
{
	fx_mem_init(&mem, MiB(64));
	memset(err, 0, sizeof(err));
}

static void teardown(void)
{
	guest_mem_free(&mem);
}

static struct boot_params *zero_page(void)
{
	struct boot_params *bp =
		gmem_ptr(&mem, LAYOUT_BOOT_PARAMS, sizeof(*bp));

	ck_assert_ptr_nonnull(bp);
	return bp;
}

/* A failure returns rc and exactly one non-empty line. */
static void expect_fail(const struct boot_args *a, int rc)
{
	struct boot_entry e;
	int ret;

	err[0] = '\0';
	ret = x86_boot_prepare(&mem, a, &e, err, sizeof(err));
	ck_assert_msg(ret == rc, "got %d (%s), want %d", ret, err, rc);
	ck_assert_msg(err[0] != '\0', "empty error message");
	ck_assert_ptr_null(strchr(err, '\n'));
}

static void expect_bz_fail(const struct fx_bzimage *o, int rc)
{
	size_t size;
	uint8_t *img = fx_bzimage_build(o, &size);
	struct boot_args a = fx_args(img, size);

	expect_fail(&a, rc);
	free(img);
}

static void expect_elf_fail(uint8_t *img, size_t size, int rc)
{
	struct boot_args a = fx_args(img, size);

	expect_fail(&a, rc);
}

START_TEST(test_bzimage_loads)
{
	struct fx_bzimage o = fx_bzimage_default();
	static const uint8_t initrd[10000] = { 1, 2, 3 };
	struct boot_entry e;
	struct boot_params *bp;
	size_t size;
	uint8_t *img = fx_bzimage_build(&o, &size);
	struct boot_args a = fx_args(img, size);
	const uint8_t *k;
	uint64_t rd;

	a.initrd = initrd;
	a.initrd_size = sizeof(initrd);
	ck_assert_int_eq(x86_boot_prepare(&mem, &a, &e, err, sizeof(err)), 0);
	ck_assert_int_eq(e.proto, BOOT_PROTO_LINUX64);
	ck_assert(e.linux_kernel); /* every bzImage is */
	ck_assert_uint_eq(e.entry, LAYOUT_KERNEL + 0x200);
	ck_assert_uint_eq(e.boot_param, LAYOUT_BOOT_PARAMS);
	ck_assert_uint_eq(e.cr3, LAYOUT_PML4);
	ck_assert_uint_eq(e.gdt_base, LAYOUT_GDT);
	ck_assert_uint_eq(e.gdt_limit, 5 * 8 - 1);

	k = gmem_ptr(&mem, LAYOUT_KERNEL, o.payload_size);
	for (size_t i = 0; i < o.payload_size; i++)
		ck_assert_uint_eq(k[i], fx_pattern(i));

	bp = zero_page();
	ck_assert_uint_eq(bp->hdr.boot_flag, 0xaa55);
	ck_assert_uint_eq(bp->hdr.header, 0x53726448);
	ck_assert_uint_eq(bp->hdr.version, 0x020f);
	ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	ck_assert_uint_eq(bp->hdr.heap_end_ptr, 0xfe00);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	ck_assert_uint_eq(bp->ext_cmd_line_ptr, 0);
	ck_assert_uint_eq(bp->hdr.init_size, o.init_size);
	ck_assert_uint_eq(bp->acpi_rsdp_addr, LAYOUT_ACPI);
	ck_assert_uint_eq(bp->sentinel, 0);
	/* Nothing past the header end is copied. */
	ck_assert_uint_eq(((uint8_t *)bp)[0x290], 0);
	ck_assert_str_eq((const char *)gmem_ptr(&mem, LAYOUT_CMDLINE, 1),
			 a.cmdline);

	/* initrd: highest 4 KiB-aligned spot in RAM. */
	rd = bp->hdr.ramdisk_image;
	ck_assert_uint_eq(bp->hdr.ramdisk_size, sizeof(initrd));
	ck_assert_uint_eq(bp->ext_ramdisk_image, 0);
	ck_assert_uint_eq(rd % 4096, 0);
	ck_assert_uint_eq(rd, (MiB(64) - sizeof(initrd)) & ~0xfffULL);
	ck_assert_mem_eq(gmem_ptr(&mem, rd, sizeof(initrd)), initrd,
			 sizeof(initrd));
	free(img);
}
END_TEST

START_TEST(test_bzimage_e820_small)
{
	struct fx_bzimage o = fx_bzimage_default();
	struct boot_entry e;
	struct boot_params *bp;
	size_t size;
	uint8_t *img = fx_bzimage_build(&o, &size);
	struct boot_args a = fx_args(img, size);

	ck_assert_int_eq(x86_boot_prepare(&mem, &a, &e, err, sizeof(err)), 0);
	bp = zero_page();
	ck_assert_uint_eq(bp->e820_entries, 4);
	ck_assert_uint_eq(bp->e820_table[0].addr, 0);
	ck_assert_uint_eq(bp->e820_table[0].size, LAYOUT_EBDA);
	ck_assert_uint_eq(bp->e820_table[0].type, 1);
	ck_assert_uint_eq(bp->e820_table[1].addr, LAYOUT_EBDA);
	ck_assert_uint_eq(bp->e820_table[1].size,
			  LAYOUT_LOWMEM_END - LAYOUT_EBDA);
	ck_assert_uint_eq(bp->e820_table[1].type, 2);
	ck_assert_uint_eq(bp->e820_table[2].addr, LAYOUT_ACPI);
	ck_assert_uint_eq(bp->e820_table[2].size, MiB(1) - LAYOUT_ACPI);
	ck_assert_uint_eq(bp->e820_table[2].type, 2);
	ck_assert_uint_eq(bp->e820_table[3].addr, MiB(1));
	ck_assert_uint_eq(bp->e820_table[3].size, MiB(63));
	ck_assert_uint_eq(bp->e820_table[3].type, 1);
	free(img);
}
END_TEST

/* e820_build only reads the region list, so a fake big guest is enough. */
START_TEST(test_e820_above_4g)
{
	struct guest_mem big = {
		.regions = { { 0, GiB(3), NULL }, { GiB(4), GiB(5), NULL } },
		.nr_regions = 2,
		.size = GiB(8),
	};
	struct e820_map map;

	ck_assert_int_eq(e820_build(&big, &map), 0);
	ck_assert_uint_eq(map.nr, 5);
	ck_assert_uint_eq(map.e[3].addr, MiB(1));
	ck_assert_uint_eq(map.e[3].size, GiB(3) - MiB(1));
	ck_assert_uint_eq(map.e[3].type, 1);
	ck_assert_uint_eq(map.e[4].addr, GiB(4));
	ck_assert_uint_eq(map.e[4].size, GiB(5));
	ck_assert_uint_eq(map.e[4].type, 1);
	/* Nothing inside the MMIO hole. */
	for (unsigned int i = 0; i < map.nr; i++)
		ck_assert(map.e[i].addr + map.e[i].size <= GiB(3) ||
			  map.e[i].addr >= GiB(4));
}
END_TEST

/* A real >3 GiB guest (sparse memfd): the zero page shows the high RAM. */
START_TEST(test_bzimage_e820_big_guest)
{
	struct fx_bzimage o = fx_bzimage_default();
	static const uint8_t initrd[4096] = { 9 };
	struct guest_mem big;
	struct boot_entry e;
	struct boot_params *bp;
	size_t size;
	uint8_t *img = fx_bzimage_build(&o, &size);
	struct boot_args a = fx_args(img, size);

	a.initrd = initrd;
	a.initrd_size = sizeof(initrd);
	fx_mem_init(&big, GiB(4) + MiB(512));
	ck_assert_int_eq(x86_boot_prepare(&big, &a, &e, err, sizeof(err)), 0);
	bp = gmem_ptr(&big, LAYOUT_BOOT_PARAMS, sizeof(*bp));
	ck_assert_uint_eq(bp->e820_entries, 5);
	ck_assert_uint_eq(bp->e820_table[3].size, GiB(3) - MiB(1));
	ck_assert_uint_eq(bp->e820_table[4].addr, GiB(4));
	ck_assert_uint_eq(bp->e820_table[4].size, GiB(1) + MiB(512));
	/* initrd_addr_max 0x7fffffff caps the initrd below 2 GiB. */
	ck_assert_uint_eq(bp->hdr.ramdisk_image, GiB(2) - 4096);
	guest_mem_free(&big);
	free(img);
}
END_TEST

START_TEST(test_initrd_place)
{
	uint64_t addr;

	/* Highest, 4 KiB aligned, below max_addr + 1. */
	ck_assert_int_eq(initrd_place(MiB(64), MiB(10), 0x37ffffff, 5000, &addr,
				      err, sizeof(err)),
			 0);
	ck_assert_uint_eq(addr, (MiB(64) - 5000) & ~0xfffULL);
	ck_assert_int_eq(initrd_place(GiB(3), MiB(10), 0x37ffffff, 5000, &addr,
				      err, sizeof(err)),
			 0);
	ck_assert_uint_eq(addr, (0x38000000ULL - 5000) & ~0xfffULL);
	ck_assert_uint_le(addr + 5000, 0x38000000ULL);
	/* Exactly fits between floor and ceiling. */
	ck_assert_int_eq(initrd_place(MiB(64), MiB(60), UINT64_MAX, MiB(4),
				      &addr, err, sizeof(err)),
			 0);
	ck_assert_uint_eq(addr, MiB(60));
	ck_assert_int_eq(initrd_place(MiB(64), MiB(60), UINT64_MAX, MiB(4) + 1,
				      &addr, err, sizeof(err)),
			 -E2BIG);
	ck_assert_int_eq(initrd_place(MiB(64), 0, UINT64_MAX, UINT64_MAX, &addr,
				      err, sizeof(err)),
			 -E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "initrd"));
}
END_TEST

START_TEST(test_initrd_too_big)
{
	struct fx_bzimage o = fx_bzimage_default();
	size_t size, rd_size = MiB(64) - MiB(20);
	uint8_t *img = fx_bzimage_build(&o, &size);
	uint8_t *rd = calloc(1, rd_size);
	struct boot_args a = fx_args(img, size);

	/* The kernel claims up to 16 MiB + 8 MiB init_size. */
	a.initrd = rd;
	a.initrd_size = rd_size;
	expect_fail(&a, -E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "initrd"));
	free(rd);
	free(img);
}
END_TEST

START_TEST(test_cmdline_limits)
{
	struct fx_bzimage o = fx_bzimage_default();
	struct boot_entry e;
	size_t size;
	uint8_t *img;
	struct boot_args a;
	char *line = malloc(LAYOUT_CMDLINE_MAX + 10);

	o.cmdline_size = 16;
	img = fx_bzimage_build(&o, &size);
	a = fx_args(img, size);
	memset(line, 'x', 16);
	line[16] = '\0';
	a.cmdline = line;
	ck_assert_int_eq(x86_boot_prepare(&mem, &a, &e, err, sizeof(err)), 0);
	ck_assert_str_eq(gmem_ptr(&mem, LAYOUT_CMDLINE, 17), line);
	line[16] = 'x';
	line[17] = '\0';
	expect_fail(&a, -E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "command line"));
	free(img);

	/* Beyond our own buffer even when the kernel would take it. */
	o.cmdline_size = 0xffffffff;
	img = fx_bzimage_build(&o, &size);
	a = fx_args(img, size);
	memset(line, 'y', LAYOUT_CMDLINE_MAX + 9);
	line[LAYOUT_CMDLINE_MAX + 9] = '\0';
	a.cmdline = line;
	expect_fail(&a, -E2BIG);
	line[LAYOUT_CMDLINE_MAX - 1] = '\0';
	ck_assert_int_eq(x86_boot_prepare(&mem, &a, &e, err, sizeof(err)), 0);
	free(img);
	free(line);
}
END_TEST

START_TEST(test_bzimage_errors)
{
	struct fx_bzimage o;
	uint8_t junk[4096];
	struct boot_args a;
	size_t size;
	uint8_t *img;

	/* Bad magic and tiny files. */
	memset(junk, 0x5a, sizeof(junk));
	a = fx_args(junk, sizeof(junk));
	expect_fail(&a, -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "bad magic"));
	a = fx_args(junk, 10);
	expect_fail(&a, -ENOEXEC);
	a = fx_args(junk, 0);
	expect_fail(&a, -ENOEXEC);

	/* Truncated setup: header claims 30 sectors, file is 1200 bytes. */
	o = fx_bzimage_default();
	o.setup_sects = 30;
	img = fx_bzimage_build(&o, &size);
	a = fx_args(img, 1200);
	expect_fail(&a, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "15872"));
	free(img);

	/* setup_sects 255 in a file that ends right after the header. */
	o = fx_bzimage_default();
	img = fx_bzimage_build(&o, &size);
	img[0x1f1] = 255;
	a = fx_args(img, size);
	expect_fail(&a, -EINVAL);
	/* Header end (jump target) beyond the file. */
	img[0x1f1] = 4;
	a = fx_args(img, 0x220);
	expect_fail(&a, -EINVAL);
	/* No protected-mode kernel at all, or less than syssize says. */
	a = fx_args(img, 5 * 512);
	expect_fail(&a, -EINVAL);
	a = fx_args(img, size - 16);
	expect_fail(&a, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
	free(img);

	o = fx_bzimage_default();
	o.version = 0x0205;
	expect_bz_fail(&o, -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "2.05"));
	o.version = 0x020a;
	expect_bz_fail(&o, -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "2.12"));

	o = fx_bzimage_default();
	o.xloadflags = 0;
	expect_bz_fail(&o, -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "64-bit"));

	o = fx_bzimage_default();
	o.loadflags = 0;
	expect_bz_fail(&o, -ENOEXEC);

	/* Too big for 64 MiB: init_size, pref_address, pref_address wrap. */
	o = fx_bzimage_default();
	o.init_size = 0xf0000000;
	expect_bz_fail(&o, -E2BIG);
	o = fx_bzimage_default();
	o.pref_address = GiB(2);
	expect_bz_fail(&o, -E2BIG);
	o = fx_bzimage_default();
	o.pref_address = UINT64_MAX - 10;
	expect_bz_fail(&o, -E2BIG);
	o = fx_bzimage_default();
	o.pref_address = 0;
	o.init_size = 0;
	o.payload_size = MiB(64);
	expect_bz_fail(&o, -E2BIG);
}
END_TEST

START_TEST(test_bad_args)
{
	struct fx_bzimage o = fx_bzimage_default();
	size_t size;
	uint8_t *img = fx_bzimage_build(&o, &size);
	struct boot_args a = fx_args(img, size);

	a.ncpus = 0;
	expect_fail(&a, -EINVAL);
	a.ncpus = 256;
	expect_fail(&a, -EINVAL);
	a.ncpus = 255;
	a.cmdline = NULL;
	expect_fail(&a, -EINVAL);
	free(img);
}
END_TEST

START_TEST(test_elf_linux64)
{
	struct fx_elf o = fx_elf_default();
	static const uint8_t initrd[5000] = { 7 };
	struct boot_entry e;
	struct boot_params *bp;
	size_t size;
	uint8_t *img;
	struct boot_args a;
	const uint8_t *k;

	o.bss_paddr = FX_ELF_PADDR + MiB(2);
	o.bss_size = MiB(1);
	img = fx_elf_build(&o, &size);
	a = fx_args(img, size);
	a.initrd = initrd;
	a.initrd_size = sizeof(initrd);
	/* Dirty the bss so the test sees it zeroed. */
	gmem_fill(&mem, FX_ELF_PADDR, 0xcc, MiB(4));
	ck_assert_int_eq(x86_boot_prepare(&mem, &a, &e, err, sizeof(err)), 0);
	ck_assert_int_eq(e.proto, BOOT_PROTO_LINUX64);
	/* Virtual e_entry converted through the first PT_LOAD. */
	ck_assert_uint_eq(e.entry, FX_ELF_PADDR + 0x10);
	ck_assert_uint_eq(e.boot_param, LAYOUT_BOOT_PARAMS);

	k = gmem_ptr(&mem, FX_ELF_PADDR, o.memsz);
	for (size_t i = 0; i < o.filesz; i++)
		ck_assert_uint_eq(k[i], fx_pattern(i));
	for (size_t i = o.filesz; i < o.memsz; i++)
		ck_assert_uint_eq(k[i], 0);
	k = gmem_ptr(&mem, o.bss_paddr, o.bss_size);
	for (size_t i = 0; i < o.bss_size; i++)
		ck_assert_uint_eq(k[i], 0);

	bp = zero_page();
	ck_assert_uint_eq(bp->hdr.boot_flag, 0xaa55);
	ck_assert_uint_eq(bp->hdr.header, 0x53726448);
	ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	ck_assert_uint_eq(bp->acpi_rsdp_addr, LAYOUT_ACPI);
	ck_assert_uint_eq(bp->e820_entries, 4);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, sizeof(initrd));
	ck_assert_uint_eq(bp->hdr.ramdisk_image,
			  (MiB(64) - sizeof(initrd)) & ~0xfffULL);
	free(img);
}
END_TEST

/* Resident pages of this process, from /proc/self/statm. */
static long resident_pages(void)
{
	long size = 0, res = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &size, &res), 2);
	fclose(f);
	return res;
}

/* Zero pages of an image (half of Debian's vmlinux, its .bss) are not
 * written to fresh guest RAM: 40 MiB of zeros load without 40 MiB of it
 * becoming resident. Page tables, boot tables and the one data page may
 * each bring a 2 MiB huge page in. */
START_TEST(test_elf_zero_pages_untouched)
{
	struct fx_elf o = fx_elf_default();
	struct boot_entry e;
	size_t size;
	uint8_t *img;
	struct boot_args a;
	const uint8_t *k;
	long before, grew;
	size_t i;

	o.filesz = MiB(24);
	o.memsz = MiB(24);
	o.bss_paddr = FX_ELF_PADDR + MiB(24);
	o.bss_size = MiB(16);
	img = fx_elf_build(&o, &size);
	/* One page of data, then zeros. */
	memset(img + FX_ELF_DATA_OFF + 4096, 0, o.filesz - 4096);
	a = fx_args(img, size);
	before = resident_pages();
	ck_assert_int_eq(x86_boot_prepare(&mem, &a, &e, err, sizeof(err)), 0);
	grew = (resident_pages() - before) * 4096;
	ck_assert_msg(grew < (long)MiB(12), "RSS grew by %ld KiB", grew >> 10);
	k = gmem_ptr(&mem, FX_ELF_PADDR, MiB(40));
	ck_assert_ptr_nonnull(k);
	for (i = 0; i < 4096; i++)
		ck_assert_uint_eq(k[i], fx_pattern(i));
	for (i = 4096; i < MiB(40) && !k[i]; i++)
		;
	ck_assert_msg(i == MiB(40), "byte at +0x%zx is not zero", i);
	free(img);
}
END_TEST

START_TEST(test_elf_physical_entry)
{
	struct fx_elf o = fx_elf_default();
	struct boot_entry e;
	size_t size;
	uint8_t *img;
	struct boot_args a;

	o.entry = FX_ELF_PADDR + 0x20;
	img = fx_elf_build(&o, &size);
	a = fx_args(img, size);
	ck_assert_int_eq(x86_boot_prepare(&mem, &a, &e, err, sizeof(err)), 0);
	ck_assert_uint_eq(e.entry, FX_ELF_PADDR + 0x20);
	free(img);

	o.entry = 0x1234;
	img = fx_elf_build(&o, &size);
	expect_elf_fail(img, size, -EINVAL);
	free(img);
}
END_TEST

static void check_pvh(uint32_t descsz)
{
	struct fx_elf o = fx_elf_default();
	static const uint8_t initrd[3000] = { 5 };
	const struct hvm_start_info *si;
	const struct hvm_modlist_entry *mod;
	const struct hvm_memmap_table_entry *mm;
	struct boot_entry e;
	size_t size;
	uint8_t *img;
	struct boot_args a;

	o.pvh = true;
	o.pvh_descsz = descsz;
	img = fx_elf_build(&o, &size);
	a = fx_args(img, size);
	a.initrd = initrd;
	a.initrd_size = sizeof(initrd);
	ck_assert_int_eq(x86_boot_prepare(&mem, &a, &e, err, sizeof(err)), 0);
	ck_assert_int_eq(e.proto, BOOT_PROTO_PVH);
	ck_assert_uint_eq(e.entry, o.pvh_entry);
	ck_assert_uint_eq(e.boot_param, LAYOUT_BOOT_PARAMS);

	si = gmem_ptr(&mem, LAYOUT_BOOT_PARAMS, sizeof(*si));
	ck_assert_uint_eq(si->magic, 0x336ec578);
	ck_assert_uint_eq(si->version, 1);
	ck_assert_uint_eq(si->flags, 0);
	ck_assert_uint_eq(si->cmdline_paddr, LAYOUT_CMDLINE);
	ck_assert_uint_eq(si->rsdp_paddr, LAYOUT_ACPI);
	ck_assert_uint_eq(si->memmap_paddr, LAYOUT_PVH_MEMMAP);
	ck_assert_uint_eq(si->memmap_entries, 4);
	ck_assert_uint_eq(si->nr_modules, 1);
	mod = gmem_ptr(&mem, si->modlist_paddr, sizeof(*mod));
	ck_assert_ptr_nonnull(mod);
	ck_assert_uint_eq(mod->size, sizeof(initrd));
	ck_assert_uint_eq(mod->paddr, (MiB(64) - sizeof(initrd)) & ~0xfffULL);
	ck_assert_uint_eq(mod->cmdline_paddr, 0);
	ck_assert_mem_eq(gmem_ptr(&mem, mod->paddr, sizeof(initrd)), initrd,
			 sizeof(initrd));

	mm = gmem_ptr(&mem, LAYOUT_PVH_MEMMAP, 4 * sizeof(*mm));
	ck_assert_uint_eq(mm[0].addr, 0);
	ck_assert_uint_eq(mm[0].size, LAYOUT_EBDA);
	ck_assert_uint_eq(mm[0].type, 1);
	ck_assert_uint_eq(mm[1].type, 2);
	ck_assert_uint_eq(mm[2].addr, LAYOUT_ACPI);
	ck_assert_uint_eq(mm[2].type, 2);
	ck_assert_uint_eq(mm[3].addr, MiB(1));
	ck_assert_uint_eq(mm[3].size, MiB(63));
	ck_assert_uint_eq(mm[3].type, 1);
	free(img);
}

START_TEST(test_elf_pvh)
{
	check_pvh(8);
	check_pvh(4);
}
END_TEST

START_TEST(test_elf_pvh_no_initrd)
{
	struct fx_elf o = fx_elf_default();
	const struct hvm_start_info *si;
	struct boot_entry e;
	size_t size;
	uint8_t *img;
	struct boot_args a;

	o.pvh = true;
	img = fx_elf_build(&o, &size);
	a = fx_args(img, size);
	ck_assert_int_eq(x86_boot_prepare(&mem, &a, &e, err, sizeof(err)), 0);
	si = gmem_ptr(&mem, LAYOUT_BOOT_PARAMS, sizeof(*si));
	ck_assert_uint_eq(si->nr_modules, 0);
	ck_assert_uint_eq(si->modlist_paddr, 0);
	free(img);
}
END_TEST

START_TEST(test_elf_errors)
{
	struct fx_elf o = fx_elf_default();
	size_t size;
	uint8_t *img = fx_elf_build(&o, &size);
	uint8_t *bad = malloc(size);

#define RESET() memcpy(bad, img, size)
	RESET();
	bad[EI_CLASS] = ELFCLASS32;
	expect_elf_fail(bad, size, -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "ELFCLASS64"));

	RESET();
	bad[EI_DATA] = ELFDATA2MSB;
	expect_elf_fail(bad, size, -ENOEXEC);

	RESET();
	fx_elf_ehdr(bad)->e_machine = EM_386;
	expect_elf_fail(bad, size, -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "x86-64"));

	RESET();
	fx_elf_ehdr(bad)->e_type = ET_REL;
	expect_elf_fail(bad, size, -ENOEXEC);

	RESET();
	expect_elf_fail(bad, 40, -EINVAL); /* header truncated */

	RESET();
	fx_elf_ehdr(bad)->e_phnum = 0;
	expect_elf_fail(bad, size, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no program headers"));

	RESET();
	fx_elf_ehdr(bad)->e_phentsize = 32;
	expect_elf_fail(bad, size, -EINVAL);

	/* Program header table out of the file, and wrapping around. */
	RESET();
	fx_elf_ehdr(bad)->e_phoff = size - 20;
	expect_elf_fail(bad, size, -EINVAL);
	RESET();
	fx_elf_ehdr(bad)->e_phoff = UINT64_MAX - 8;
	expect_elf_fail(bad, size, -EINVAL);
	RESET();
	fx_elf_ehdr(bad)->e_phnum = 0xfffe;
	expect_elf_fail(bad, size, -EINVAL);

	/* Segment data past the end, and p_offset + p_filesz overflow. */
	RESET();
	fx_elf_phdr(bad, 0)->p_filesz = size;
	fx_elf_phdr(bad, 0)->p_memsz = size;
	expect_elf_fail(bad, size, -EINVAL);
	RESET();
	fx_elf_phdr(bad, 0)->p_offset = UINT64_MAX - 100;
	expect_elf_fail(bad, size, -EINVAL);
	RESET();
	fx_elf_phdr(bad, 0)->p_filesz = UINT64_MAX - 0x100;
	fx_elf_phdr(bad, 0)->p_memsz = UINT64_MAX;
	expect_elf_fail(bad, size, -EINVAL);

	RESET();
	fx_elf_phdr(bad, 0)->p_memsz = 100;
	expect_elf_fail(bad, size, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "exceeds memory size"));

	/* Outside RAM, wrapping, and over the boot tables below 1 MiB. */
	RESET();
	fx_elf_phdr(bad, 0)->p_paddr = MiB(63);
	fx_elf_phdr(bad, 0)->p_memsz = MiB(2);
	expect_elf_fail(bad, size, -E2BIG);
	RESET();
	fx_elf_phdr(bad, 0)->p_paddr = GiB(5);
	expect_elf_fail(bad, size, -E2BIG);
	RESET();
	fx_elf_phdr(bad, 0)->p_paddr = UINT64_MAX - 10;
	expect_elf_fail(bad, size, -E2BIG);
	RESET();
	fx_elf_phdr(bad, 0)->p_paddr = 0x7000;
	expect_elf_fail(bad, size, -EINVAL);

	/* No PT_LOAD at all. */
	RESET();
	fx_elf_phdr(bad, 0)->p_type = PT_NULL;
	expect_elf_fail(bad, size, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "PT_LOAD"));

	free(bad);
	free(img);
#undef RESET
}
END_TEST

START_TEST(test_elf_note_errors)
{
	struct fx_elf o = fx_elf_default();
	size_t size;
	uint8_t *img;
	Elf64_Nhdr nh;

	o.pvh = true;
	/* PVH entry outside the loaded image. */
	o.pvh_entry = MiB(40);
	img = fx_elf_build(&o, &size);
	expect_elf_fail(img, size, -EINVAL);
	free(img);

	/* Odd descriptor size. */
	o = fx_elf_default();
	o.pvh = true;
	o.pvh_descsz = 2;
	img = fx_elf_build(&o, &size);
	expect_elf_fail(img, size, -EINVAL);
	free(img);

	/* Note sizes that run past the segment or wrap. */
	o = fx_elf_default();
	o.pvh = true;
	img = fx_elf_build(&o, &size);
	memcpy(&nh, img + FX_ELF_NOTE_OFF, sizeof(nh));
	nh.n_descsz = 0xffffffff;
	memcpy(img + FX_ELF_NOTE_OFF, &nh, sizeof(nh));
	expect_elf_fail(img, size, -EINVAL);
	nh.n_descsz = 8;
	nh.n_namesz = 0xfffffffd;
	memcpy(img + FX_ELF_NOTE_OFF, &nh, sizeof(nh));
	expect_elf_fail(img, size, -EINVAL);
	/* PT_NOTE itself out of the file. */
	nh.n_namesz = 4;
	memcpy(img + FX_ELF_NOTE_OFF, &nh, sizeof(nh));
	fx_elf_phdr(img, 2)->p_offset = size;
	expect_elf_fail(img, size, -EINVAL);
	free(img);
}
END_TEST

/* Every prefix of a valid image must fail cleanly, never crash. */
START_TEST(test_truncations)
{
	struct fx_bzimage bo = fx_bzimage_default();
	struct fx_elf eo = fx_elf_default();
	struct boot_entry e;
	size_t bsize, esize;
	uint8_t *bz, *elf;
	int ret;

	eo.pvh = true;
	bo.payload_size = 64;
	bz = fx_bzimage_build(&bo, &bsize);
	elf = fx_elf_build(&eo, &esize);
	for (size_t n = 0; n < bsize; n += 7) {
		uint8_t *copy = malloc(n ? n : 1);
		struct boot_args a = fx_args(copy, n);

		memcpy(copy, bz, n);
		ret = x86_boot_prepare(&mem, &a, &e, err, sizeof(err));
		ck_assert_int_lt(ret, 0);
		free(copy);
	}
	for (size_t n = 0; n < esize; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		struct boot_args a = fx_args(copy, n);

		memcpy(copy, elf, n);
		ret = x86_boot_prepare(&mem, &a, &e, err, sizeof(err));
		ck_assert_int_lt(ret, 0);
		ck_assert(err[0]);
		free(copy);
	}
	free(bz);
	free(elf);
}
END_TEST

START_TEST(test_gdt_and_page_tables)
{
	struct fx_bzimage o = fx_bzimage_default();
	struct boot_entry e;
	size_t size;
	uint8_t *img = fx_bzimage_build(&o, &size);
	struct boot_args a = fx_args(img, size);

	ck_assert_int_eq(x86_boot_prepare(&mem, &a, &e, err, sizeof(err)), 0);
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_GDT, 8), 0);
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_GDT + 8, 8), 0);
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_GDT + BOOT_SEL_CODE64, 8),
			  0x00af9b000000ffffULL);
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_GDT + BOOT_SEL_DATA, 8),
			  0x00cf93000000ffffULL);
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_GDT + BOOT_SEL_CODE32, 8),
			  0x00cf9b000000ffffULL);

	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_PML4, 8), LAYOUT_PDPT | 3);
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_PML4 + 8, 8), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(fx_rd(&mem, LAYOUT_PDPT + 8 * i, 8),
				  (LAYOUT_PD + 4096 * i) | 3);
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_PDPT + 32, 8), 0);
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_PD, 8), 0x83);
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_PD + 8, 8), MiB(2) | 0x83);
	/* Last 2 MiB page below 4 GiB. */
	ck_assert_uint_eq(fx_rd(&mem, LAYOUT_PD + 3 * 4096 + 511 * 8, 8),
			  (GiB(4) - MiB(2)) | 0x83);
	/* The reset vector: mov al, 6; mov dx, 0xcf9; out dx, al; then
	 * halt, in a reserved e820 range (the smoke test reset_paths runs
	 * it on KVM). */
	{
		static const uint8_t stub[] = { 0xb0, 0x06, 0xba, 0xf9, 0x0c,
						0xee, 0xfa, 0xf4, 0xeb, 0xfd };
		struct boot_params *bp = zero_page();
		bool reserved = false;

		ck_assert_mem_eq(gmem_ptr(&mem, 0xffff0, sizeof(stub)), stub,
				 sizeof(stub));
		for (unsigned int i = 0; i < bp->e820_entries; i++) {
			const struct boot_e820_entry *r = &bp->e820_table[i];

			if (r->addr <= 0xffff0 && r->addr + r->size >= 0x100000)
				reserved = r->type == E820_TYPE_RESERVED;
		}
		ck_assert(reserved);
	}
	free(img);
}
END_TEST

static Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup_64m, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bzimage_loads);
	tcase_add_test(tc, test_bzimage_e820_small);
	tcase_add_test(tc, test_e820_above_4g);
	tcase_add_test(tc, test_bzimage_e820_big_guest);
	tcase_add_test(tc, test_initrd_place);
	tcase_add_test(tc, test_initrd_too_big);
	tcase_add_test(tc, test_cmdline_limits);
	tcase_add_test(tc, test_bzimage_errors);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_elf_linux64);
	tcase_add_test(tc, test_elf_zero_pages_untouched);
	tcase_add_test(tc, test_elf_physical_entry);
	tcase_add_test(tc, test_elf_pvh);
	tcase_add_test(tc, test_elf_pvh_no_initrd);
	tcase_add_test(tc, test_elf_errors);
	tcase_add_test(tc, test_elf_note_errors);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_gdt_and_page_tables);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(loader_suite());
}
