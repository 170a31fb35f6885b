/* bzImage loading for the 64-bit boot protocol (Documentation/arch/x86/
 * boot.rst): the setup code is never run, only its header is used. */
#include <errno.h>
#include <string.h>

#include "loader/loader_internal.h"

#define SETUP_HDR_OFFSET 0x1f1
#define SETUP_JUMP_OFFSET 0x200
#define SETUP_HDR_END_MAX 0x290 /* where boot_params stops being header */
#define SETUP_SECTS_DEFAULT 4
#define SECTOR_SIZE 512
#define BOOT_FLAG_MAGIC 0xaa55
#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define INITRD_ADDR_MAX_DEFAULT 0x37ffffffULL
#define ENTRY64_OFFSET 0x200 /* 64-bit entry: load address + 0x200 */
#define HEAP_END_PTR 0xfe00

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int bzimage_load(const struct guest_mem *m, const uint8_t *img, size_t size,
		 struct boot_params *bp, struct kernel_info *ki, char *err,
		 size_t errlen)
{
	uint64_t low_end = gmem_low_end(m);
	struct setup_header hdr;
	size_t hdr_end, setup_size, pm_size, n;
	uint64_t run_start, image_end;
	unsigned int setup_sects;
	int ret;

	if (size < SETUP_JUMP_OFFSET + 6)
		return err_fmt(
			err, errlen, -ENOEXEC,
			"not a bzImage or ELF vmlinux (file is %zu bytes)",
			size);
	memset(&hdr, 0, sizeof(hdr));
	n = size - SETUP_HDR_OFFSET;
	memcpy(&hdr, img + SETUP_HDR_OFFSET, n < sizeof(hdr) ? n : sizeof(hdr));
	if (hdr.boot_flag != BOOT_FLAG_MAGIC || hdr.header != HDRS_MAGIC)
		return err_fmt(err, errlen, -ENOEXEC,
			       "not a bzImage or ELF vmlinux (bad magic)");

	/* The header ends where its leading short jump lands. */
	hdr_end = SETUP_JUMP_OFFSET + 2 + img[SETUP_JUMP_OFFSET + 1];
	if (hdr_end > size)
		return err_fmt(err, errlen, -EINVAL,
			       "bzImage setup header truncated: file is "
			       "%zu bytes, header needs %zu",
			       size, hdr_end);
	setup_sects = hdr.setup_sects ? hdr.setup_sects : SETUP_SECTS_DEFAULT;
	setup_size = (size_t)(setup_sects + 1) * SECTOR_SIZE;
	if (setup_size > size)
		return err_fmt(err, errlen, -EINVAL,
			       "bzImage setup header truncated: file is "
			       "%zu bytes, setup needs %zu",
			       size, setup_size);

	if (hdr.version < 0x206)
		return err_fmt(err, errlen, -ENOEXEC,
			       "boot protocol %u.%02u too old: need 2.06+ "
			       "for 64-bit entry",
			       hdr.version >> 8, hdr.version & 0xff);
	if (hdr.version < 0x20c)
		return err_fmt(err, errlen, -ENOEXEC,
			       "boot protocol %u.%02u has no xloadflags: "
			       "need 2.12+ for 64-bit entry",
			       hdr.version >> 8, hdr.version & 0xff);
	if (!(hdr.xloadflags & XLF_KERNEL_64))
		return err_fmt(err, errlen, -ENOEXEC,
			       "kernel has no 64-bit entry point "
			       "(XLF_KERNEL_64 not set)");
	if (!(hdr.loadflags & LOADED_HIGH))
		return err_fmt(err, errlen, -ENOEXEC,
			       "zImage (not LOADED_HIGH) is not supported");

	pm_size = size - setup_size;
	if (pm_size == 0)
		return err_fmt(err, errlen, -EINVAL,
			       "bzImage has no protected-mode kernel after "
			       "%zu bytes of setup",
			       setup_size);

	/* syssize (reliable since 2.04) catches a truncated kernel file. */
	if ((uint64_t)hdr.syssize * 16 > pm_size)
		return err_fmt(err, errlen, -EINVAL,
			       "bzImage truncated: header says %llu bytes "
			       "of kernel, file has %zu",
			       (unsigned long long)hdr.syssize * 16, pm_size);

	/*
	 * The kernel decompresses itself into init_size bytes at its runtime
	 * address: the load address, or pref_address when that is higher
	 * (what head_64.S does for LOAD_PHYSICAL_ADDR).
	 */
	run_start = max_u64(LAYOUT_KERNEL, hdr.pref_address);
	image_end =
		max_u64(add_sat(LAYOUT_KERNEL, max_u64(pm_size, hdr.init_size)),
			add_sat(run_start, hdr.init_size));
	if (image_end > low_end)
		return err_fmt(err, errlen, -E2BIG,
			       "kernel needs guest RAM up to 0x%llx (%zu "
			       "bytes, init_size %u at 0x%llx) but RAM "
			       "below 4 GiB ends at 0x%llx",
			       (unsigned long long)image_end, pm_size,
			       hdr.init_size, (unsigned long long)run_start,
			       (unsigned long long)low_end);

	ret = gmem_write(m, LAYOUT_KERNEL, img + setup_size, pm_size);
	if (ret)
		return err_fmt(err, errlen, ret,
			       "cannot write kernel to guest memory");

	/* Zero page: a clean page with only the image's setup header. */
	memset(bp, 0, sizeof(*bp));
	if (hdr_end > SETUP_HDR_END_MAX)
		hdr_end = SETUP_HDR_END_MAX;
	memcpy((uint8_t *)bp + SETUP_HDR_OFFSET, img + SETUP_HDR_OFFSET,
	       hdr_end - SETUP_HDR_OFFSET);
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = HEAP_END_PTR;
	bp->hdr.setup_data = 0; /* we pass none */

	ki->proto = BOOT_PROTO_LINUX64;
	ki->linux_kernel = true;
	ki->entry = LAYOUT_KERNEL + ENTRY64_OFFSET;
	ki->image_end = image_end;
	ki->initrd_max = hdr.initrd_addr_max ? hdr.initrd_addr_max
					     : INITRD_ADDR_MAX_DEFAULT;
	ki->cmdline_max = hdr.cmdline_size;
	return 0;
}
