/* x86_boot_prepare(): load the kernel and lay out everything around it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/platform_ports.h"
#include "loader/loader_internal.h"

#define PAGE_SIZE_4K 0x1000ULL
#define PTE_PRESENT 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL	/* 2 MiB page in a PD entry */
#define IDENT_MAP_PDS 4 /* 4 x 1 GiB */

/* Flat 4 GiB segments; access byte 0x9b/0x93, granularity 4 KiB. */
#define GDT_CODE64 0x00af9b000000ffffULL
#define GDT_DATA 0x00cf93000000ffffULL
#define GDT_CODE32 0x00cf9b000000ffffULL

#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define BOOT_FLAG_MAGIC 0xaa55
#define ZERO_PAGE_PROTOCOL 0x020f
#define ZERO_PAGE_KERNEL_ALIGN 0x1000000

/*
 * Highest 4 KiB-aligned spot that ends at or below both max_addr (last
 * usable byte) and low_end, and starts at or above floor.
 */
int initrd_place(uint64_t low_end, uint64_t floor, uint64_t max_addr,
		 uint64_t size, uint64_t *addr, char *err, size_t errlen)
{
	uint64_t ceiling = low_end;

	if (max_addr < UINT64_MAX && max_addr + 1 < ceiling)
		ceiling = max_addr + 1;
	if (size > ceiling || ((ceiling - size) & ~(PAGE_SIZE_4K - 1)) < floor)
		return err_fmt(err, errlen, -E2BIG,
			       "initrd (%llu bytes) does not fit between "
			       "the kernel end 0x%llx and 0x%llx "
			       "(initrd_addr_max or end of RAM below 4 GiB)",
			       (unsigned long long)size,
			       (unsigned long long)floor,
			       (unsigned long long)ceiling);
	*addr = (ceiling - size) & ~(PAGE_SIZE_4K - 1);
	return 0;
}

int gdt_write(const struct guest_mem *m, uint64_t *base, uint16_t *limit)
{
	const uint64_t gdt[BOOT_GDT_ENTRIES] = {
		[BOOT_SEL_CODE64 / 8] = GDT_CODE64,
		[BOOT_SEL_DATA / 8] = GDT_DATA,
		[BOOT_SEL_CODE32 / 8] = GDT_CODE32,
	};

	*base = LAYOUT_GDT;
	*limit = sizeof(gdt) - 1;
	return gmem_write(m, LAYOUT_GDT, gdt, sizeof(gdt));
}

/*
 * The reset vector (F000:FFF0, real mode) has no firmware behind it, so a
 * guest that jumps there to reboot (Linux's BIOS method, which it takes by
 * default on a hardware-reduced ACPI machine without EFI) finds a stub that
 * resets through the reset control port instead of running zeros forever.
 */
int reset_vector_write(const struct guest_mem *m)
{
	/* clang-format off */
	static const uint8_t stub[] = {
		0xb0, RESET_CTL_HARD_RESET,			  /* mov al, 6 */
		0xba, PORT_RESET_CTL & 0xff, PORT_RESET_CTL >> 8, /* mov dx, 0xcf9 */
		0xee,						  /* out dx, al */
		0xfa,						  /* cli */
		0xf4,						  /* hlt */
		0xeb, 0xfd,					  /* jmp to hlt */
	};
	/* clang-format on */

	_Static_assert(LAYOUT_RESET_VECTOR + sizeof(stub) <= LAYOUT_ACPI_END,
		       "the reset stub fits below 1 MiB");
	_Static_assert(LAYOUT_RESET_VECTOR >= MPTABLE_CONFIG_ADDR + 0x2000,
		       "the reset stub is clear of the MP table");
	return gmem_write(m, LAYOUT_RESET_VECTOR, stub, sizeof(stub));
}

/* Identity map of the first 4 GiB with 2 MiB pages. */
int page_tables_write(const struct guest_mem *m)
{
	uint64_t pml4[512] = { LAYOUT_PDPT | PTE_PRESENT | PTE_RW };
	uint64_t pdpt[512] = { 0 };
	uint64_t pd[512];
	int ret;

	for (int i = 0; i < IDENT_MAP_PDS; i++)
		pdpt[i] = (LAYOUT_PD + i * PAGE_SIZE_4K) | PTE_PRESENT | PTE_RW;
	ret = gmem_write(m, LAYOUT_PML4, pml4, sizeof(pml4));
	if (!ret)
		ret = gmem_write(m, LAYOUT_PDPT, pdpt, sizeof(pdpt));
	for (int i = 0; i < IDENT_MAP_PDS && !ret; i++) {
		for (int j = 0; j < 512; j++)
			pd[j] = ((uint64_t)(i * 512 + j) << 21) | PTE_PRESENT |
				PTE_RW | PTE_PS;
		ret = gmem_write(m, LAYOUT_PD + i * PAGE_SIZE_4K, pd,
				 sizeof(pd));
	}
	return ret;
}

