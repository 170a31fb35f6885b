/*
 * virtio-mmio transport, version 2. See mmio.h for the rules and locking.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "snapfile.h"
#include "util.h"
#include "virtio/mmio.h"

static void signal_fd(int fd)
{
	/* Only fails when the counter would overflow: then it is already
	 * signalled, which is all we want. */
	if (fd >= 0)
		(void)eventfd_write(fd, 1);
}

static void raise_irq(struct virtio_mmio_dev *d, uint32_t bits)
{
	__atomic_fetch_or(&d->interrupt_status, bits, __ATOMIC_SEQ_CST);
	signal_fd(d->call_fd);
}

int virtio_mmio_init(struct virtio_mmio_dev *d,
		     const struct virtio_dev_ops *ops, void *dev,
		     const struct guest_mem *m)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->call_fd = -1;
	for (int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		d->kick_fd[i] = -1;
	if (!ops || !ops->nr_queues ||
	    ops->nr_queues > VIRTIO_MMIO_MAX_QUEUES || !ops->features ||
	    !ops->activate || !ops->reset ||
	    (ops->config_size && !ops->config_read) ||
	    ops->config_size > VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG)
		return -EINVAL;
	ret = pthread_mutex_init(&d->lock, NULL);
	if (ret)
		return -ret;
	d->ops = ops;
	d->dev = dev;
	d->mem = m;
	for (unsigned int i = 0; i < ops->nr_queues; i++) {
		d->kick_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->kick_fd[i] < 0)
			goto err;
	}
	d->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->call_fd < 0)
		goto err;
	return 0;

err:
	ret = -errno;
	virtio_mmio_destroy(d);
	return ret;
}

void virtio_mmio_destroy(struct virtio_mmio_dev *d)
{
	if (!d->ops)
		return;
	for (int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		if (d->kick_fd[i] >= 0)
			close(d->kick_fd[i]);
		d->kick_fd[i] = -1;
	}
	if (d->call_fd >= 0)
		close(d->call_fd);
	d->call_fd = -1;
	pthread_mutex_destroy(&d->lock);
	d->ops = NULL;
}

unsigned int virtio_mmio_nr_queues(const struct virtio_mmio_dev *d)
{
	return d->ops ? d->ops->nr_queues : 0;
}

int virtio_mmio_kick_fd(const struct virtio_mmio_dev *d, unsigned int q)
{
	if (!d->ops || q >= d->ops->nr_queues)
		return -1;
	return d->kick_fd[q];
}

int virtio_mmio_call_fd(const struct virtio_mmio_dev *d)
{
	return d->call_fd;
}

struct virtq *virtio_mmio_queue(struct virtio_mmio_dev *d, unsigned int q)
{
	if (!d->ops || q >= d->ops->nr_queues)
		return NULL;
	return &d->vqs[q];
}

const struct guest_mem *virtio_mmio_mem(const struct virtio_mmio_dev *d)
{
	return d->mem;
}

uint64_t virtio_mmio_driver_features(const struct virtio_mmio_dev *d)
{
	return d->driver_features;
}

