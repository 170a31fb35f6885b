#include "guest_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch.h"
#include "util.h"

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

	m->nr_regions = arch_ram_regions(size, m->base, m->regions);
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
	if (m->file_backed)
		close(m->file_fd);
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

static bool all_zero(const uint8_t *p, size_t n)
{
	return !n || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/* The 2 MiB block whose pages' residency vec holds (or NULL). */
struct residency {
	uint8_t *block;
	unsigned char vec[512];
};

/*
 * Whether the page at @p (page-aligned) may hold anything but zeros.
 * Private anonymous or hugetlb RAM: only if it is resident, asked of the
 * kernel per 2 MiB (one mincore() call each), not by reading: a read maps
 * the shared zero page, and the guest's first write there then faults one
 * 4 KiB page at a time, where fresh RAM would take a 2 MiB huge page at
 * once. (A page swapped out would read as "not resident"; images are
 * loaded into RAM the guest has not run on yet.) RAM backed by a file or
 * memfd may hold data that is not resident: always.
 */
static bool page_resident(const struct guest_mem *m, struct residency *rs,
			  uint8_t *p)
{
	uint8_t *block = (uint8_t *)((uintptr_t)p & ~(uintptr_t)(MiB(2) - 1));

	if (m->file_backed || m->memfd >= 0)
		return true;
	if (rs->block != block) {
		/* Guest RAM starts 2 MiB aligned (map_aligned) and ends on a
		 * page; past its end mincore() fails: all taken as resident. */
		rs->block = block;
		memset(rs->vec, 1, sizeof(rs->vec));
		(void)mincore(block, MiB(2), rs->vec);
	}
	return rs->vec[(p - block) / KiB(4)] & 1;
}

int gmem_write_image(const struct guest_mem *m, uint64_t gpa, const void *src,
		     size_t len)
{
	struct residency rs = { .block = NULL };
	const uint8_t *s = src;

	if (!gmem_range_ok(m, gpa, len))
		return -EFAULT;
	while (len) {
		/* One page at a time: regions start and end on pages. */
		size_t chunk = KiB(4) - (size_t)(gpa % KiB(4));
		const struct guest_region *r = region_of(m, gpa);
		uint8_t *d;

		if (!r)
			return -EFAULT;
		if (chunk > len)
			chunk = len;
		d = r->hva + (gpa - r->gpa);
		if (s && !all_zero(s, chunk))
			memcpy(d, s, chunk);
		else if (page_resident(m, &rs, d - (gpa % KiB(4))) &&
			 !all_zero(d, chunk))
			memset(d, 0, chunk);
		if (s)
			s += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

uint64_t gmem_low_end(const struct guest_mem *m)
{
	return m->nr_regions ? m->regions[0].size : 0;
}

/* ---- snapshots ---- */

#define PAGE 4096ULL
/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61)	/* a file page, or shared anonymous */
#define SAVE_CHUNK_PAGES 512ULL /* 2 MiB between looks at *stop */

static void set_regions(struct guest_mem *m)
{
	m->nr_regions = arch_ram_regions(m->size, m->base, m->regions);
}

int guest_mem_init_file(struct guest_mem *m, uint64_t size, int fd,
			uint64_t offset)
{
	int own, ret;

	memset(m, 0, sizeof(*m));
	m->memfd = -1;
	if (size < MiB(2) || size > GiB(1024) || size % KiB(4) || offset % PAGE)
		return -EINVAL;
	own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		return -errno;
	m->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_NORESERVE, fd, (off_t)offset);
	if (m->base == MAP_FAILED) {
		ret = -errno;
		m->base = NULL;
		close(own);
		return ret;
	}
	m->size = size;
	m->file_backed = true;
	m->file_fd = own;
	m->file_offset = offset;
	/* A fork gets no copy of RAM, as with guest_mem_init_backed(). */
	(void)madvise(m->base, size, MADV_DONTFORK);
	set_regions(m);
	return 0;
}

int guest_mem_map_file(struct guest_mem *m, int fd, uint64_t offset)
{
	void *p;
	int own;

	if (!m->base || offset % PAGE)
		return -EINVAL;
	own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		return -errno;
	p = mmap(m->base, m->size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, (off_t)offset);
	if (p == MAP_FAILED) {
		int ret = -errno;

		close(own);
		return ret;
	}
	/* The new mapping replaced the old one's advice: a fork still gets
	 * no copy of RAM. */
	(void)madvise(m->base, m->size, MADV_DONTFORK);
	if (m->memfd >= 0)
		close(m->memfd);
	m->memfd = -1;
	if (m->file_backed)
		close(m->file_fd);
	m->file_backed = true;
	m->file_fd = own;
	m->file_offset = offset;
	return 0;
}

int guest_mem_discard_private(struct guest_mem *m)
{
	if (!m->file_backed)
		return -EINVAL;
	return madvise(m->base, m->size, MADV_DONTNEED) ? -errno : 0;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (size_t i = 0; i < PAGE / 8; i += 4)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
			return false;
	return true;
}

static int write_all(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	while (len) {
		size_t n = len > GiB(1) ? GiB(1) : len;
		ssize_t k = pwrite(fd, p, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (!k)
			return -EIO;
		p += k;
		off += (uint64_t)k;
		len -= (uint64_t)k;
	}
	return 0;
}

/* Pages [first, end) of RAM, non-zero runs to @fd. */
static int save_pages(const struct guest_mem *m, int fd, uint64_t offset,
		      uint64_t first, uint64_t end)
{
	uint64_t run = first;

	for (uint64_t pg = first; pg <= end; pg++) {
		bool data = pg < end && !page_is_zero(m->base + pg * PAGE);
		int ret;

		if (data)
			continue;
		if (pg > run) {
			ret = write_all(fd, m->base + run * PAGE,
					(pg - run) * PAGE, offset + run * PAGE);
			if (ret)
				return ret;
		}
		run = pg + 1;
	}
	return 0;
}

/* Where the backing file has data at or after RAM page @pg: [*start,
 * *end) in pages (*start = ~0 when no more). */
static void file_data_from(const struct guest_mem *m, uint64_t pg,
			   uint64_t *start, uint64_t *end)
{
	off_t s = lseek(m->file_fd, (off_t)(m->file_offset + pg * PAGE),
			SEEK_DATA);
	off_t e;

	*start = *end = ~0ULL;
	if (s < 0 && errno == ENXIO)
		return; /* no more data */
	if (s < 0) {
		/* Cannot tell: all of it may be data. */
		*start = pg;
		*end = m->size / PAGE;
		return;
	}
	e = lseek(m->file_fd, s, SEEK_HOLE);
	if (e < 0)
		e = (off_t)(m->file_offset + m->size);
	*start = ((uint64_t)s - m->file_offset) / PAGE;
	*end = ((uint64_t)e - m->file_offset + PAGE - 1) / PAGE;
}

int guest_mem_save(const struct guest_mem *m, int fd, uint64_t offset,
		   int pagemap_fd, const volatile int *stop)
{
	uint64_t pages = m->size / PAGE, data_start = ~0ULL, data_end = 0;
	uint64_t *pm = NULL;
	int ret = 0;

	if (ftruncate(fd, (off_t)(offset + m->size)) < 0)
		return -errno;
	if (pagemap_fd >= 0) {
		pm = malloc(SAVE_CHUNK_PAGES * sizeof(*pm));
		if (!pm)
			return -ENOMEM;
	}
	if (m->file_backed)
		file_data_from(m, 0, &data_start, &data_end);
	for (uint64_t c = 0; c < pages && !ret; c += SAVE_CHUNK_PAGES) {
		uint64_t n = pages - c < SAVE_CHUNK_PAGES ? pages - c
							  : SAVE_CHUNK_PAGES;
		uint64_t run = c;
		bool have_pm = false;

		if (stop && *stop) {
			ret = -ECANCELED;
			break;
		}
		if (pm) {
			uint64_t vpn = (uint64_t)(uintptr_t)m->base / PAGE + c;
			ssize_t k = pread(pagemap_fd, pm, n * sizeof(*pm),
					  (off_t)(vpn * sizeof(*pm)));

			have_pm = k == (ssize_t)(n * sizeof(*pm));
		}
		/* The runs of pages that may hold data, each saved. */
		for (uint64_t pg = c; pg <= c + n && !ret; pg++) {
			bool maybe = false;

			if (pg < c + n) {
				uint64_t e = have_pm ? pm[pg - c] : 0;

				while (m->file_backed && data_end <= pg &&
				       data_start != ~0ULL)
					file_data_from(m, data_end, &data_start,
						       &data_end);
				if (!have_pm)
					maybe = true;
				else if (e & PM_SWAPPED)
					maybe = true;
				else if ((e & PM_PRESENT) && !(e & PM_FILE))
					maybe = true; /* our own page */
				else if (!m->file_backed && (e & PM_PRESENT))
					maybe = true;
				if (m->file_backed && pg >= data_start &&
				    pg < data_end)
					maybe = true;
			}
			if (maybe)
				continue;
			if (pg > run)
				ret = save_pages(m, fd, offset, run, pg);
			run = pg + 1;
		}
	}
	free(pm);
	return ret;
}
