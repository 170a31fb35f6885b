/* ELF vmlinux loading: PVH entry when the kernel has the Xen PHYS32_ENTRY
 * note, otherwise the 64-bit boot protocol at the (physical) ELF entry. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "loader/loader_internal.h"

struct elf_scan {
	unsigned int nr_loads;
	uint64_t image_end;
	bool has_pvh;
	uint64_t pvh_entry;
	bool linux_notes; /* a vmlinux carries notes owned by "Linux" */
};

bool elf_is_elf(const uint8_t *img, size_t size)
{
	return size >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Program header i, copied out: the image need not be aligned. The table
 * was checked to be inside the file. */
static void elf_phdr(const uint8_t *img, const Elf64_Ehdr *eh, unsigned int i,
		     Elf64_Phdr *ph)
{
	memcpy(ph, img + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

/* Find the PVH entry note in one PT_NOTE segment (already within file). */
static int elf_scan_notes(const uint8_t *img, const Elf64_Phdr *ph,
			  unsigned int idx, struct elf_scan *s, char *err,
			  size_t errlen)
{
	uint64_t align = ph->p_align == 8 ? 8 : 4;
	uint64_t pos = ph->p_offset, end = ph->p_offset + ph->p_filesz;

	while (end - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_len, desc_len;
		const uint8_t *name, *desc;

		memcpy(&nh, img + pos, sizeof(nh));
		pos += sizeof(nh);
		/* 32-bit sizes cannot overflow 64-bit arithmetic here. */
		name_len = align_up(nh.n_namesz, align);
		desc_len = align_up(nh.n_descsz, align);
		if (name_len > end - pos || desc_len > end - pos - name_len)
			return err_fmt(
				err, errlen, -EINVAL,
				"malformed ELF note in program header %u", idx);
		name = img + pos;
		desc = img + pos + name_len;
		pos += name_len + desc_len;

		if (nh.n_namesz == 6 && !memcmp(name, "Linux", 6))
			s->linux_notes = true;
		if (nh.n_namesz != 4 || memcmp(name, "Xen", 4) != 0 ||
		    nh.n_type != XEN_ELFNOTE_PHYS32_ENTRY)
			continue;
		if (nh.n_descsz == 4) {
			uint32_t v;

			memcpy(&v, desc, 4);
			s->pvh_entry = v;
		} else if (nh.n_descsz == 8) {
			memcpy(&s->pvh_entry, desc, 8);
		} else {
			return err_fmt(err, errlen, -EINVAL,
				       "Xen PHYS32_ENTRY note has %u-byte "
				       "value (need 4 or 8)",
				       nh.n_descsz);
		}
		s->has_pvh = true;
	}
	return 0;
}

static int elf_check_load(const Elf64_Phdr *ph, unsigned int idx,
			  uint64_t low_end, char *err, size_t errlen)
{
	if (ph->p_filesz > ph->p_memsz)
		return err_fmt(err, errlen, -EINVAL,
			       "ELF segment %u: file size 0x%llx exceeds "
			       "memory size 0x%llx",
			       idx, (unsigned long long)ph->p_filesz,
			       (unsigned long long)ph->p_memsz);
	/* Our tables live below 1 MiB; the kernel must not overwrite them. */
	if (ph->p_paddr < LAYOUT_KERNEL)
		return err_fmt(err, errlen, -EINVAL,
			       "ELF segment %u at 0x%llx is below 1 MiB "
			       "(reserved for boot tables)",
			       idx, (unsigned long long)ph->p_paddr);
	if (ph->p_paddr >= low_end || ph->p_memsz > low_end - ph->p_paddr)
		return err_fmt(
			err, errlen, -E2BIG,
			"ELF segment %u (0x%llx bytes at 0x%llx) is outside "
			"guest RAM below 4 GiB (ends at 0x%llx)",
			idx, (unsigned long long)ph->p_memsz,
			(unsigned long long)ph->p_paddr,
			(unsigned long long)low_end);
	return 0;
}

/* Physical entry: e_entry is physical in recent vmlinux, virtual in older
 * ones; accept either when it falls in a loaded segment. */
static bool elf_entry_phys(const uint8_t *img, const Elf64_Ehdr *eh,
			   uint64_t entry, uint64_t *phys)
{
	Elf64_Phdr ph;

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		elf_phdr(img, eh, i, &ph);
		if (ph.p_type == PT_LOAD && entry >= ph.p_paddr &&
		    entry - ph.p_paddr < ph.p_memsz) {
			*phys = entry;
			return true;
		}
	}
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		elf_phdr(img, eh, i, &ph);
		if (ph.p_type == PT_LOAD && entry >= ph.p_vaddr &&
		    entry - ph.p_vaddr < ph.p_memsz) {
			*phys = entry - ph.p_vaddr + ph.p_paddr;
			return true;
		}
	}
	return false;
}

int elf_load(const struct guest_mem *m, const uint8_t *img, size_t size,
	     struct kernel_info *ki, char *err, size_t errlen)
{
	uint64_t low_end = gmem_low_end(m);
	struct elf_scan s = { 0 };
	Elf64_Phdr phdr, *ph = &phdr;
	Elf64_Ehdr eh;
	uint64_t entry;
	int ret;

	if (size < EI_NIDENT || !elf_is_elf(img, size))
		return err_fmt(err, errlen, -ENOEXEC,
			       "not an ELF file (bad magic)");
	if (img[EI_CLASS] != ELFCLASS64)
		return err_fmt(err, errlen, -ENOEXEC,
			       "ELF class %u is not ELFCLASS64: need a "
			       "64-bit x86-64 vmlinux",
			       img[EI_CLASS]);
	if (img[EI_DATA] != ELFDATA2LSB)
		return err_fmt(
			err, errlen, -ENOEXEC,
			"ELF is not little-endian: need an x86-64 vmlinux");
	if (size < sizeof(eh))
		return err_fmt(
			err, errlen, -EINVAL,
			"ELF header truncated: file is %zu bytes, need %zu",
			size, sizeof(eh));
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_machine != EM_X86_64)
		return err_fmt(err, errlen, -ENOEXEC,
			       "ELF machine %u is not x86-64 (%u)",
			       eh.e_machine, EM_X86_64);
	if (eh.e_type != ET_EXEC)
		return err_fmt(err, errlen, -ENOEXEC,
			       "ELF type %u is not an executable (ET_EXEC)",
			       eh.e_type);
	if (eh.e_phnum == 0 || eh.e_phnum == PN_XNUM)
		return err_fmt(err, errlen, -EINVAL,
			       "ELF has %s program headers",
			       eh.e_phnum ? "extended-numbered" : "no");
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return err_fmt(err, errlen, -EINVAL,
			       "ELF program header size %u is not %zu",
			       eh.e_phentsize, sizeof(Elf64_Phdr));
	if (eh.e_phoff > size ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > size - eh.e_phoff)
		return err_fmt(
			err, errlen, -EINVAL,
			"ELF program headers (%u at offset 0x%llx) extend past "
			"the end of the file (%zu bytes)",
			eh.e_phnum, (unsigned long long)eh.e_phoff, size);

	/* Validate everything before writing anything. */
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		elf_phdr(img, &eh, i, ph);
		if (ph->p_type != PT_LOAD && ph->p_type != PT_NOTE)
			continue;
		if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
			return err_fmt(err, errlen, -EINVAL,
				       "ELF segment %u (0x%llx bytes at "
				       "offset 0x%llx) extends past the "
				       "end of the file (%zu bytes)",
				       i, (unsigned long long)ph->p_filesz,
				       (unsigned long long)ph->p_offset, size);
		if (ph->p_type == PT_NOTE) {
			ret = elf_scan_notes(img, ph, i, &s, err, errlen);
			if (ret)
				return ret;
			continue;
		}
		ret = elf_check_load(ph, i, low_end, err, errlen);
		if (ret)
			return ret;
		s.nr_loads++;
		if (ph->p_paddr + ph->p_memsz > s.image_end)
			s.image_end = ph->p_paddr + ph->p_memsz;
	}
	if (!s.nr_loads)
		return err_fmt(err, errlen, -EINVAL,
			       "ELF has no PT_LOAD segments");

	if (s.has_pvh) {
		entry = s.pvh_entry;
		if (!elf_entry_phys(img, &eh, entry, &entry) ||
		    entry != s.pvh_entry)
			return err_fmt(err, errlen, -EINVAL,
				       "PVH entry point 0x%llx is outside "
				       "the loaded segments",
				       (unsigned long long)s.pvh_entry);
	} else if (!elf_entry_phys(img, &eh, eh.e_entry, &entry)) {
		return err_fmt(
			err, errlen, -EINVAL,
			"ELF entry point 0x%llx is outside the loaded segments",
			(unsigned long long)eh.e_entry);
	}

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		elf_phdr(img, &eh, i, ph);
		if (ph->p_type != PT_LOAD)
			continue;
		ret = gmem_write_image(m, ph->p_paddr, img + ph->p_offset,
				       ph->p_filesz);
		if (!ret)
			ret = gmem_write_image(m, ph->p_paddr + ph->p_filesz,
					       NULL,
					       ph->p_memsz - ph->p_filesz);
		if (ret)
			return err_fmt(
				err, errlen, ret,
				"cannot write ELF segment %u to guest memory",
				i);
	}

	ki->proto = s.has_pvh ? BOOT_PROTO_PVH : BOOT_PROTO_LINUX64;
	ki->linux_kernel = s.linux_notes;
	ki->entry = entry;
	ki->image_end = s.image_end;
	ki->initrd_max = UINT64_MAX; /* no header limit: end of low RAM */
	ki->cmdline_max = LAYOUT_CMDLINE_MAX - 1;
	return 0;
}
