/*
 * virtio-blk device. See blk.h for the lifecycle and threading rules.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "util.h"
#include "worker.h"
#include "virtio/iov.h"
#include "virtio/blk.h"
#include "virtio/loop.h"
#include "virtio/overlay.h"
#include "virtio/slots.h"
#include "snapfile.h"

/* At most this many requests per batch before the worker lets go of the
 * lock and polls again (a reset or a stop does not wait for the batch: it
 * cancels it, see below). */
#define BLK_BATCH_BUDGET (4 * VIRTQ_MAX_SIZE)
/*
 * The most work between two looks at worker_cancelled() (a stop, or a reset
 * waiting for the lock): BLK_CHUNK_BYTES of data read or written, or
 * BLK_RANGE_CHUNK_BYTES of disk discarded or zeroed (fallocate, BLKDISCARD,
 * BLKZEROOUT: cheaper per byte, dearer per call). A request may be 4 GiB,
 * 16 discard segments of 2 GiB: it is done in such chunks, and one that is
 * cancelled midway is dropped without a completion.
 */
#define BLK_CHUNK_BYTES (1U << 20)
#define BLK_RANGE_CHUNK_BYTES (16U << 20)

struct virtio_blk {
	struct virtio_mmio_dev mmio;
	int fd;
	unsigned int index;
	bool read_only;
	struct overlay *overlay; /* or NULL: writes go to the image */
	bool is_blkdev;
	uint64_t capacity; /* 512-byte sectors */
	uint64_t features;
	uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
	char serial[VIRTIO_BLK_ID_BYTES];

	/* Held by whoever processes the queue; a reset takes it too. */
	pthread_mutex_t lock;
	bool active; /* DRIVER_OK and not reset since */
	/* A cancelled request's chain, popped and not pushed (0 or 1): a
	 * quiesce gives it back. */
	unsigned int dropped;
	struct virtq_chain chain;
	struct blk_req req;

	struct worker worker; /* loads the I/O allow-list when asked */

	/* Completed requests, for kvmlite_vm_counters (relaxed atomics). */
	struct {
		uint64_t read_ops, read_bytes, write_ops, write_bytes;
		uint64_t flush_ops, discard_ops, errors;
	} counters;
};

#define BLK_COUNT(b, field, v)                                                 \
	__atomic_fetch_add(&(b)->counters.field, (uint64_t)(v),                \
			   __ATOMIC_RELAXED)

/* ---- request parsing ---- */

int virtio_blk_parse(const struct virtq_chain *c, struct blk_req *r)
{
	const struct iovec *out = c->iov;
	const struct iovec *in = c->iov + c->nr_out;
	const struct iovec *last;
	uint8_t hdr[VIRTIO_BLK_HDR_BYTES];
	uint64_t v64;
	uint32_t v32;

	r->type = 0;
	r->sector = 0;
	r->nr_data = 0;
	r->data_len = 0;
	r->status_ptr = NULL;
	r->status = VIRTIO_BLK_S_IOERR;
	/* The status byte ends the last device-writable buffer. Empty
	 * buffers never make it into a chain, so nr_in > 0 means a byte. */
	if (!c->nr_in || !c->in_len)
		return -EINVAL;
	last = &in[c->nr_in - 1];
	r->status_ptr = (uint8_t *)last->iov_base + last->iov_len - 1;

	if (!iov_to_buf(out, c->nr_out, 0, hdr, sizeof(hdr)))
		return 0; /* header too short: IOERR */
	memcpy(&v32, hdr, 4);
	r->type = le32toh(v32);
	memcpy(&v64, hdr + 8, 8);
	r->sector = le64toh(v64);

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		r->data_len = c->in_len - 1;
		r->nr_data = iov_slice(in, c->nr_in, 0, r->data_len, r->data);
		break;
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		r->data_len = c->out_len - VIRTIO_BLK_HDR_BYTES;
		r->nr_data = iov_slice(out, c->nr_out, VIRTIO_BLK_HDR_BYTES,
				       r->data_len, r->data);
		break;
	case VIRTIO_BLK_T_FLUSH:
		break;
	default:
		r->status = VIRTIO_BLK_S_UNSUPP;
		return 0;
	}
	if ((r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) &&
	    r->data_len % VIRTIO_BLK_SECTOR)
		return 0;
	if ((r->type == VIRTIO_BLK_T_DISCARD ||
	     r->type == VIRTIO_BLK_T_WRITE_ZEROES) &&
	    (!r->data_len || r->data_len % 16))
		return 0;
	r->status = VIRTIO_BLK_S_OK;
	return 0;
}