void virtio_mmio_signal_used(struct virtio_mmio_dev *d)
{
	raise_irq(d, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_config_changed(struct virtio_mmio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	d->config_generation++;
	pthread_mutex_unlock(&d->lock);
	raise_irq(d, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_set_needs_reset(struct virtio_mmio_dev *d)
{
	if (__atomic_exchange_n(&d->needs_reset, true, __ATOMIC_SEQ_CST))
		return;
	raise_irq(d, VIRTIO_MMIO_INT_CONFIG);
}

bool virtio_mmio_needs_reset(const struct virtio_mmio_dev *d)
{
	return __atomic_load_n(&d->needs_reset, __ATOMIC_SEQ_CST);
}

static uint64_t device_features(const struct virtio_mmio_dev *d)
{
	return d->ops->features(d->dev) | 1ULL << VIRTIO_F_VERSION_1;
}

/* The registers and queues as after a reset. */
static void reset_locked_state(struct virtio_mmio_dev *d)
{
	for (int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_reset(&d->vqs[i]);
	d->status = 0;
	d->dev_features_sel = 0;
	d->drv_features_sel = 0;
	d->driver_features = 0;
	d->driver_features_bad = false;
	d->queue_sel = 0;
	__atomic_store_n(&d->interrupt_status, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&d->needs_reset, false, __ATOMIC_SEQ_CST);
}

/* Back to the initial state; the worker is stopped first. */
static void reset_locked(struct virtio_mmio_dev *d)
{
	d->ops->reset(d->dev);
	reset_locked_state(d);
}

static bool features_acceptable(const struct virtio_mmio_dev *d)
{
	uint64_t f = d->driver_features;

	return !d->driver_features_bad && !(f & ~device_features(d)) &&
	       (f & 1ULL << VIRTIO_F_VERSION_1);
}

static void activate_locked(struct virtio_mmio_dev *d)
{
	uint64_t f = d->driver_features;

	for (unsigned int i = 0; i < d->ops->nr_queues; i++) {
		d->vqs[i].event_idx = f & 1ULL << VIRTIO_RING_F_EVENT_IDX;
		d->vqs[i].indirect = f & 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	}
	if (d->ops->activate(d->dev))
		virtio_mmio_set_needs_reset(d);
}

static void status_write_locked(struct virtio_mmio_dev *d, uint32_t val)
{
	const uint32_t drv_ok_needs = VIRTIO_STATUS_ACKNOWLEDGE |
				      VIRTIO_STATUS_DRIVER |
				      VIRTIO_STATUS_FEATURES_OK;
	uint32_t old = d->status;
	uint32_t now, added;

	if (!val) {
		reset_locked(d);
		return;
	}
	/* Bits only go up until a reset; NEEDS_RESET is ours to set. */
	now = (old | val) & 0xff & ~VIRTIO_STATUS_NEEDS_RESET;
	added = now & ~old;
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(d))
		now &= ~VIRTIO_STATUS_FEATURES_OK;
	if ((added & VIRTIO_STATUS_DRIVER_OK) &&
	    ((now & drv_ok_needs) != drv_ok_needs ||
	     virtio_mmio_needs_reset(d)))
		now &= ~VIRTIO_STATUS_DRIVER_OK;
	d->status = now;
	if (now & ~old & VIRTIO_STATUS_DRIVER_OK)
		activate_locked(d);
}

static struct virtq *selected_queue(struct virtio_mmio_dev *d)
{
	if (d->queue_sel >= d->ops->nr_queues)
		return NULL;
	return &d->vqs[d->queue_sel];
}

/* The selected queue when its registers may change, else NULL. */
static struct virtq *writable_queue(struct virtio_mmio_dev *d)
{
	struct virtq *q = selected_queue(d);

	if (!q || virtq_is_ready(q) || (d->status & VIRTIO_STATUS_DRIVER_OK))
		return NULL;
	return q;
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*v = (*v & ~0xffffffffULL) | val;
}

static uint32_t reg_read_locked(struct virtio_mmio_dev *d, uint64_t off)
{
	struct virtq *q = selected_queue(d);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (d->dev_features_sel > 1)
			return 0;
		return (uint32_t)(device_features(d) >>
				  (32 * d->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? VIRTQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? virtq_is_ready(q) : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&d->interrupt_status, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS:
		return d->status |
		       (virtio_mmio_needs_reset(d) ? VIRTIO_STATUS_NEEDS_RESET
						   : 0);
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return q ? (uint32_t)q->desc_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return q ? (uint32_t)(q->desc_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
		return q ? (uint32_t)q->avail_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		return q ? (uint32_t)(q->avail_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
		return q ? (uint32_t)q->used_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		return q ? (uint32_t)(q->used_gpa >> 32) : 0;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff; /* no shared memory regions (4.2.2) */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return d->config_generation;
	default:
		return 0;
	}
}

static void reg_write_locked(struct virtio_mmio_dev *d, uint64_t off,
			     uint32_t val)
{
	struct virtq *q;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (d->status & VIRTIO_STATUS_FEATURES_OK)
			break; /* negotiation is over */
		if (d->drv_features_sel <= 1)
			set_half(&d->driver_features, d->drv_features_sel, val);
		else if (val)
			d->driver_features_bad = true;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->drv_features_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		q = writable_queue(d);
		if (!q)
			break;
		/* An invalid size leaves the queue unusable until fixed. */
		if (val && !(val & (val - 1)) && val <= VIRTQ_MAX_SIZE)
			q->size = (uint16_t)val;
		else
			q->size = 0;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		q = selected_queue(d);
		if (!q || (d->status & VIRTIO_STATUS_DRIVER_OK))
			break;
		if (!val) {
			virtq_drop_layout(q);
		} else if (!virtq_is_ready(q)) {
			/* Refused layouts leave QueueReady reading 0. */
			(void)virtq_validate_layout(q, d->mem);
		}
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (val < d->ops->nr_queues && !virtio_mmio_needs_reset(d))
			signal_fd(d->kick_fd[val]);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&d->interrupt_status, ~val,
				   __ATOMIC_SEQ_CST);
		break;
	case VIRTIO_MMIO_STATUS:
		status_write_locked(d, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		q = writable_queue(d);
		if (q)
			set_half(&q->desc_gpa,
				 off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		q = writable_queue(d);
		if (q)
			set_half(&q->avail_gpa,
				 off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		q = writable_queue(d);
		if (q)
			set_half(&q->used_gpa,
				 off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, val);
		break;
	default:
		break; /* read-only or unknown */
	}
}

static void config_access_locked(struct virtio_mmio_dev *d, uint64_t off,
				 uint8_t *data, uint32_t len, bool is_write)
{
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return;
	if (off > d->ops->config_size || len > d->ops->config_size - off)
		return;
	if (is_write) {
		if (d->ops->config_write)
			d->ops->config_write(d->dev, (uint32_t)off, data, len);
	} else {
		d->ops->config_read(d->dev, (uint32_t)off, data, len);
	}
}

void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		    bool is_write)
{
	struct virtio_mmio_dev *d = opaque;

	if (!is_write && len <= 8)
		memset(data, 0, len);
	if (!d->ops || offset >= VIRTIO_MMIO_WINDOW || len > 8)
		return;
	pthread_mutex_lock(&d->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		config_access_locked(d, offset - VIRTIO_MMIO_CONFIG, data, len,
				     is_write);
	} else if (len == 4 && offset % 4 == 0) {
		if (is_write)
			reg_write_locked(d, offset, (uint32_t)le_get(data, 4));
		else
			le_put(data, 4, reg_read_locked(d, offset));
	}
	pthread_mutex_unlock(&d->lock);
}

void virtio_mmio_quiesce(struct virtio_mmio_dev *d, bool hold)
{
	if (hold)
		pthread_mutex_lock(&d->lock);
	if (d->ops->quiesce)
		d->ops->quiesce(d->dev, hold);
	if (!hold)
		pthread_mutex_unlock(&d->lock);
}

int virtio_mmio_save(struct virtio_mmio_dev *d, struct snap_writer *w,
		     const struct snap_files *files)
{
	snap_put_u32(w, d->ops->device_id);
	snap_put_u32(w, d->ops->nr_queues);
	snap_put_u32(w, d->status);
	snap_put_u32(w, d->dev_features_sel);
	snap_put_u32(w, d->drv_features_sel);
	snap_put_u64(w, d->driver_features);
	snap_put_u8(w, d->driver_features_bad);
	snap_put_u32(w, d->queue_sel);
	snap_put_u32(w, d->config_generation);
	snap_put_u32(w,
		     __atomic_load_n(&d->interrupt_status, __ATOMIC_SEQ_CST));
	snap_put_u8(w, virtio_mmio_needs_reset(d));
	for (unsigned int i = 0; i < d->ops->nr_queues; i++)
		virtq_save(&d->vqs[i], w);
	return d->ops->save ? d->ops->save(d->dev, w, files) : 0;
}

/* A status the driver could have reached through status_write_locked(). */
static bool status_reachable(const struct virtio_mmio_dev *d, uint32_t st)
{
	const uint32_t drv_ok_needs = VIRTIO_STATUS_ACKNOWLEDGE |
				      VIRTIO_STATUS_DRIVER |
				      VIRTIO_STATUS_FEATURES_OK;

	if (st & ~0xffu || st & VIRTIO_STATUS_NEEDS_RESET)
		return false;
	if ((st & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(d))
		return false;
	return !(st & VIRTIO_STATUS_DRIVER_OK) ||
	       (st & drv_ok_needs) == drv_ok_needs;
}

int virtio_mmio_restore(struct virtio_mmio_dev *d, struct snap_reader *r,
			const struct snap_files *files)
{
	uint32_t id, nq, istatus;
	uint8_t bad, needs_reset;
	bool active;
	int ret = -EINVAL;

	id = snap_get_u32(r);
	nq = snap_get_u32(r);
	if (r->err || id != d->ops->device_id || nq != d->ops->nr_queues)
		return -EINVAL;
	reset_locked_state(d);
	d->status = snap_get_u32(r);
	d->dev_features_sel = snap_get_u32(r);
	d->drv_features_sel = snap_get_u32(r);
	d->driver_features = snap_get_u64(r);
	bad = snap_get_u8(r);
	d->queue_sel = snap_get_u32(r);
	d->config_generation = snap_get_u32(r);
	istatus = snap_get_u32(r);
	needs_reset = snap_get_u8(r);
	d->driver_features_bad = bad;
	if (r->err || bad > 1 || needs_reset > 1 ||
	    istatus & ~(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG) ||
	    !status_reachable(d, d->status))
		goto fail;
	for (unsigned int i = 0; i < nq; i++)
		if (virtq_restore(&d->vqs[i], r, d->mem))
			goto fail;
	active = (d->status & VIRTIO_STATUS_DRIVER_OK) && !needs_reset;
	if (d->ops->restore) {
		ret = d->ops->restore(d->dev, r, active, files);
		if (ret)
			goto fail;
	}
	if (snap_reader_done(r)) {
		ret = -EINVAL;
		goto fail;
	}
	__atomic_store_n(&d->interrupt_status, istatus, __ATOMIC_SEQ_CST);
	__atomic_store_n(&d->needs_reset, needs_reset, __ATOMIC_SEQ_CST);
	return 0;

fail:
	/* No ring for the device to touch (a VM whose restore failed is not
	 * run on). */
	reset_locked_state(d);
	return ret;
}

void virtio_mmio_dump(struct virtio_mmio_dev *d, const char *prefix,
		      struct dumpbuf *b)
{
	bool locked = false;

	if (!d->ops)
		return;
	/* A stuck vCPU may hold the lock: try a while, never wait on it. */
	for (int i = 0; i < 100 && !locked; i++) {
		locked = pthread_mutex_trylock(&d->lock) == 0;
		if (!locked)
			usleep(1000);
	}
	dumpbuf_printf(b, "%s: device=%u", prefix, d->ops->device_id);
	if (locked)
		dumpbuf_printf(b,
			       " status=0x%02x driver_features=0x%llx "
			       "queue_sel=%u config_gen=%u",
			       d->status,
			       (unsigned long long)d->driver_features,
			       d->queue_sel, d->config_generation);
	else
		dumpbuf_printf(b, " status=busy(transport lock held)");
	dumpbuf_printf(b, " interrupt_status=0x%x needs_reset=%d\n",
		       __atomic_load_n(&d->interrupt_status, __ATOMIC_RELAXED),
		       virtio_mmio_needs_reset(d));
	for (unsigned int i = 0; i < d->ops->nr_queues; i++) {
		struct virtq_indexes ix;

		virtq_get_indexes(&d->vqs[i], &ix);
		dumpbuf_printf(b,
			       "%s: q%u size=%u ready=%d event_idx=%d "
			       "last_avail=%u used=%u signalled=%u",
			       prefix, i, ix.size, ix.ready, ix.event_idx,
			       ix.last_avail, ix.used, ix.signalled);
		if (ix.guest)
			dumpbuf_printf(b,
				       " guest: avail.idx=%u avail.flags=0x%x "
				       "used_event=%u used.idx=%u "
				       "used.flags=0x%x avail_event=%u",
				       ix.avail_idx, ix.avail_flags,
				       ix.used_event, ix.used_idx,
				       ix.used_flags, ix.avail_event);
		dumpbuf_printf(b, "\n");
	}
	if (locked)
		pthread_mutex_unlock(&d->lock);
	if (d->ops->dump) {
		dumpbuf_printf(b, "%s:", prefix);
		d->ops->dump(d->dev, b);
		dumpbuf_printf(b, "\n");
	}
}
