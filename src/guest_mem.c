#include "guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "x86_layout.h"

/* An anonymous mapping whose start is 2 MiB aligned, so guest-physical
 * and host-virtual addresses agree modulo 2 MiB and a host huge page can
 * back a guest's 2 MiB page; the slack around it is unmapped. */
static void *map_aligned(uint64_t size)
{
	const uint64_t align = MiB(2);
	uint8_t *p, *start;
	uint64_t head;

	/* NORESERVE: guest RAM is touched lazily, as the guest uses it. */
	p = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return MAP_FAILED;
	start = (uint8_t *)(((uintptr_t)p + align - 1) & ~(align - 1));
	head = (uint64_t)(start - p);
	if (head)
		munmap(p, head);
	munmap(start + size, align - head);
	return start;
}

int guest_mem_init_backed(struct guest_mem *m, uint64_t size,
			  enum gmem_backing backing)
{
	uint64_t low;
	int ret;

	memset(m, 0, sizeof(*m));
	m->memfd = -1;
	if (size < MiB(2) || size > GiB(1024) || size % KiB(4))
		return -EINVAL;

	switch (backing) {
	case GMEM_ANON:
		m->base = map_aligned(size);
		break;
	case GMEM_HUGETLB:
		if (size % MiB(2))
			return -EINVAL;
		/* Reserved at mmap time (no NORESERVE): a short pool fails
		 * here, not with a SIGBUS when the guest touches its RAM. */
		m->base =
			mmap(NULL, size, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		break;
	default:
		return -EINVAL;
	}
	if (m->base == MAP_FAILED) {
		ret = -errno;
		m->base = NULL;
		return backing == GMEM_HUGETLB && ret == -ENOMEM ? -ENOSPC
								 : ret;
	}
	m->size = size;
	m->backing = backing;
	/* A program embedding the library may fork (to exec a helper): the
	 * child gets no copy of guest RAM, and the parent's guest keeps
	 * writing its RAM without copy-on-write faults. */
	(void)madvise(m->base, size, MADV_DONTFORK);
	/* Transparent huge pages: a guest's first touch of fresh RAM then
	 * costs one nested page fault per 2 MiB, not per 4 KiB. Advice
	 * only: failure (THP off on the host) changes nothing. */
	if (backing == GMEM_ANON)
		(void)madvise(m->base, size, MADV_HUGEPAGE);

	low = size < LAYOUT_MMIO_HOLE ? size : LAYOUT_MMIO_HOLE;
	m->regions[0] = (struct guest_region){ 0, low, m->base };
	m->nr_regions = 1;
	if (size > low) {
		m->regions[1] =
			(struct guest_region){ LAYOUT_MMIO_HOLE_END, size - low,
					       m->base + low };
		m->nr_regions = 2;
	}
	return 0;
}

int guest_mem_init(struct guest_mem *m, uint64_t size)
{
	return guest_mem_init_backed(m, size, GMEM_ANON);
}

void guest_mem_free(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	if (m->memfd >= 0)
		close(m->memfd);
	memset(m, 0, sizeof(*m));
	m->memfd = -1;
}

static const struct guest_region *region_of(const struct guest_mem *m,
					    uint64_t gpa)
{
	for (int i = 0; i < m->nr_regions; i++) {
		const struct guest_region *r = &m->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const struct guest_region *r = region_of(m, gpa);
	uint64_t off;

	if (!r)
		return NULL;
	off = gpa - r->gpa;
	/* Written so that no addition can overflow. */
	if (len > r->size - off)
		return NULL;
	return r->hva + off;
}

/* Walk [gpa, gpa+len) region by region; -EFAULT at the first hole. */
static int gmem_copy(const struct guest_mem *m, uint64_t gpa, uint8_t *buf,
		     size_t len, int dir, int c)
{
	while (len) {
		const struct guest_region *r = region_of(m, gpa);
		uint64_t off, chunk;

		if (!r)
			return -EFAULT;
		off = gpa - r->gpa;
		chunk = r->size - off;
		if (chunk > len)
			chunk = len;
		if (dir == 0)
			memcpy(buf, r->hva + off, chunk);
		else if (dir == 1)
			memcpy(r->hva + off, buf, chunk);
		else
			memset(r->hva + off, c, chunk);
		if (buf)
			buf += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

/* True when every byte of [gpa, gpa+len) is RAM; checked before copying so
 * a failed access changes nothing. */
static bool gmem_range_ok(const struct guest_mem *m, uint64_t gpa, size_t len)
{
	if (len && gpa + len - 1 < gpa)
		return false;
	while (len) {
		const struct guest_region *r = region_of(m, gpa);
		uint64_t chunk;

		if (!r)
			return false;
		chunk = r->size - (gpa - r->gpa);
		if (chunk >= len)
			return true;
		gpa += chunk;
		len -= chunk;
	}
	return true;
}

int gmem_read(const struct guest_mem *m, uint64_t gpa, void *dst, size_t len)
{
	if (!gmem_range_ok(m, gpa, len))
		return -EFAULT;
	return gmem_copy(m, gpa, dst, len, 0, 0);
}

int gmem_write(const struct guest_mem *m, uint64_t gpa, const void *src,
	       size_t len)
{
	if (!gmem_range_ok(m, gpa, len))
		return -EFAULT;
	return gmem_copy(m, gpa, (uint8_t *)src, len, 1, 0);
}

int gmem_fill(const struct guest_mem *m, uint64_t gpa, int c, size_t len)
{
	if (!gmem_range_ok(m, gpa, len))
		return -EFAULT;
	return gmem_copy(m, gpa, NULL, len, 2, c);
}

uint64_t gmem_low_end(const struct guest_mem *m)
{
	return m->nr_regions ? m->regions[0].size : 0;
}