int pvh_start_info_write(const struct guest_mem *m, const struct e820_map *map,
			 uint64_t initrd_addr, uint64_t initrd_size,
			 uint64_t rsdp)
{
	struct hvm_memmap_table_entry mm[E820_MAX_ENTRIES];
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = LAYOUT_CMDLINE,
		.rsdp_paddr = rsdp,
		.memmap_paddr = LAYOUT_PVH_MEMMAP,
		.memmap_entries = map->nr,
	};
	int ret;

	_Static_assert(sizeof(si) == 56, "hvm_start_info v1 size");
	_Static_assert(PVH_MODLIST_ADDR >= LAYOUT_BOOT_PARAMS + sizeof(si),
		       "module list overlaps start_info");
	_Static_assert(LAYOUT_PVH_MEMMAP + sizeof(mm) <= LAYOUT_PML4,
		       "PVH memmap overlaps the page tables");

	if (initrd_size) {
		struct hvm_modlist_entry mod = {
			.paddr = initrd_addr,
			.size = initrd_size,
		};

		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_ADDR;
		ret = gmem_write(m, PVH_MODLIST_ADDR, &mod, sizeof(mod));
		if (ret)
			return ret;
	}
	memset(mm, 0, sizeof(mm));
	for (unsigned int i = 0; i < map->nr; i++) {
		mm[i].addr = map->e[i].addr;
		mm[i].size = map->e[i].size;
		mm[i].type = map->e[i].type;
	}
	ret = gmem_write(m, LAYOUT_PVH_MEMMAP, mm, map->nr * sizeof(mm[0]));
	if (!ret)
		ret = gmem_write(m, LAYOUT_BOOT_PARAMS, &si, sizeof(si));
	return ret;
}

/* An ELF vmlinux has no setup header: make the minimal one Linux reads. */
static void zero_page_from_scratch(struct boot_params *bp)
{
	memset(bp, 0, sizeof(*bp));
	bp->hdr.boot_flag = BOOT_FLAG_MAGIC;
	bp->hdr.header = HDRS_MAGIC;
	bp->hdr.version = ZERO_PAGE_PROTOCOL;
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.loadflags = LOADED_HIGH | CAN_USE_HEAP;
	bp->hdr.kernel_alignment = ZERO_PAGE_KERNEL_ALIGN;
	bp->hdr.cmdline_size = LAYOUT_CMDLINE_MAX - 1;
}

static void zero_page_finish(struct boot_params *bp, const struct e820_map *map,
			     uint64_t initrd_addr, uint64_t initrd_size,
			     uint64_t rsdp)
{
	bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp->ext_cmd_line_ptr = (uint32_t)(LAYOUT_CMDLINE >> 32);
	bp->hdr.ramdisk_image = (uint32_t)initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	bp->acpi_rsdp_addr = rsdp;
	_Static_assert(E820_MAX_ENTRIES <= E820_MAX_ENTRIES_ZEROPAGE,
		       "e820 map larger than the zero page table");
	memcpy(bp->e820_table, map->e, map->nr * sizeof(map->e[0]));
	bp->e820_entries = (uint8_t)map->nr;
}

static int boot_check_args(const struct guest_mem *m, const struct boot_args *a,
			   char *err, size_t errlen)
{
	if (!a->kernel || !a->cmdline)
		return err_fmt(err, errlen, -EINVAL,
			       "no kernel image or command line given");
	if (a->ncpus < 1 || a->ncpus > 255)
		return err_fmt(err, errlen, -EINVAL, "%u vCPUs: need 1..255",
			       a->ncpus);
	if (a->nr_mmio_devs && !a->mmio_devs)
		return err_fmt(err, errlen, -EINVAL,
			       "virtio-mmio device list missing");
	if (gmem_low_end(m) < LAYOUT_KERNEL + MiB(1))
		return err_fmt(err, errlen, -E2BIG,
			       "guest RAM below 4 GiB is 0x%llx bytes: "
			       "need at least 2 MiB",
			       (unsigned long long)gmem_low_end(m));
	return 0;
}

