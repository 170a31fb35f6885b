/* The arm64 device tree (loader/arm64_fdt.c) and boot layout
 * (loader/arm64_boot.c): nodes and properties read back with libfdt and,
 * when KVMLITE_DTC names dtc, decompiled with dtc -I dtb -O dts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfdt.h>

#include "arm64_layout.h"
#include "guest_mem.h"
#include "loader/arm64.h"
#include "unit.h"
#include "util.h"

static const struct boot_mmio_dev devs[2] = {
	{ ARM64_VIRTIO_MMIO, 0x200, ARM64_SPI_VIRTIO_BASE },
	{ ARM64_VIRTIO_MMIO + 0x200, 0x200, ARM64_SPI_VIRTIO_BASE + 1 },
};

static const char *str_prop(const void *fdt, const char *path, const char *name)
{
	int node = fdt_path_offset(fdt, path);

	ck_assert_msg(node >= 0, "no node %s", path);
	return fdt_getprop(fdt, node, name, NULL);
}

static uint64_t u64_prop(const void *fdt, const char *path, const char *name)
{
	int len, node = fdt_path_offset(fdt, path);
	const fdt64_t *p;

	ck_assert_msg(node >= 0, "no node %s", path);
	p = fdt_getprop(fdt, node, name, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(len, 8);
	return fdt64_to_cpu(*p);
}

/* The cells of @path's @name, into @c (at most @n): their count. */
static int cells(const void *fdt, const char *path, const char *name,
		 uint32_t *c, int n)
{
	int len, node = fdt_path_offset(fdt, path);
	const fdt32_t *p;

	ck_assert_msg(node >= 0, "no node %s", path);
	p = fdt_getprop(fdt, node, name, &len);
	ck_assert_msg(p != NULL, "%s has no %s", path, name);
	for (int i = 0; i < len / 4 && i < n; i++)
		c[i] = fdt32_to_cpu(p[i]);
	return len / 4;
}

START_TEST(tree_nodes)
{
	static uint8_t buf[65536];
	struct arm64_fdt_args a = {
		.ram_base = ARM64_RAM_BASE,
		.ram_size = GiB(1),
		.ncpus = 2,
		.cmdline = "console=ttyS0 quiet",
		.initrd_start = 0xa0000000,
		.initrd_end = 0xa0100000,
		.mmio_devs = devs,
		.nr_mmio_devs = 2,
	};
	uint32_t c[16];

	ck_assert_int_eq(arm64_fdt_build(buf, sizeof(buf), &a), 0);
	ck_assert_int_eq(fdt_check_header(buf), 0);
	ck_assert_str_eq(str_prop(buf, "/chosen", "bootargs"),
			 "console=ttyS0 quiet");
	ck_assert_str_eq(str_prop(buf, "/chosen", "stdout-path"),
			 "/uart@9000000");
	ck_assert_uint_eq(u64_prop(buf, "/chosen", "linux,initrd-start"),
			  0xa0000000);
	ck_assert_uint_eq(u64_prop(buf, "/chosen", "linux,initrd-end"),
			  0xa0100000);
	ck_assert_str_eq(str_prop(buf, "/memory@80000000", "device_type"),
			 "memory");
	ck_assert_int_eq(cells(buf, "/memory@80000000", "reg", c, 16), 4);
	ck_assert_uint_eq(c[1], 0x80000000u);
	ck_assert_uint_eq(c[3], 0x40000000u);
	ck_assert_str_eq(str_prop(buf, "/cpus/cpu@1", "enable-method"), "psci");
	ck_assert_int_lt(fdt_path_offset(buf, "/cpus/cpu@2"), 0);
	ck_assert_str_eq(str_prop(buf, "/psci", "compatible"), "arm,psci-0.2");
	ck_assert_str_eq(str_prop(buf, "/psci", "method"), "hvc");
	ck_assert_str_eq(str_prop(buf, "/intc@8000000", "compatible"),
			 "arm,gic-v3");
	ck_assert_int_eq(cells(buf, "/intc@8000000", "reg", c, 16), 8);
	ck_assert_uint_eq(c[5], ARM64_GIC_REDIST);
	ck_assert_uint_eq(c[7], 2 * ARM64_GIC_REDIST_PER_CPU);
	ck_assert_str_eq(str_prop(buf, "/timer", "compatible"),
			 "arm,armv8-timer");
	ck_assert_int_eq(cells(buf, "/timer", "interrupts", c, 16), 12);
	ck_assert_str_eq(str_prop(buf, "/uart@9000000", "compatible"),
			 "ns16550a");
	ck_assert_int_eq(cells(buf, "/uart@9000000", "interrupts", c, 16), 3);
	ck_assert_uint_eq(c[1], ARM64_SPI_UART);
	ck_assert_str_eq(str_prop(buf, "/virtio_mmio@a000200", "compatible"),
			 "virtio,mmio");
	ck_assert_int_eq(
		cells(buf, "/virtio_mmio@a000200", "interrupts", c, 16), 3);
	ck_assert_uint_eq(c[0], 0); /* SPI */
	ck_assert_uint_eq(c[1], ARM64_SPI_VIRTIO_BASE + 1);
}
END_TEST