/* ---- execution ---- */

static bool range_ok(const struct virtio_blk *b, uint64_t sector,
		     uint64_t nr_sectors)
{
	return sector <= b->capacity && nr_sectors <= b->capacity - sector;
}

/*
 * Read or write the @len bytes of @iov at file offset @off, at most
 * BLK_CHUNK_BYTES per call, through short transfers and EINTR. *done:
 * bytes transferred. -EIO when the file ends early, -ECANCELED when the
 * worker was cancelled between two calls.
 */
static int rw_full(struct virtio_blk *b, const struct iovec *iov,
		   unsigned int nr, uint32_t len, uint64_t off, bool write,
		   uint32_t *done)
{
	struct iovec v[VIRTQ_MAX_SEGS];

	*done = 0;
	if (nr > VIRTQ_MAX_SEGS)
		return -EINVAL;
	while (*done < len) {
		uint32_t chunk = len - *done;
		unsigned int n;
		ssize_t k;

		if (worker_cancelled(&b->worker))
			return -ECANCELED;
		if (chunk > BLK_CHUNK_BYTES)
			chunk = BLK_CHUNK_BYTES;
		n = iov_slice(iov, nr, *done, chunk, v);
		if (b->overlay)
			k = overlay_rw(b->overlay, v, n, off + *done, chunk,
				       write);
		else if (write)
			k = pwritev(b->fd, v, (int)n, (off_t)(off + *done));
		else
			k = preadv(b->fd, v, (int)n, (off_t)(off + *done));
		if (k < 0 && b->overlay)
			return (int)k;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!k)
			return -EIO;
		*done += (uint32_t)k;
	}
	return 0;
}

