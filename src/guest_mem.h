/* Guest physical memory: the one bounds-checked way to touch guest RAM. */
#ifndef KVMLITE_GUEST_MEM_H
#define KVMLITE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 2

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

/*
 * What backs guest RAM. Nothing outside this process maps it, so it is
 * private anonymous memory, which the host's default THP setting
 * ("enabled" = madvise or always) backs with 2 MiB pages once advised;
 * shared memory (a memfd) would need shmem_enabled = advise, which
 * Debian's default (never) is not.
 */
enum gmem_backing {
	GMEM_ANON,    /* private anonymous, MADV_HUGEPAGE, 2 MiB aligned */
	GMEM_HUGETLB, /* private anonymous from the hugetlb pool (2 MiB) */
};

struct guest_mem {
	struct guest_region regions[GMEM_MAX_REGIONS];
	int nr_regions;
	uint64_t size; /* total RAM bytes */
	int memfd;     /* backing memfd, -1 when anonymous */
	uint8_t *base; /* one mapping of all of RAM */
	enum gmem_backing backing;

	/* Snapshots: RAM mapped privately from a snapshot's memory file
	 * (guest_mem_init_file(), guest_mem_map_file()); file_fd is ours. */
	bool file_backed;
	int file_fd;
	uint64_t file_offset;
};

/*
 * Allocate @size bytes of guest RAM (GMEM_ANON), laid out by the architecture
 * (arch_ram_regions(); x86: below the 32-bit MMIO hole and, for the rest,
 * from 4 GiB up).
 */
int guest_mem_init(struct guest_mem *m, uint64_t size);

/*
 * The same with a chosen backing. GMEM_HUGETLB needs @size to be a
 * multiple of 2 MiB (-EINVAL) and that many free pages in the host's pool,
 * reserved now: -ENOSPC when the pool has too few.
 */
int guest_mem_init_backed(struct guest_mem *m, uint64_t size,
			  enum gmem_backing backing);
void guest_mem_free(struct guest_mem *m);

/*
 * Host pointer for [gpa, gpa+len) or NULL when any byte of it is not RAM or
 * the range crosses a region edge. len == 0 is valid for any RAM gpa.
 */
void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy to/from guest RAM; -EFAULT when the range is not all RAM. Ranges may
 * span regions. */
int gmem_read(const struct guest_mem *m, uint64_t gpa, void *dst, size_t len);
int gmem_write(const struct guest_mem *m, uint64_t gpa, const void *src,
	       size_t len);
int gmem_fill(const struct guest_mem *m, uint64_t gpa, int c, size_t len);

/*
 * Snapshots. Guest RAM of @size bytes read from file @fd at @offset (a
 * multiple of 4 KiB), mapped privately: pages are read as the guest
 * touches them and its writes stay in this process (copy-on-write), so
 * the cost does not grow with @size, and any number of VMs may run from
 * one file. The file must not change while mapped. The layout is
 * guest_mem_init()'s. 0 or -errno.
 */
int guest_mem_init_file(struct guest_mem *m, uint64_t size, int fd,
			uint64_t offset);
/* Map @fd at @offset over the whole RAM in place (the same host
 * addresses: KVM's memory slots and every pointer stay valid): RAM reads
 * as the file from now on; its old backing (anonymous or hugetlb) is
 * released. Like any guest RAM, it is left out of a fork. */
int guest_mem_map_file(struct guest_mem *m, int fd, uint64_t offset);
/* A file-backed RAM drops its private copies: it reads as its file again
 * (-EINVAL when not file-backed). */
int guest_mem_discard_private(struct guest_mem *m);
/*
 * Write RAM's bytes to @fd from @offset (RAM offset 0 there, the whole
 * size, the file made that long): only pages that may hold data are
 * looked at (the pages /proc/self/pagemap, open at @pagemap_fd, shows
 * present or swapped in anonymous RAM, or this process changed or the
 * backing file holds in file-backed RAM; all of them when @pagemap_fd is
 * -1), and all-zero pages are
 * left as holes. Stops with -ECANCELED once *@stop is set (NULL: never).
 */
int guest_mem_save(const struct guest_mem *m, int fd, uint64_t offset,
		   int pagemap_fd, const volatile int *stop);

/*
 * gmem_write() for boot images, with the same result in RAM the guest has
 * not run on: a 4 KiB page of @src that is all zeros (@src NULL: zeros
 * throughout) is written only where RAM may not read zero already, so
 * fresh guest RAM under an image's zero pages (half of Debian's vmlinux)
 * is never touched: not allocated, not copied.
 */
int gmem_write_image(const struct guest_mem *m, uint64_t gpa, const void *src,
		     size_t len);

/* End of RAM below 4 GiB (exclusive). */
uint64_t gmem_low_end(const struct guest_mem *m);

#endif
