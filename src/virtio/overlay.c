/* A disk's copy-on-write overlay. See overlay.h. */
#include "virtio/overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapfile.h"
#include "virtio/iov.h"

/* A chain's data is at most a queue's worth of segments. */
#define OVERLAY_MAX_SEGS 256

static uint64_t map_bytes(uint64_t nr_clusters)
{
	return (nr_clusters + 7) / 8;
}

static bool bit(const uint8_t *map, uint64_t c)
{
	return map[c / 8] & (1u << (c % 8));
}

static void set_bit(uint8_t *map, uint64_t c)
{
	map[c / 8] |= (uint8_t)(1u << (c % 8));
}

/* The live layer: an unnamed file where temporary files go. */
static int make_live(uint64_t size)
{
	const char *dirs[] = { getenv("TMPDIR"), "/var/tmp", "/tmp" };
	int fd = -1, ret = -ENOENT;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		ret = -errno;
	}
	if (fd < 0)
		return ret;
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int overlay_open(struct overlay *o, int base_fd, uint64_t size)
{
	int ret;

	memset(o, 0, sizeof(*o));
	o->base_fd = base_fd;
	o->size = size;
	o->nr_clusters = (size + OVERLAY_CLUSTER - 1) / OVERLAY_CLUSTER;
	o->snap_fd = -1;
	o->live_fd = -1;
	o->snap_map = calloc(map_bytes(o->nr_clusters) + 1, 1);
	o->live_map = calloc(map_bytes(o->nr_clusters) + 1, 1);
	o->bounce = malloc(OVERLAY_CLUSTER);
	if (!o->snap_map || !o->live_map || !o->bounce) {
		ret = -ENOMEM;
		goto fail;
	}
	o->live_fd = make_live(size);
	if (o->live_fd < 0) {
		ret = o->live_fd;
		o->live_fd = -1;
		goto fail;
	}
	return 0;
fail:
	overlay_close(o);
	return ret;
}

void overlay_close(struct overlay *o)
{
	if (o->live_fd >= 0)
		close(o->live_fd);
	if (o->snap_fd >= 0)
		close(o->snap_fd);
	free(o->snap_map);
	free(o->live_map);
	free(o->bounce);
	memset(o, 0, sizeof(*o));
	o->live_fd = o->snap_fd = o->base_fd = -1;
}

/* All @len bytes of @iov at file offset @off, through short transfers;
 * a file that ends early is -EIO. */
