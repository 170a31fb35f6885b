/* Synthetic kernel images and guest memory helpers for the loader tests. */
#ifndef KVMLITE_TEST_LOADER_FIXTURES_H
#define KVMLITE_TEST_LOADER_FIXTURES_H

#include <check.h>
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest_mem.h"
#include "x86_layout.h"
#include "loader/loader.h"
#include "loader/loader_internal.h"

/* Byte i of a fake kernel payload. */
static inline uint8_t fx_pattern(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

struct fx_bzimage {
	uint8_t setup_sects;
	uint16_t version;
	uint16_t xloadflags;
	uint8_t loadflags;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint32_t init_size;
	uint64_t pref_address;
	size_t payload_size; /* protected-mode kernel bytes */
};

static inline struct fx_bzimage fx_bzimage_default(void)
{
	return (struct fx_bzimage){
		.setup_sects = 4,
		.version = 0x020f,
		.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
		.loadflags = LOADED_HIGH,
		.cmdline_size = 2047,
		.initrd_addr_max = 0x7fffffff,
		.init_size = 0x800000,
		.pref_address = 0x1000000,
		.payload_size = 8192,
	};
}

/* A bzImage with a valid setup header and a patterned payload. */
static inline uint8_t *fx_bzimage_build(const struct fx_bzimage *o,
					size_t *size)
{
	size_t setup =
		((size_t)(o->setup_sects ? o->setup_sects : 4) + 1) * 512;
	uint8_t *img = calloc(1, setup + o->payload_size);
	struct setup_header h;

	ck_assert_ptr_nonnull(img);
	memset(&h, 0, sizeof(h));
	h.setup_sects = o->setup_sects;
	h.boot_flag = 0xaa55;
	h.jump = 0x66eb; /* jmp short to 0x268 */
	h.header = 0x53726448;
	h.version = o->version;
	h.loadflags = o->loadflags;
	h.cmdline_size = o->cmdline_size;
	h.initrd_addr_max = o->initrd_addr_max;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = o->xloadflags;
	h.pref_address = o->pref_address;
	h.init_size = o->init_size;
	h.syssize = (uint32_t)(o->payload_size / 16);
	memcpy(img + 0x1f1, &h, sizeof(h));
	/* Something after the header that must not reach the zero page. */
	img[0x290] = 0xee;
	for (size_t i = 0; i < o->payload_size; i++)
		img[setup + i] = fx_pattern(i);
	*size = setup + o->payload_size;
	return img;
}

#define FX_ELF_PADDR 0x1000000ULL
#define FX_ELF_VADDR 0xffffffff81000000ULL

struct fx_elf {
	bool pvh;	     /* add the Xen PHYS32_ENTRY note */
	uint32_t pvh_descsz; /* 4 or 8 */
	uint64_t pvh_entry;
	uint64_t entry;	    /* e_entry */
	size_t filesz;	    /* first PT_LOAD bytes */
	uint64_t memsz;	    /* first PT_LOAD memory size */
	uint64_t bss_paddr; /* second PT_LOAD: all bss, 0 = none */
	uint64_t bss_size;
};

static inline struct fx_elf fx_elf_default(void)
{
	return (struct fx_elf){
		.pvh_descsz = 8,
		.pvh_entry = FX_ELF_PADDR + 0x40,
		.entry = FX_ELF_VADDR + 0x10,
		.filesz = 4096,
		.memsz = 8192,
	};
}

/* Layout: ehdr, 3 phdrs (LOAD, LOAD, NOTE), note, segment data. */
#define FX_ELF_PHNUM 3
#define FX_ELF_NOTE_OFF (sizeof(Elf64_Ehdr) + FX_ELF_PHNUM * sizeof(Elf64_Phdr))
#define FX_ELF_NOTE_SIZE (sizeof(Elf64_Nhdr) + 4 + 8)
#define FX_ELF_DATA_OFF 0x200

static inline uint8_t *fx_elf_build(const struct fx_elf *o, size_t *size)
{
	size_t total = FX_ELF_DATA_OFF + o->filesz;
	uint8_t *img = calloc(1, total);
	Elf64_Ehdr eh;
	Elf64_Phdr ph[FX_ELF_PHNUM];
	Elf64_Nhdr nh;

	ck_assert_ptr_nonnull(img);
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = o->entry;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = FX_ELF_PHNUM;
	memcpy(img, &eh, sizeof(eh));

	memset(ph, 0, sizeof(ph));
	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = FX_ELF_DATA_OFF;
	ph[0].p_vaddr = FX_ELF_VADDR;
	ph[0].p_paddr = FX_ELF_PADDR;
	ph[0].p_filesz = o->filesz;
	ph[0].p_memsz = o->memsz;
	ph[0].p_align = 0x200000;
	/* A second PT_LOAD (or a PT_NULL when unused). */
	if (o->bss_paddr) {
		ph[1].p_type = PT_LOAD;
		ph[1].p_offset = FX_ELF_DATA_OFF;
		ph[1].p_vaddr = o->bss_paddr + (FX_ELF_VADDR - FX_ELF_PADDR);
		ph[1].p_paddr = o->bss_paddr;
		ph[1].p_memsz = o->bss_size;
	}
	ph[2].p_type = o->pvh ? PT_NOTE : PT_NULL;
	ph[2].p_offset = FX_ELF_NOTE_OFF;
	ph[2].p_filesz = sizeof(nh) + 4 + o->pvh_descsz;
	ph[2].p_align = 4;
	memcpy(img + sizeof(eh), ph, sizeof(ph));

	nh.n_namesz = 4;
	nh.n_descsz = o->pvh_descsz;
	nh.n_type = XEN_ELFNOTE_PHYS32_ENTRY;
	memcpy(img + FX_ELF_NOTE_OFF, &nh, sizeof(nh));
	memcpy(img + FX_ELF_NOTE_OFF + sizeof(nh), "Xen", 4);
	memcpy(img + FX_ELF_NOTE_OFF + sizeof(nh) + 4, &o->pvh_entry,
	       o->pvh_descsz <= 8 ? o->pvh_descsz : 8);

	for (size_t i = 0; i < o->filesz; i++)
		img[FX_ELF_DATA_OFF + i] = fx_pattern(i);
	*size = total;
	return img;
}

/* Offsets of program header i fields inside an fx_elf image. */
static inline Elf64_Phdr *fx_elf_phdr(uint8_t *img, unsigned int i)
{
	return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr) +
			      i * sizeof(Elf64_Phdr));
}

static inline Elf64_Ehdr *fx_elf_ehdr(uint8_t *img)
{
	return (Elf64_Ehdr *)img;
}

static inline void fx_mem_init(struct guest_mem *m, uint64_t size)
{
	ck_assert_int_eq(guest_mem_init(m, size), 0);
}

static inline uint64_t fx_rd(const struct guest_mem *m, uint64_t gpa,
			     size_t len)
{
	uint64_t v = 0;

	ck_assert_int_eq(gmem_read(m, gpa, &v, len), 0);
	return v;
}

static inline uint8_t fx_sum(const struct guest_mem *m, uint64_t gpa,
			     size_t len)
{
	const uint8_t *p = gmem_ptr(m, gpa, len);
	uint8_t s = 0;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

static inline struct boot_args fx_args(const uint8_t *kernel, size_t size)
{
	return (struct boot_args){
		.kernel = kernel,
		.kernel_size = size,
		.cmdline = "console=ttyS0 reboot=k panic=1",
		.ncpus = 2,
	};
}

#endif