static int cmdline_write(const struct guest_mem *m, const char *cmdline,
			 uint64_t kernel_max, char *err, size_t errlen)
{
	size_t len = strnlen(cmdline, LAYOUT_CMDLINE_MAX);
	uint64_t max = LAYOUT_CMDLINE_MAX - 1;
	int ret;

	if (kernel_max < max)
		max = kernel_max;
	if (len > max)
		return err_fmt(
			err, errlen, -E2BIG,
			"kernel command line is %s%zu bytes: the limit is %llu",
			len >= LAYOUT_CMDLINE_MAX ? "over " : "", len,
			(unsigned long long)max);
	ret = gmem_write(m, LAYOUT_CMDLINE, cmdline, len);
	if (!ret)
		ret = gmem_fill(m, LAYOUT_CMDLINE + len, 0, 1);
	if (ret)
		return err_fmt(err, errlen, ret,
			       "cannot write command line to guest memory");
	return 0;
}

int x86_boot_prepare(const struct guest_mem *m, const struct boot_args *a,
		     struct boot_entry *out, char *err, size_t errlen)
{
	uint64_t initrd_addr = 0, initrd_size = 0, rsdp = 0;
	struct boot_params *bp;
	struct kernel_info ki;
	struct e820_map *map;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	out->culprit = BOOT_INPUT_KERNEL;
	ret = boot_check_args(m, a, err, errlen);
	if (ret)
		return ret;

	bp = calloc(1, sizeof(*bp));
	map = calloc(1, sizeof(*map));
	if (!bp || !map) {
		ret = err_fmt(err, errlen, -ENOMEM,
			      "out of memory preparing boot tables");
		goto out;
	}

	memset(&ki, 0, sizeof(ki));
	if (elf_is_elf(a->kernel, a->kernel_size)) {
		ret = elf_load(m, a->kernel, a->kernel_size, &ki, err, errlen);
		if (!ret && ki.proto == BOOT_PROTO_LINUX64)
			zero_page_from_scratch(bp);
	} else {
		ret = bzimage_load(m, a->kernel, a->kernel_size, bp, &ki, err,
				   errlen);
	}
	if (ret)
		goto out;

	ret = cmdline_write(m, a->cmdline, ki.cmdline_max, err, errlen);
	if (ret) {
		out->culprit = BOOT_INPUT_CMDLINE;
		goto out;
	}

	if (a->initrd && a->initrd_size) {
		initrd_size = a->initrd_size;
		ret = initrd_place(gmem_low_end(m), ki.image_end, ki.initrd_max,
				   initrd_size, &initrd_addr, err, errlen);
		if (!ret)
			ret = gmem_write(m, initrd_addr, a->initrd,
					 initrd_size);
		if (ret) {
			out->culprit = BOOT_INPUT_INITRD;
			if (err && err[0])
				goto out; /* initrd_place() said why */
			err_fmt(err, errlen, ret,
				"cannot write initrd to guest memory");
			goto out;
		}
	}

	ret = e820_build(m, map);
	if (ret) {
		err_fmt(err, errlen, ret, "guest memory map too large");
		goto out;
	}
	ret = acpi_tables_write(m, a->ncpus, a->mmio_devs, a->nr_mmio_devs,
				&rsdp, err, errlen);
	if (ret)
		goto out;
	ret = mptable_write(m, a->ncpus);
	if (ret) {
		err_fmt(err, errlen, ret, "cannot write MP table");
		goto out;
	}

	if (ki.proto == BOOT_PROTO_PVH) {
		ret = pvh_start_info_write(m, map, initrd_addr, initrd_size,
					   rsdp);
	} else {
		zero_page_finish(bp, map, initrd_addr, initrd_size, rsdp);
		ret = gmem_write(m, LAYOUT_BOOT_PARAMS, bp, sizeof(*bp));
	}
	if (!ret)
		ret = gdt_write(m, &out->gdt_base, &out->gdt_limit);
	if (!ret)
		ret = page_tables_write(m);
	if (!ret)
		ret = reset_vector_write(m);
	if (ret) {
		err_fmt(err, errlen, ret,
			"cannot write boot structures to guest memory");
		goto out;
	}

	out->proto = ki.proto;
	out->linux_kernel = ki.linux_kernel;
	out->entry = ki.entry;
	out->boot_param = LAYOUT_BOOT_PARAMS;
	out->cr3 = LAYOUT_PML4;
out:
	free(map);
	free(bp);
	return ret;
}

int arch_boot_prepare(const struct guest_mem *m, const struct boot_args *a,
		      struct boot_entry *out, char *err, size_t errlen)
{
	return x86_boot_prepare(m, a, out, err, errlen);
}