/* The timer's PPIs are KVM's defaults for the vCPU's timers (INTID 29
 * secure phys, 30 phys, 27 virt, 26 hyp: PPI numbers 13, 14, 11, 10),
 * level-high, always-on, and the GICv3's distributor and redistributor
 * regions those kvm_arm64.c gives KVM, one 128 KiB frame pair a vCPU.
 * Literal numbers, not arm64_layout.h's: a guest that misses its timer
 * PPIs waits forever in WFI. */
START_TEST(timer_and_gic_match_kvm)
{
	static uint8_t buf[65536];
	static const uint32_t want[12] = { 1, 13, 4, 1, 14, 4,
					   1, 11, 4, 1, 10, 4 };
	struct arm64_fdt_args a = {
		.ram_base = ARM64_RAM_BASE,
		.ram_size = GiB(1),
		.ncpus = 3,
		.cmdline = "",
	};
	uint32_t c[16];
	int node;

	ck_assert_int_eq(arm64_fdt_build(buf, sizeof(buf), &a), 0);
	ck_assert_int_eq(cells(buf, "/timer", "interrupts", c, 16), 12);
	for (int i = 0; i < 12; i++)
		ck_assert_msg(c[i] == want[i],
			      "timer interrupts[%d] = %u, want %u", i, c[i],
			      want[i]);
	node = fdt_path_offset(buf, "/timer");
	ck_assert_ptr_nonnull(fdt_getprop(buf, node, "always-on", NULL));
	ck_assert_int_eq(cells(buf, "/intc@8000000", "reg", c, 16), 8);
	ck_assert_uint_eq(c[1], 0x08000000u);
	ck_assert_uint_eq(c[3], 0x10000u);
	ck_assert_uint_eq(c[5], 0x080a0000u);
	ck_assert_uint_eq(c[7], 3 * 0x20000u);
}
END_TEST

START_TEST(no_initrd_and_small_buffer)
{
	static uint8_t buf[65536];
	struct arm64_fdt_args a = {
		.ram_base = ARM64_RAM_BASE,
		.ram_size = MiB(64),
		.ncpus = 1,
		.cmdline = "",
	};
	int node;

	ck_assert_int_eq(arm64_fdt_build(buf, sizeof(buf), &a), 0);
	node = fdt_path_offset(buf, "/chosen");
	ck_assert_int_ge(node, 0);
	ck_assert_ptr_null(fdt_getprop(buf, node, "linux,initrd-start", NULL));
	ck_assert_int_eq(arm64_fdt_build(buf, 100, &a), -E2BIG);
}
END_TEST

