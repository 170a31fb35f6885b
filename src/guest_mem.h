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
};

/*
 * Allocate @size bytes of guest RAM (GMEM_ANON), laid out below the 32-bit
 * MMIO hole and, for the rest, from 4 GiB up.
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

/* End of RAM below 4 GiB (exclusive). */
uint64_t gmem_low_end(const struct guest_mem *m);

#endif
