#include "guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "x86_layout.h"

int guest_mem_init(struct guest_mem *m, uint64_t size)
{
	uint64_t low;
	int ret;

	memset(m, 0, sizeof(*m));
	m->memfd = -1;
	if (size < MiB(2) || size > GiB(1024) || size % KiB(4))
		return -EINVAL;

	m->memfd = memfd_create("kvmlite-ram", MFD_CLOEXEC);
	if (m->memfd < 0)
		return -errno;
	if (ftruncate(m->memfd, (off_t)size) < 0) {
		ret = -errno;
		goto err_close;
	}
	/* NORESERVE: guest RAM is touched lazily, as the guest uses it. */
	m->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_NORESERVE, m->memfd, 0);
	if (m->base == MAP_FAILED) {
		ret = -errno;
		m->base = NULL;
		goto err_close;
	}
	m->size = size;
	/* Transparent huge pages where the host allows them for shared
	 * memory (shmem_enabled = advise): a guest's first touch of fresh
	 * RAM then costs one nested page fault per 2 MiB, not per 4 KiB.
	 * Advice only: failure changes nothing. */
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

err_close:
	close(m->memfd);
	m->memfd = -1;
	return ret;
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