static int write_zeros(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[65536];

	while (len) {
		size_t chunk = len < sizeof(zeros) ? len : sizeof(zeros);
		ssize_t n = pwrite(fd, zeros, chunk, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			return -EIO;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int discard_range(const struct virtio_blk *b, uint64_t off, uint64_t len)
{
	int ret;

	if (b->is_blkdev) {
		uint64_t range[2] = { off, len };

		ret = ioctl(b->fd, BLKDISCARD, range);
	} else {
		ret = fallocate(b->fd,
				FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)off, (off_t)len);
	}
	/* A discard is a hint: a backend that cannot do it did it. */
	if (ret && errno != EOPNOTSUPP && errno != ENOTTY)
		return -errno;
	return 0;
}

static int zero_range(const struct virtio_blk *b, uint64_t off, uint64_t len,
		      bool unmap)
{
	if (b->is_blkdev) {
		uint64_t range[2] = { off, len };

		if (!ioctl(b->fd, BLKZEROOUT, range))
			return 0;
	} else {
		/* A punched hole reads as zeros in a regular file. */
		if (unmap &&
		    !fallocate(b->fd,
			       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)off, (off_t)len))
			return 0;
		if (!fallocate(b->fd,
			       FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			       (off_t)off, (off_t)len))
			return 0;
	}
	return write_zeros(b->fd, off, len);
}

struct dwz_seg {
	uint64_t sector;
	uint32_t nr_sectors;
	uint32_t flags;
};

static int discard_write_zeroes(struct virtio_blk *b, const struct blk_req *r)
{
	bool wz = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	int feature = wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
	struct dwz_seg segs[VIRTIO_BLK_MAX_DWZ_SEG];
	unsigned int nr = r->data_len / 16;

	if (b->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (!(b->features & 1ULL << feature))
		return VIRTIO_BLK_S_UNSUPP;
	if (nr > VIRTIO_BLK_MAX_DWZ_SEG)
		return VIRTIO_BLK_S_IOERR;
	/* Check every segment before touching the disk. */
	for (unsigned int i = 0; i < nr; i++) {
		uint8_t raw[16];

		if (!iov_to_buf(r->data, r->nr_data, (size_t)i * 16, raw, 16))
			return VIRTIO_BLK_S_IOERR;
		memcpy(&segs[i].sector, raw, 8);
		memcpy(&segs[i].nr_sectors, raw + 8, 4);
		memcpy(&segs[i].flags, raw + 12, 4);
		segs[i].sector = le64toh(segs[i].sector);
		segs[i].nr_sectors = le32toh(segs[i].nr_sectors);
		segs[i].flags = le32toh(segs[i].flags);
		/* 5.2.6.2: unknown flags, or unmap on a discard: UNSUPP. */
		if (segs[i].flags & ~VIRTIO_BLK_DWZ_FLAG_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		if (!wz && segs[i].flags)
			return VIRTIO_BLK_S_UNSUPP;
		if (segs[i].nr_sectors > VIRTIO_BLK_MAX_DWZ_SECTORS ||
		    !range_ok(b, segs[i].sector, segs[i].nr_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	for (unsigned int i = 0; i < nr; i++) {
		uint64_t off = segs[i].sector * VIRTIO_BLK_SECTOR;
		uint64_t end =
			off + (uint64_t)segs[i].nr_sectors * VIRTIO_BLK_SECTOR;

		while (off < end) {
			uint64_t len = end - off;
			int ret;

			if (worker_cancelled(&b->worker))
				return -ECANCELED;
			if (len > BLK_RANGE_CHUNK_BYTES)
				len = BLK_RANGE_CHUNK_BYTES;
			if (wz)
				ret = zero_range(
					b, off, len,
					segs[i].flags &
						VIRTIO_BLK_DWZ_FLAG_UNMAP);
			else
				ret = discard_range(b, off, len);
			if (ret)
				return VIRTIO_BLK_S_IOERR;
			off += len;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * Run a parsed request; *written: payload bytes put in guest buffers.
 * Returns the status for the driver, or -ECANCELED when the worker was
 * cancelled midway (the request then gets no completion).
 */
static int execute(struct virtio_blk *b, const struct blk_req *r,
		   uint32_t *written)
{
	uint64_t nr_sectors = r->data_len / VIRTIO_BLK_SECTOR;
	uint64_t off = r->sector * VIRTIO_BLK_SECTOR;
	uint32_t n;
	int ret;

	*written = 0;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		if (!range_ok(b, r->sector, nr_sectors))
			return VIRTIO_BLK_S_IOERR;
		ret = rw_full(b, r->data, r->nr_data, r->data_len, off, false,
			      written);
		break;
	case VIRTIO_BLK_T_OUT:
		if (b->read_only || !range_ok(b, r->sector, nr_sectors))
			return VIRTIO_BLK_S_IOERR;
		ret = rw_full(b, r->data, r->nr_data, r->data_len, off, true,
			      &n);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (b->overlay)
			return VIRTIO_BLK_S_OK; /* discarded at exit anyway */
		return fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		n = r->data_len < VIRTIO_BLK_ID_BYTES ? r->data_len
						      : VIRTIO_BLK_ID_BYTES;
		for (unsigned int i = 0, done = 0; i < r->nr_data && done < n;
		     i++) {
			size_t k = r->data[i].iov_len;

			if (k > n - done)
				k = n - done;
			memcpy(r->data[i].iov_base, b->serial + done, k);
			done += (uint32_t)k;
		}
		*written = n;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return discard_write_zeroes(b, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
	if (ret == -ECANCELED)
		return ret;
	return ret ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* Execute and complete chain @c: 0, or -ECANCELED when it was dropped. */
static int handle_chain(struct virtio_blk *b, struct virtq *q,
			const struct virtq_chain *c)
{
	struct blk_req *r = &b->req;
	uint32_t written = 0;
	int status;

	if (virtio_blk_parse(c, r)) {
		/* Nowhere to put a status: hand it back untouched. */
		virtq_push(q, c->head, 0);
		return 0;
	}
	status = r->status;
	if (status == VIRTIO_BLK_S_OK)
		status = execute(b, r, &written);
	if (status < 0)
		return status;
	*r->status_ptr = (uint8_t)status;
	virtq_push(q, c->head, written + 1);
	if (status != VIRTIO_BLK_S_OK) {
		BLK_COUNT(b, errors, 1);
	} else if (r->type == VIRTIO_BLK_T_IN) {
		BLK_COUNT(b, read_ops, 1);
		BLK_COUNT(b, read_bytes, written);
	} else if (r->type == VIRTIO_BLK_T_OUT) {
		BLK_COUNT(b, write_ops, 1);
		BLK_COUNT(b, write_bytes, r->data_len);
	} else if (r->type == VIRTIO_BLK_T_FLUSH) {
		BLK_COUNT(b, flush_ops, 1);
	} else if (r->type == VIRTIO_BLK_T_DISCARD ||
		   r->type == VIRTIO_BLK_T_WRITE_ZEROES) {
		BLK_COUNT(b, discard_ops, 1);
	}
	return 0;
}

/*
 * Drain the queue. Called with b->lock held and the device active. When
 * the worker is cancelled (a stop, or a reset waiting for the lock) it
 * returns at once, the request in progress dropped: after a reset the
 * driver forgets its requests anyway (and the device must not complete
 * them then, 2.4), and after a stop there is no driver.
 */
static int process_locked(struct virtio_blk *b, unsigned int qi)
{
	struct virtio_mmio_dev *d = &b->mmio;
	struct virtq *q = virtio_mmio_queue(d, qi);
	const struct guest_mem *m = virtio_mmio_mem(d);
	int done = 0, ret = 0;

	if (!q || !virtq_is_ready(q) || virtio_mmio_needs_reset(d))
		return 0;
	for (;;) {
		virtq_disable_notify(q);
		while (done < BLK_BATCH_BUDGET) {
			if (worker_cancelled(&b->worker))
				goto out;
			ret = virtq_pop(q, m, &b->chain);
			if (ret <= 0)
				break;
			if (handle_chain(b, q, &b->chain)) {
				b->dropped = 1; /* popped, never pushed */
				goto out;
			}
			done++;
		}
		if (ret < 0)
			break;
		if (done >= BLK_BATCH_BUDGET) {
			/* Come back after letting others at the lock. */
			(void)eventfd_write(virtio_mmio_kick_fd(d, qi), 1);
			break;
		}
		/* Re-check after re-enabling, or a kick may be lost. */
		if (!virtq_enable_notify(q))
			break;
	}
out:
	if (virtq_needs_interrupt(q))
		virtio_mmio_signal_used(d);
	if (ret < 0) {
		virtio_mmio_set_needs_reset(d);
		return ret;
	}
	return done;
}

int virtio_blk_process_queue(struct virtio_blk *b, unsigned int q)
{
	int ret = 0;

	pthread_mutex_lock(&b->lock);
	if (b->active)
		ret = process_locked(b, q);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

static void worker_process(void *dev, uint32_t kicked)
{
	if (kicked)
		(void)virtio_blk_process_queue(dev, 0);
}

static void *worker_main(void *arg)
{
	static const struct virtio_loop_ops ops = { .process = worker_process };
	struct virtio_blk *b = arg;

	virtio_device_loop(&b->mmio, b->worker.stop_fd, &ops, b);
	return NULL;
}

/* ---- the transport's view ---- */

static uint64_t blk_features(void *dev)
{
	return ((struct virtio_blk *)dev)->features;
}

static void blk_config_read(void *dev, uint32_t off, uint8_t *data,
			    uint32_t len)
{
	struct virtio_blk *b = dev;

	memcpy(data, b->config + off, len);
}

static int blk_activate(void *dev)
{
	struct virtio_blk *b = dev;

	pthread_mutex_lock(&b->lock);
	b->active = true;
	pthread_mutex_unlock(&b->lock);
	/* Look at the ring once: the driver may have queued requests. */
	(void)eventfd_write(virtio_mmio_kick_fd(&b->mmio, 0), 1);
	return 0;
}

static void blk_reset(void *dev)
{
	struct virtio_blk *b = dev;

	/* Waits for the batch in progress, which the cancel cuts short at
	 * its next chunk; the worker then leaves the queue alone until the
	 * next activation. */
	worker_cancel_begin(&b->worker);
	pthread_mutex_lock(&b->lock);
	b->active = false;
	b->dropped = 0; /* its queue is gone */
	worker_cancel_end(&b->worker);
	pthread_mutex_unlock(&b->lock);
}

/* Snapshots: see blk.h. */
static void blk_quiesce(void *dev, bool hold)
{
	struct virtio_blk *b = dev;
	struct virtq *q = virtio_mmio_queue(&b->mmio, 0);

	/* Released: the kick brings back the given-back request, and
	 * whatever came meanwhile. */
	worker_quiesce(&b->worker, &b->lock, virtio_mmio_kick_fd(&b->mmio, 0),
		       hold);
	if (!hold)
		return;
	/* Nothing was pushed after it: virtq_undo_pop() can take it back. */
	if (b->dropped && !virtq_undo_pop(q, b->dropped))
		b->dropped = 0;
}

static int blk_open_layer(const struct virtio_blk *b,
			  const struct snap_files *files, bool create)
{
	char name[32];

	snprintf(name, sizeof(name), "disk%u.overlay", b->index);
	return files->open(files->opaque, name, create);
}

static int blk_save(void *dev, struct snap_writer *w,
		    const struct snap_files *files)
{
	struct virtio_blk *b = dev;
	int fd, ret;

	snap_put_u64(w, b->capacity);
	snap_put_u8(w, b->read_only);
	snap_put_u8(w, b->active);
	snap_put_u8(w, b->overlay != NULL);
	if (!b->overlay)
		return 0;
	fd = blk_open_layer(b, files, true);
	if (fd < 0)
		return fd;
	ret = overlay_save(b->overlay, fd, w);
	if (ret)
		close(fd);
	return ret;
}

static int blk_restore(void *dev, struct snap_reader *r, bool active,
		       const struct snap_files *files)
{
	struct virtio_blk *b = dev;
	uint64_t capacity = snap_get_u64(r);
	uint8_t ro = snap_get_u8(r), was_active = snap_get_u8(r);
	uint8_t overlay = snap_get_u8(r);
	int fd, ret;

	if (r->err || capacity != b->capacity || ro != b->read_only ||
	    was_active != active || overlay != (b->overlay != NULL))
		return -EINVAL;
	if (b->overlay && !files) {
		/* In place: back to the layer it has. */
		if (!overlay_map_matches(b->overlay, r))
			return -EINVAL;
		ret = overlay_reset(b->overlay);
		if (ret)
			return ret;
	} else if (b->overlay) {
		fd = blk_open_layer(b, files, false);
		/* A missing layer file is fine while the map is empty. */
		if (fd < 0 && fd != -ENOENT)
			return fd;
		ret = overlay_restore(b->overlay, fd, r);
		if (ret) {
			if (fd >= 0)
				close(fd);
			return ret;
		}
	}
	b->active = active;
	b->dropped = 0;
	return 0;
}

static void blk_dump(void *dev, struct dumpbuf *db)
{
	struct virtio_blk *b = dev;

	dumpbuf_printf(db,
		       " blk capacity=%llu read_only=%d overlay=%d active=%d",
		       (unsigned long long)b->capacity, b->read_only,
		       b->overlay != NULL,
		       __atomic_load_n(&b->active, __ATOMIC_RELAXED));
}

static const struct virtio_dev_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.config_size = VIRTIO_BLK_CONFIG_SIZE,
	.features = blk_features,
	.config_read = blk_config_read,
	.config_write = NULL,
	.activate = blk_activate,
	.reset = blk_reset,
	.quiesce = blk_quiesce,
	.save = blk_save,
	.restore = blk_restore,
	.dump = blk_dump,
};

const struct virtio_dev_ops *virtio_blk_ops(void)
{
	return &blk_ops;
}

struct virtio_mmio_dev *virtio_blk_transport(struct virtio_blk *b)
{
	return &b->mmio;
}

/* ---- creation ---- */

static unsigned int log2_u32(uint32_t v)
{
	unsigned int r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

/* Block sizes and I/O hints of the backing store, into the config. */
static void fill_config(struct virtio_blk *b, const struct stat *st)
{
	uint32_t lbs = VIRTIO_BLK_SECTOR, pbs = VIRTIO_BLK_SECTOR;
	uint32_t min_io = 0, opt_io = 0, align = 0;
	uint8_t *c = b->config;

	if (b->is_blkdev) {
		int ilbs = 0, ialign = 0;
		unsigned int ipbs = 0, imin = 0, iopt = 0;

		if (!ioctl(b->fd, BLKSSZGET, &ilbs) && ilbs > 0 &&
		    is_pow2((uint64_t)ilbs) && ilbs <= 65536)
			lbs = (uint32_t)ilbs;
		if (!ioctl(b->fd, BLKPBSZGET, &ipbs) && is_pow2(ipbs) &&
		    ipbs >= lbs && ipbs <= 65536)
			pbs = ipbs;
		else
			pbs = lbs;
		if (!ioctl(b->fd, BLKIOMIN, &imin))
			min_io = imin;
		if (!ioctl(b->fd, BLKIOOPT, &iopt))
			opt_io = iopt;
		if (!ioctl(b->fd, BLKALIGNOFF, &ialign) && ialign > 0)
			align = (uint32_t)ialign;
	} else if (st->st_blksize >= VIRTIO_BLK_SECTOR &&
		   st->st_blksize <= 65536 &&
		   is_pow2((uint64_t)st->st_blksize)) {
		pbs = (uint32_t)st->st_blksize;
		min_io = pbs;
	}

	memset(c, 0, sizeof(b->config));
	le_put(c + VIRTIO_BLK_CFG_CAPACITY, 8, b->capacity);
	le_put(c + VIRTIO_BLK_CFG_SIZE_MAX, 4, VIRTIO_BLK_SIZE_MAX);
	le_put(c + VIRTIO_BLK_CFG_SEG_MAX, 4, VIRTIO_BLK_SEG_MAX);
	le_put(c + VIRTIO_BLK_CFG_BLK_SIZE, 4, lbs);
	c[VIRTIO_BLK_CFG_PHYS_BLOCK_EXP] = (uint8_t)log2_u32(pbs / lbs);
	c[VIRTIO_BLK_CFG_ALIGN_OFFSET] =
		(uint8_t)(align / lbs > 255 ? 0 : align / lbs);
	le_put(c + VIRTIO_BLK_CFG_MIN_IO_SIZE, 2,
	       min_io / lbs > 0xffff ? 0 : min_io / lbs);
	le_put(c + VIRTIO_BLK_CFG_OPT_IO_SIZE, 4, opt_io / lbs);
	le_put(c + VIRTIO_BLK_CFG_NUM_QUEUES, 2, 1);
	if (b->features & 1ULL << VIRTIO_BLK_F_DISCARD) {
		le_put(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, 4,
		       VIRTIO_BLK_MAX_DWZ_SECTORS);
		le_put(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4,
		       VIRTIO_BLK_MAX_DWZ_SEG);
		le_put(c + VIRTIO_BLK_CFG_DISCARD_ALIGN, 4,
		       pbs / VIRTIO_BLK_SECTOR);
		le_put(c + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, 4,
		       VIRTIO_BLK_MAX_DWZ_SECTORS);
		le_put(c + VIRTIO_BLK_CFG_MAX_WZ_SEG, 4,
		       VIRTIO_BLK_MAX_DWZ_SEG);
		c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
	}
}

/* Exclusive (read-write) or shared (read-only) lock on the whole image,
 * owned by this open file description. */
static int lock_image(int fd, bool read_only)
{
	struct flock fl = {
		.l_type = read_only ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 0,
	};

	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return -errno;
	return 0;
}

static int open_image(struct virtio_blk *b,
		      const struct virtio_blk_config_opts *o, struct stat *st,
		      char *err, size_t errlen)
{
	const char *path = o->path;
	bool image_ro = o->read_only || o->overlay;
	int flags, ret;

	/* O_NONBLOCK: a FIFO (refused below) must not block the open. */
	b->fd = open(path,
		     (image_ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
	if (b->fd < 0)
		return err_fmt(err, errlen, -errno, "disk %s: %s", path,
			       strerror(errno));
	if (fstat(b->fd, st) < 0)
		return err_fmt(err, errlen, -errno, "disk %s: %s", path,
			       strerror(errno));
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))
		return err_fmt(err, errlen, -EINVAL,
			       "disk %s: not a regular file or block device",
			       path);
	flags = fcntl(b->fd, F_GETFL);
	if (flags < 0 || fcntl(b->fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return err_fmt(err, errlen, -errno, "disk %s: %s", path,
			       strerror(errno));
	b->is_blkdev = S_ISBLK(st->st_mode);
	ret = lock_image(b->fd, image_ro);
	if (ret == -EAGAIN || ret == -EACCES)
		return err_fmt(err, errlen, -EBUSY,
			       "disk %s: in use by another process (locked)",
			       path);
	/* File systems without lock support (ENOLCK, EOPNOTSUPP...) get
	 * the image unlocked rather than refused. */
	if (ret && ret != -ENOLCK && ret != -EOPNOTSUPP && ret != -ENOSYS &&
	    ret != -EINVAL)
		return err_fmt(err, errlen, ret, "disk %s: cannot lock: %s",
			       path, strerror(-ret));

	if (b->is_blkdev) {
		uint64_t bytes;

		if (ioctl(b->fd, BLKGETSIZE64, &bytes) < 0)
			return err_fmt(
				err, errlen, -errno,
				"disk %s: cannot get the device size: %s", path,
				strerror(errno));
		b->capacity = bytes / VIRTIO_BLK_SECTOR;
		if (!bytes)
			return err_fmt(err, errlen, -EINVAL, "disk %s: empty",
				       path);
	} else {
		if (!st->st_size)
			return err_fmt(err, errlen, -EINVAL,
				       "disk %s: empty image", path);
		if (st->st_size % VIRTIO_BLK_SECTOR)
			return err_fmt(
				err, errlen, -EINVAL,
				"disk %s: size %lld is not a multiple of "
				"512 bytes",
				path, (long long)st->st_size);
		b->capacity = (uint64_t)st->st_size / VIRTIO_BLK_SECTOR;
	}
	return 0;
}

int virtio_blk_create(struct virtio_blk **out,
		      const struct virtio_blk_config_opts *o,
		      const struct guest_mem *m, char *err, size_t errlen)
{
	struct virtio_blk *b;
	struct stat st;
	size_t serial_len;
	int ret;

	*out = NULL;
	if (!o || !o->path || !*o->path)
		return err_fmt(err, errlen, -EINVAL, "disk: no path given");
	serial_len = o->serial ? strlen(o->serial) : 0;
	if (serial_len > VIRTIO_BLK_ID_BYTES)
		return err_fmt(err, errlen, -EINVAL,
			       "disk %s: serial longer than %d bytes", o->path,
			       VIRTIO_BLK_ID_BYTES);
	b = calloc(1, sizeof(*b));
	if (!b)
		return err_fmt(err, errlen, -ENOMEM, "disk %s: out of memory",
			       o->path);
	b->fd = -1;
	b->worker.stop_fd = -1;
	b->read_only = o->read_only;
	b->index = o->index;
	if (serial_len)
		memcpy(b->serial, o->serial, serial_len);

	ret = open_image(b, o, &st, err, errlen);
	if (ret)
		goto err_free;
	ret = -pthread_mutex_init(&b->lock, NULL);
	if (ret) {
		err_fmt(err, errlen, ret, "disk %s: %s", o->path,
			strerror(-ret));
		goto err_free;
	}
	ret = worker_init(&b->worker, o->seccomp);
	if (ret) {
		err_fmt(err, errlen, ret, "disk %s: eventfd: %s", o->path,
			strerror(-ret));
		goto err_mutex;
	}

	b->features =
		1ULL << VIRTIO_RING_F_EVENT_IDX |
		1ULL << VIRTIO_RING_F_INDIRECT_DESC |
		1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
		1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
		1ULL << VIRTIO_BLK_F_TOPOLOGY;
	if (b->read_only)
		b->features |= 1ULL << VIRTIO_BLK_F_RO;
	else if (!o->overlay)
		b->features |= 1ULL << VIRTIO_BLK_F_DISCARD |
			       1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	fill_config(b, &st);
	if (o->overlay && !o->read_only) {
		b->overlay = malloc(sizeof(*b->overlay));
		ret = b->overlay ? overlay_open(b->overlay, b->fd,
						b->capacity * VIRTIO_BLK_SECTOR)
				 : -ENOMEM;
		if (ret) {
			free(b->overlay);
			b->overlay = NULL;
			err_fmt(err, errlen, ret,
				"disk %s: overlay: cannot make a temporary "
				"file: %s",
				o->path, strerror(-ret));
			goto err_stop;
		}
	}

	ret = virtio_mmio_init(&b->mmio, &blk_ops, b, m);
	if (ret) {
		err_fmt(err, errlen, ret, "disk %s: %s", o->path,
			strerror(-ret));
		goto err_overlay;
	}
	*out = b;
	return 0;

err_overlay:
	if (b->overlay) {
		overlay_close(b->overlay);
		free(b->overlay);
	}
err_stop:
	worker_release(&b->worker);
err_mutex:
	pthread_mutex_destroy(&b->lock);
err_free:
	if (b->fd >= 0)
		close(b->fd);
	free(b);
	return ret;
}

int virtio_blk_start(struct virtio_blk *b)
{
	return worker_run(&b->worker, worker_main, b);
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	if (!b)
		return;
	worker_release(&b->worker);
	virtio_mmio_destroy(&b->mmio);
	pthread_mutex_destroy(&b->lock);
	if (b->overlay) {
		overlay_close(b->overlay);
		free(b->overlay);
	}
	close(b->fd);
	free(b);
}

/* ---- the slot table's view ---- */

static unsigned int blk_count(const struct kvmlite_config *cfg)
{
	return cfg->nr_disks;
}

/* Whether two stat()s name one disk: the same block device (through any
 * device node), or the same file. */
static bool same_disk(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int blk_create(const struct virtio_slot_ctx *c, unsigned int i,
		      void **dev, char *err, size_t errlen)
{
	const struct kvmlite_disk *d = &c->cfg->disks[i];
	struct virtio_blk_config_opts o = {
		.path = d->path,
		.read_only = d->read_only != 0,
		.serial = d->serial,
		.seccomp = c->seccomp,
		.overlay = d->overlay != 0,
		.index = i,
	};
	struct stat st, other;

	/* Before opening and locking it: our own lock on the first
	 * description would make the second look "in use". A path that
	 * cannot be stat'ed is left to the open's message. */
	if (stat(d->path, &st) == 0) {
		for (unsigned int j = 0; j < i; j++) {
			if (stat(c->cfg->disks[j].path, &other) == 0 &&
			    same_disk(&st, &other))
				return err_fmt(err, errlen, -EINVAL,
					       "disk %s: given twice (as disk "
					       "%u and disk %u)",
					       d->path, j, i);
		}
	}
	return virtio_blk_create((struct virtio_blk **)dev, &o, c->mem, err,
				 errlen);
}

static struct virtio_mmio_dev *blk_transport(void *dev)
{
	return virtio_blk_transport(dev);
}

static int blk_start(void *dev)
{
	return virtio_blk_start(dev);
}

static void blk_destroy(void *dev)
{
	virtio_blk_destroy(dev);
}

/* Cloud Hypervisor's names for the same counters, and ours. */
static void blk_counters(void *dev, struct dumpbuf *db)
{
	struct virtio_blk *b = dev;
#define BLK_READ(field)                                                        \
	(unsigned long long)__atomic_load_n(&b->counters.field,                \
					    __ATOMIC_RELAXED)

	dumpbuf_printf(db,
		       "\"read_ops\":%llu,\"read_bytes\":%llu,"
		       "\"write_ops\":%llu,\"write_bytes\":%llu,"
		       "\"flush_ops\":%llu,\"discard_ops\":%llu,"
		       "\"errors\":%llu",
		       BLK_READ(read_ops), BLK_READ(read_bytes),
		       BLK_READ(write_ops), BLK_READ(write_bytes),
		       BLK_READ(flush_ops), BLK_READ(discard_ops),
		       BLK_READ(errors));
#undef BLK_READ
}

const struct virtio_kind virtio_blk_kind = {
	.name = "virtio-blk",
	.count = blk_count,
	.create = blk_create,
	.transport = blk_transport,
	.start = blk_start,
	.destroy = blk_destroy,
	.counter_name = "disk",
	.counters = blk_counters,
};