/* dtc reads it back as the source says. */
START_TEST(dtc_decompiles)
{
	static uint8_t buf[65536];
	const char *dtc = getenv("KVMLITE_DTC");
	struct arm64_fdt_args a = {
		.ram_base = ARM64_RAM_BASE,
		.ram_size = GiB(1),
		.ncpus = 2,
		.cmdline = "console=ttyS0",
		.mmio_devs = devs,
		.nr_mmio_devs = 1,
	};
	char path[] = "/tmp/kvmlite-fdt-XXXXXX", cmd[512], dts[16384];
	size_t n;
	FILE *f;
	int fd;

	if (!dtc || !*dtc) {
		fprintf(stderr, "SKIP dtc_decompiles: KVMLITE_DTC unset\n");
		return;
	}
	ck_assert_int_eq(arm64_fdt_build(buf, sizeof(buf), &a), 0);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "wb");
	fwrite(buf, 1, fdt_totalsize(buf), f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s -I dtb -O dts %s 2>&1", dtc, path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(dts, 1, sizeof(dts) - 1, f);
	dts[n] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	unlink(path);
	ck_assert_ptr_nonnull(strstr(dts, "bootargs = \"console=ttyS0\";"));
	ck_assert_ptr_nonnull(strstr(dts, "compatible = \"arm,gic-v3\";"));
	ck_assert_ptr_nonnull(strstr(dts, "enable-method = \"psci\";"));
	ck_assert_ptr_nonnull(strstr(dts, "virtio_mmio@a000000 {"));
	ck_assert_ptr_nonnull(strstr(dts, "stdout-path = \"/uart@9000000\";"));
	ck_assert_msg(!strstr(dts, "Warning"), "dtc: %s", dts);
}
END_TEST

/* The boot's layout: the Image at RAM + text_offset, x0 the DTB in RAM's
 * last 2 MiB, the initrd below it and in chosen. */
START_TEST(boot_layout)
{
	struct guest_mem m;
	static uint8_t kernel[8192], initrd[5000];
	struct boot_args a = {
		.kernel = kernel,
		.kernel_size = sizeof(kernel),
		.initrd = initrd,
		.initrd_size = sizeof(initrd),
		.cmdline = "console=ttyS0",
		.ncpus = 1,
	};
	struct boot_entry e;
	char err[256] = "";
	const void *fdt;

	memset(kernel, 0, sizeof(kernel));
	le_put(kernel + 8, 8, 0x80000);
	le_put(kernel + 16, 8, MiB(4));
	le_put(kernel + 56, 4, ARM64_IMAGE_MAGIC);
	memset(initrd, 0x5a, sizeof(initrd));
	ck_assert_int_eq(guest_mem_init(&m, MiB(64)), 0);
	ck_assert_int_eq(arm64_boot_prepare(&m, &a, &e, err, sizeof(err)), 0);
	ck_assert_uint_eq(e.entry, ARM64_RAM_BASE + 0x80000);
	ck_assert_uint_eq(e.boot_param, ARM64_RAM_BASE + MiB(62));
	fdt = gmem_ptr(&m, e.boot_param, ARM64_FDT_MAX);
	ck_assert_int_eq(fdt_check_header(fdt), 0);
	ck_assert_uint_eq(
		u64_prop(fdt, "/chosen", "linux,initrd-end") -
			u64_prop(fdt, "/chosen", "linux,initrd-start"),
		sizeof(initrd));
	ck_assert_int_eq(
		memcmp(gmem_ptr(&m,
				u64_prop(fdt, "/chosen", "linux,initrd-start"),
				sizeof(initrd)),
		       initrd, sizeof(initrd)),
		0);
	/* A kernel larger than RAM, a corrupt one. */
	le_put(kernel + 16, 8, MiB(63));
	ck_assert_int_eq(arm64_boot_prepare(&m, &a, &e, err, sizeof(err)),
			 -E2BIG);
	kernel[56] = 0;
	ck_assert_int_eq(arm64_boot_prepare(&m, &a, &e, err, sizeof(err)),
			 -ENOEXEC);
	guest_mem_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("arm64_fdt");
	TCase *tc = tcase_create("fdt");

	tcase_add_test(tc, tree_nodes);
	tcase_add_test(tc, timer_and_gic_match_kvm);
	tcase_add_test(tc, no_initrd_and_small_buffer);
	tcase_add_test(tc, dtc_decompiles);
	tcase_add_test(tc, boot_layout);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
