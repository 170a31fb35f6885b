/* Loader internals: one function per subsystem, shared with unit tests. */
#ifndef KVMLITE_LOADER_INTERNAL_H
#define KVMLITE_LOADER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "err.h"
#include "guest_mem.h"
#include "x86_layout.h"
#include "loader/loader.h"

/*
 * The MP configuration table does not fit the 1 KiB EBDA for 255 CPUs
 * (20 bytes each), so only the floating pointer lives in the EBDA and the
 * table sits in the reserved BIOS area, after the ACPI tables.
 */
#define MPTABLE_CONFIG_ADDR 0xf0000ULL
#define ACPI_TABLES_END MPTABLE_CONFIG_ADDR

/* BIOS data area fields Linux reads. */
#define BDA_EBDA_SEGMENT 0x40e
#define BDA_BASE_MEM_KIB 0x413

/* e820 / PVH memory map types. */
#define E820_TYPE_RAM 1
#define E820_TYPE_RESERVED 2
#define E820_MAX_ENTRIES 128

struct e820_map {
	struct boot_e820_entry e[E820_MAX_ENTRIES];
	unsigned int nr;
};

/* What a kernel loader found, for the common code in boot.c. */
struct kernel_info {
	enum boot_protocol proto;
	uint64_t entry;
	uint64_t image_end;   /* first byte above everything the kernel uses */
	uint64_t initrd_max;  /* highest address the initrd may occupy */
	uint64_t cmdline_max; /* longest command line, NUL excluded */
	bool linux_kernel;    /* a bzImage, or an ELF with "Linux" notes */
};

/* PVH start of day structure (Xen public start_info.h, version 1). */
#define HVM_START_MAGIC 0x336ec578
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Module list right after start_info in the same page. */
#define PVH_MODLIST_ADDR (LAYOUT_BOOT_PARAMS + 64)

/* e820.c */
int e820_build(const struct guest_mem *m, struct e820_map *map);

/*
 * bzimage.c: load the protected-mode kernel at LAYOUT_KERNEL and start the
 * zero page @bp with the image's setup header.
 */
int bzimage_load(const struct guest_mem *m, const uint8_t *img, size_t size,
		 struct boot_params *bp, struct kernel_info *ki, char *err,
		 size_t errlen);

/* elf.c: load PT_LOAD segments at p_paddr; PVH entry when the note is there. */
bool elf_is_elf(const uint8_t *img, size_t size);
int elf_load(const struct guest_mem *m, const uint8_t *img, size_t size,
	     struct kernel_info *ki, char *err, size_t errlen);

/* boot.c */
int initrd_place(uint64_t low_end, uint64_t floor, uint64_t max_addr,
		 uint64_t size, uint64_t *addr, char *err, size_t errlen);
int gdt_write(const struct guest_mem *m, uint64_t *base, uint16_t *limit);
int page_tables_write(const struct guest_mem *m);
/* The stub at the reset vector that resets through the reset port. */
int reset_vector_write(const struct guest_mem *m);
int pvh_start_info_write(const struct guest_mem *m, const struct e820_map *map,
			 uint64_t initrd_addr, uint64_t initrd_size,
			 uint64_t rsdp);

/* mptable.c: floating pointer in the EBDA, config table at
 * MPTABLE_CONFIG_ADDR. */
int mptable_write(const struct guest_mem *m, unsigned int ncpus);

/* acpi.c: RSDP at LAYOUT_ACPI, then XSDT, FADT, MADT, DSDT. */
int acpi_tables_write(const struct guest_mem *m, unsigned int ncpus,
		      const struct boot_mmio_dev *devs, unsigned int nr_devs,
		      uint64_t *rsdp, char *err, size_t errlen);
uint8_t acpi_checksum(const void *p, size_t len);

/* aml.c: a tiny AML byte-code writer into a fixed buffer. */
struct aml_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool overflow; /* set once anything did not fit; output is garbage */
};

void aml_init(struct aml_buf *b, uint8_t *data, size_t cap);
void aml_byte(struct aml_buf *b, uint8_t v);
void aml_bytes(struct aml_buf *b, const void *p, size_t len);
/* A name path like "\\_SB_", "_S5_" or "V01F" (segments of 4 chars). */
void aml_name(struct aml_buf *b, const char *path);
void aml_integer(struct aml_buf *b, uint64_t v);
void aml_string(struct aml_buf *b, const char *s);
/* Name (path, <value>): the caller appends the value object. */
void aml_name_decl(struct aml_buf *b, const char *path);
/* Open constructs return a mark to pass to aml_close(). */
size_t aml_scope_open(struct aml_buf *b, const char *path);
size_t aml_device_open(struct aml_buf *b, const char *path);
size_t aml_package_open(struct aml_buf *b, uint8_t nr_elements);
/* Method(name, nr_args, NotSerialized) { ... } */
size_t aml_method_open(struct aml_buf *b, const char *name,
		       unsigned int nr_args);
/* Notify(target, value) */
void aml_notify(struct aml_buf *b, const char *target, uint64_t value);
size_t aml_buffer_open(struct aml_buf *b, uint64_t nr_bytes);
void aml_close(struct aml_buf *b, size_t mark);
/* Resource template bytes for a virtio-mmio window and its interrupt. */
void aml_eisaid(struct aml_buf *b, const char *id);
void aml_isa_resources(struct aml_buf *b, uint16_t port, uint8_t nports,
		       int irq);
/* ResourceTemplate with one edge-triggered, active-high interrupt. */
void aml_irq_resources(struct aml_buf *b, uint32_t gsi);
void aml_mmio_resources(struct aml_buf *b, uint32_t base, uint32_t size,
			uint32_t gsi);

#endif
