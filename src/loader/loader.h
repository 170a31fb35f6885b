/* Boot: kernel/initrd loading and the firmware tables a guest needs (x86:
 * x86_*.c; arm64: arm64_image.c, arm64_fdt.c). */
#ifndef KVMLITE_LOADER_H
#define KVMLITE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

enum boot_protocol {
	BOOT_PROTO_LINUX64, /* 64-bit boot protocol: long mode, rsi=zero page */
	BOOT_PROTO_PVH, /* PVH: 32-bit flat protected mode, ebx=start_info */
	BOOT_PROTO_ARM64_IMAGE, /* arm64 Image: MMU off, EL1, x0=DTB */
};

/* CPU entry state the loader asks for; vcpu code turns it into registers. */
struct boot_entry {
	enum boot_protocol proto;
	uint64_t entry;	     /* rip; arm64: pc */
	uint64_t boot_param; /* rsi (LINUX64) or rbx (PVH); arm64: x0 */
	uint64_t gdt_base; /* null, null, code64 0x10, data 0x18, code32 0x20 */
	uint16_t gdt_limit;
	uint64_t cr3;	   /* LINUX64: identity-mapped page tables */
	bool linux_kernel; /* the image is a Linux kernel */
	/* On failure: which input was at fault (for the message). */
	enum boot_input {
		BOOT_INPUT_KERNEL,
		BOOT_INPUT_INITRD,
		BOOT_INPUT_CMDLINE
	} culprit;
};

/* A virtio-mmio window the guest is told about (ACPI DSDT, LNRO0005). */
struct boot_mmio_dev {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

struct boot_args {
	const uint8_t *kernel; /* whole image file */
	size_t kernel_size;
	const uint8_t *initrd; /* NULL when none */
	size_t initrd_size;
	const char *cmdline; /* never NULL */
	unsigned int ncpus;  /* 1..255 */
	const struct boot_mmio_dev *mmio_devs;
	unsigned int nr_mmio_devs;
};

/*
 * Lay out everything the guest needs before its first instruction: kernel,
 * initrd, command line, zero page or start_info with the e820 map, MP table,
 * ACPI tables, GDT and page tables. On failure returns a negative errno and
 * writes a one-line reason (no file name, no trailing newline) to err.
 * -ENOEXEC: not a kernel we understand; -EINVAL: corrupt/truncated image;
 * -E2BIG: does not fit guest memory or limits (cmdline, initrd).
 */
int x86_boot_prepare(const struct guest_mem *m, const struct boot_args *a,
		     struct boot_entry *out, char *err, size_t errlen);

/* This architecture's x86_boot_prepare() (arm64: arm64_boot_prepare()). */
int arch_boot_prepare(const struct guest_mem *m, const struct boot_args *a,
		      struct boot_entry *out, char *err, size_t errlen);

/* What to boot: files, command line, and what the firmware tables list. */
struct boot_images {
	const char *kernel_path;
	const char *initrd_path; /* NULL: none */
	/* Or an initrd in memory (initrd_path NULL), named in messages. */
	const uint8_t *initrd_data;
	size_t initrd_size;
	const char *initrd_name;
	const char *cmdline;
	unsigned int ncpus;
	const struct boot_mmio_dev *mmio_devs;
	unsigned int nr_mmio_devs;
};

/*
 * image.c: map the kernel and initrd, lay out the boot (arch_boot_prepare).
 * Every kernel or initrd failure is -ENOEXEC (an image that cannot be
 * used), with one line naming the file, or "--cmdline", and the reason.
 */
int boot_load_images(const struct guest_mem *m, const struct boot_images *in,
		     struct boot_entry *out, char *err, size_t errlen);

#endif