static int full_io(int fd, const struct iovec *iov, unsigned int nr,
		   uint64_t off, size_t len, bool write)
{
	struct iovec v[OVERLAY_MAX_SEGS];
	size_t done = 0;

	while (done < len) {
		unsigned int n = iov_slice(iov, nr, done, len - done, v);
		ssize_t k;

		k = write ? pwritev(fd, v, (int)n, (off_t)(off + done))
			  : preadv(fd, v, (int)n, (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (!k)
			return -EIO;
		done += (size_t)k;
	}
	return 0;
}

static int full_buf_io(int fd, void *buf, size_t len, uint64_t off, bool write)
{
	struct iovec v = { buf, len };

	return full_io(fd, &v, 1, off, len, write);
}

/* The fd that holds cluster @c now. */
static int layer_of(const struct overlay *o, uint64_t c)
{
	if (bit(o->live_map, c))
		return o->live_fd;
	if (o->snap_fd >= 0 && bit(o->snap_map, c))
		return o->snap_fd;
	return o->base_fd;
}

static uint64_t cluster_len(const struct overlay *o, uint64_t c)
{
	uint64_t start = c * OVERLAY_CLUSTER;

	return o->size - start < OVERLAY_CLUSTER ? o->size - start
						 : OVERLAY_CLUSTER;
}

static int read_runs(struct overlay *o, const struct iovec *iov,
		     unsigned int nr, uint64_t off, size_t len)
{
	uint64_t pos = off, end = off + len;

	while (pos < end) {
		uint64_t c = pos / OVERLAY_CLUSTER, run_end;
		int fd = layer_of(o, c);
		struct iovec v[OVERLAY_MAX_SEGS];
		unsigned int n;
		int ret;

		/* The clusters after it in the same layer, in one call. */
		run_end = (c + 1) * OVERLAY_CLUSTER;
		while (run_end < end &&
		       layer_of(o, run_end / OVERLAY_CLUSTER) == fd)
			run_end += OVERLAY_CLUSTER;
		if (run_end > end)
			run_end = end;
		n = iov_slice(iov, nr, pos - off, run_end - pos, v);
		ret = full_io(fd, v, n, pos, run_end - pos, false);
		if (ret)
			return ret;
		pos = run_end;
	}
	return 0;
}

/* Bring cluster @c into the live layer from the layer below. */
static int copy_up(struct overlay *o, uint64_t c)
{
	uint64_t n = cluster_len(o, c);
	int ret;

	ret = full_buf_io(layer_of(o, c), o->bounce, n, c * OVERLAY_CLUSTER,
			  false);
	if (!ret)
		ret = full_buf_io(o->live_fd, o->bounce, n, c * OVERLAY_CLUSTER,
				  true);
	if (!ret)
		set_bit(o->live_map, c);
	return ret;
}

/* Whether the write [off, end) leaves part of cluster @c unwritten. */
static bool partial(const struct overlay *o, uint64_t c, uint64_t off,
		    uint64_t end)
{
	uint64_t start = c * OVERLAY_CLUSTER;

	return off > start || end < start + cluster_len(o, c);
}

ssize_t overlay_rw(struct overlay *o, const struct iovec *iov, unsigned int nr,
		   uint64_t off, size_t len, bool write)
{
	uint64_t end = off + len, first, last;
	int ret;

	if (nr > OVERLAY_MAX_SEGS || off > o->size || len > o->size - off)
		return -EINVAL;
	if (!len)
		return 0;
	if (!write) {
		ret = read_runs(o, iov, nr, off, len);
		return ret ? ret : (ssize_t)len;
	}
	first = off / OVERLAY_CLUSTER;
	last = (end - 1) / OVERLAY_CLUSTER;
	if (!bit(o->live_map, first) && partial(o, first, off, end)) {
		ret = copy_up(o, first);
		if (ret)
			return ret;
	}
	if (last != first && !bit(o->live_map, last) &&
	    partial(o, last, off, end)) {
		ret = copy_up(o, last);
		if (ret)
			return ret;
	}
	ret = full_io(o->live_fd, iov, nr, off, len, true);
	if (ret)
		return ret;
	for (uint64_t c = first; c <= last; c++)
		set_bit(o->live_map, c);
	return (ssize_t)len;
}

/* Drop every block of the live layer (it reads as zeros again). */
static int empty_live(struct overlay *o)
{
	if (fallocate(o->live_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      (off_t)o->size) < 0) {
		if (ftruncate(o->live_fd, 0) < 0 ||
		    ftruncate(o->live_fd, (off_t)o->size) < 0)
			return -errno;
	}
	memset(o->live_map, 0, map_bytes(o->nr_clusters));
	return 0;
}

int overlay_reset(struct overlay *o)
{
	return empty_live(o);
}

int overlay_save(struct overlay *o, int fd, struct snap_writer *w)
{
	uint64_t nb = map_bytes(o->nr_clusters);
	uint8_t *map = calloc(nb + 1, 1);
	int ret = 0;

	if (!map)
		return -ENOMEM;
	if (ftruncate(fd, (off_t)o->size) < 0) {
		ret = -errno;
		goto out;
	}
	for (uint64_t c = 0; c < o->nr_clusters; c++) {
		uint64_t n = cluster_len(o, c);
		int from = layer_of(o, c);

		if (from == o->base_fd)
			continue;
		ret = full_buf_io(from, o->bounce, n, c * OVERLAY_CLUSTER,
				  false);
		if (!ret)
			ret = full_buf_io(fd, o->bounce, n, c * OVERLAY_CLUSTER,
					  true);
		if (ret)
			goto out;
		set_bit(map, c);
	}
	/* Durable before the snapshot that names it is. */
	if (fdatasync(fd) < 0) {
		ret = -errno;
		goto out;
	}
	ret = empty_live(o);
	if (ret)
		goto out;
	snap_put_u64(w, o->nr_clusters);
	snap_put_bytes(w, map, nb);
	if (o->snap_fd >= 0)
		close(o->snap_fd);
	o->snap_fd = fd;
	free(o->snap_map);
	o->snap_map = map;
	return 0;
out:
	free(map);
	return ret;
}

/* The map in @r into @map (map_bytes() of it): false for one of another
 * disk's size, or with bits past its last cluster. */
static bool read_map(const struct overlay *o, struct snap_reader *r,
		     uint8_t *map)
{
	uint64_t n = snap_get_u64(r), nb = map_bytes(o->nr_clusters);

	if (r->err || n != o->nr_clusters)
		return false;
	snap_get_bytes(r, map, nb);
	if (r->err)
		return false;
	for (uint64_t c = n; c < nb * 8; c++)
		if (bit(map, c))
			return false;
	return true;
}

int overlay_restore(struct overlay *o, int fd, struct snap_reader *r)
{
	uint64_t nb = map_bytes(o->nr_clusters);
	uint8_t *map = calloc(nb + 1, 1);
	bool any = false;
	struct stat st;
	int ret;

	if (!map)
		return -ENOMEM;
	ret = -EINVAL;
	if (!read_map(o, r, map))
		goto fail;
	for (uint64_t i = 0; i < nb && !any; i++)
		any = map[i] != 0;
	if (any &&
	    (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size < o->size))
		goto fail;
	ret = empty_live(o);
	if (ret)
		goto fail;
	if (o->snap_fd >= 0)
		close(o->snap_fd);
	o->snap_fd = fd;
	free(o->snap_map);
	o->snap_map = map;
	return 0;
fail:
	free(map);
	return ret;
}

bool overlay_map_matches(const struct overlay *o, struct snap_reader *r)
{
	uint64_t nb = map_bytes(o->nr_clusters);
	uint8_t *map = calloc(nb + 1, 1);
	bool same;

	if (!map)
		return false;
	same = read_map(o, r, map) && !memcmp(map, o->snap_map, nb);
	free(map);
	return same;
}
