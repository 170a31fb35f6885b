/*
 * The arm64 boot (booting.rst): the Image at RAM's 2 MiB aligned start +
 * text_offset, the device tree in RAM's last 2 MiB, the initrd just below
 * it; the boot CPU enters the Image with x0 = the DTB's address.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arm64_layout.h"
#include "err.h"
#include "loader/arm64.h"

/* Linux's COMMAND_LINE_SIZE on arm64, NUL included. */
#define ARM64_CMDLINE_MAX 2048

int arm64_boot_prepare(const struct guest_mem *m, const struct boot_args *a,
		       struct boot_entry *out, char *err, size_t errlen)
{
	struct arm64_image img;
	struct arm64_fdt_args fa;
	uint64_t ram_base, ram_end, kernel_gpa, kernel_end, fdt_gpa;
	uint64_t initrd_gpa = 0;
	void *fdt;
	int ret;

	memset(out, 0, sizeof(*out));
	out->proto = BOOT_PROTO_ARM64_IMAGE;
	out->culprit = BOOT_INPUT_KERNEL;
	if (m->nr_regions != 1 || m->regions[0].size < MiB(8))
		return err_fmt(err, errlen, -E2BIG,
			       "arm64 needs at least 8 MiB of RAM");
	ram_base = m->regions[0].gpa;
	ram_end = ram_base + m->regions[0].size;
	ret = arm64_image_parse(a->kernel, a->kernel_size, &img, err, errlen);
	if (ret)
		return ret;
	kernel_gpa = ram_base + img.text_offset; /* ram_base: 2 MiB aligned */
	fdt_gpa = (ram_end - ARM64_FDT_MAX) & ~(ARM64_IMAGE_ALIGN - 1);
	if (img.footprint > fdt_gpa - kernel_gpa)
		return err_fmt(err, errlen, -E2BIG,
			       "the Image needs %llu MiB, more than guest "
			       "memory has",
			       (unsigned long long)(img.footprint >> 20) + 1);
	kernel_end = kernel_gpa + img.footprint;
	ret = gmem_write(m, kernel_gpa, a->kernel, a->kernel_size);
	if (ret)
		return err_fmt(err, errlen, ret, "cannot place the Image");

	if (a->initrd) {
		out->culprit = BOOT_INPUT_INITRD;
		if (a->initrd_size > fdt_gpa - kernel_end)
			return err_fmt(err, errlen, -E2BIG,
				       "initrd of %zu bytes does not fit in "
				       "guest memory beside the kernel",
				       a->initrd_size);
		initrd_gpa = (fdt_gpa - a->initrd_size) & ~0xfffULL;
		if (initrd_gpa < kernel_end)
			return err_fmt(err, errlen, -E2BIG,
				       "initrd does not fit in guest memory "
				       "beside the kernel");
		ret = gmem_write(m, initrd_gpa, a->initrd, a->initrd_size);
		if (ret)
			return err_fmt(err, errlen, ret,
				       "cannot place the initrd");
	}

	out->culprit = BOOT_INPUT_CMDLINE;
	if (strlen(a->cmdline) >= ARM64_CMDLINE_MAX)
		return err_fmt(err, errlen, -E2BIG,
			       "command line longer than %d bytes",
			       ARM64_CMDLINE_MAX - 1);
	fa = (struct arm64_fdt_args){
		.ram_base = ram_base,
		.ram_size = ram_end - ram_base,
		.ncpus = a->ncpus,
		.cmdline = a->cmdline,
		.initrd_start = a->initrd ? initrd_gpa : 0,
		.initrd_end = a->initrd ? initrd_gpa + a->initrd_size : 0,
		.mmio_devs = a->mmio_devs,
		.nr_mmio_devs = a->nr_mmio_devs,
	};
	fdt = gmem_ptr(m, fdt_gpa, ARM64_FDT_MAX);
	if (!fdt)
		return err_fmt(err, errlen, -E2BIG,
			       "no room for the device tree");
	ret = arm64_fdt_build(fdt, ARM64_FDT_MAX, &fa);
	if (ret)
		return err_fmt(err, errlen, ret, "device tree: %s",
			       ret == -E2BIG ? "larger than 2 MiB"
					     : "libfdt failed");
	out->entry = kernel_gpa;
	out->boot_param = fdt_gpa;
	out->linux_kernel = true;
	out->culprit = BOOT_INPUT_KERNEL;
	return 0;
}

int arch_boot_prepare(const struct guest_mem *m, const struct boot_args *a,
		      struct boot_entry *out, char *err, size_t errlen)
{
	return arm64_boot_prepare(m, a, out, err, errlen);
}
