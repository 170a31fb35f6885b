/* virtio-9p device. See p9.h. */
#include "virtio/p9.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "err.h"
#include "kvmlite.h"
#include "util.h"
#include "worker.h"
#include "virtio/iov.h"
#include "virtio/loop.h"
#include "virtio/slots.h"

/* Requests per batch before the worker lets go of the lock. */
#define P9_BATCH_BUDGET 64

struct virtio_p9 {
	struct virtio_mmio_dev mmio;
	/* Ours: config_size is the tag's. */
	struct virtio_dev_ops ops;
	struct p9_server server;
	uint8_t config[2 + KVMLITE_FS_TAG_MAX]; /* tag_len[2] tag */
	uint32_t config_size;

	/* Held by whoever processes the queue; a reset takes it too. */
	pthread_mutex_t lock;
	bool active;
	struct virtq_chain chain;
	uint8_t *req, *resp; /* P9_MSIZE_MAX bytes each */

	struct worker worker;
};

static void serve(struct virtio_p9 *p, struct virtq *q)
{
	const struct virtq_chain *c = &p->chain;
	size_t len = c->out_len < P9_MSIZE_MAX ? c->out_len : P9_MSIZE_MAX;
	size_t cap = c->in_len < P9_MSIZE_MAX ? c->in_len : P9_MSIZE_MAX;
	size_t n = 0;

	if (iov_to_buf(c->iov, c->nr_out, 0, p->req, len))
		n = p9_server_handle(&p->server, p->req, len, p->resp, cap);
	if (n)
		n = iov_from_buf(c->iov + c->nr_out, c->nr_in, 0, p->resp, n);
	virtq_push(q, c->head, (uint32_t)n);
}

static int process_locked(struct virtio_p9 *p)
{
	struct virtio_mmio_dev *d = &p->mmio;
	struct virtq *q = virtio_mmio_queue(d, 0);
	const struct guest_mem *m = virtio_mmio_mem(d);
	int done = 0, ret = 0;

	if (!virtq_is_ready(q) || virtio_mmio_needs_reset(d))
		return 0;
	for (;;) {
		virtq_disable_notify(q);
		while (done < P9_BATCH_BUDGET) {
			if (worker_cancelled(&p->worker))
				goto out;
			ret = virtq_pop(q, m, &p->chain);
			if (ret <= 0)
				break;
			serve(p, q);
			done++;
		}
		if (ret < 0)
			break;
		if (done >= P9_BATCH_BUDGET) {
			(void)eventfd_write(virtio_mmio_kick_fd(d, 0), 1);
			break;
		}
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

int virtio_p9_process(struct virtio_p9 *p)
{
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	if (p->active)
		ret = process_locked(p);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static void worker_process(void *dev, uint32_t kicked)
{
	(void)kicked;
	(void)virtio_p9_process(dev);
}

static void *worker_main(void *arg)
{
	static const struct virtio_loop_ops ops = {
		.process = worker_process,
	};
	struct virtio_p9 *p = arg;

	virtio_device_loop(&p->mmio, p->worker.stop_fd, &ops, p);
	return NULL;
}

/* ---- the transport's view ---- */

static uint64_t p9_features(void *dev)
{
	(void)dev;
	return 1ULL << VIRTIO_9P_MOUNT_TAG | 1ULL << VIRTIO_RING_F_EVENT_IDX |
	       1ULL << VIRTIO_RING_F_INDIRECT_DESC;
}

static void p9_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_p9 *p = dev;

	/* The transport checked off + len <= config_size. */
	memcpy(data, p->config + off, len);
}

static int p9_activate(void *dev)
{
	struct virtio_p9 *p = dev;

	pthread_mutex_lock(&p->lock);
	p->active = true;
	pthread_mutex_unlock(&p->lock);
	(void)eventfd_write(virtio_mmio_kick_fd(&p->mmio, 0), 1);
	return 0;
}

static void p9_reset(void *dev)
{
	struct virtio_p9 *p = dev;

	worker_cancel_begin(&p->worker);
	pthread_mutex_lock(&p->lock);
	p->active = false;
	/* A new driver starts a new session: no fid survives. */
	p9_server_reset(&p->server);
	worker_cancel_end(&p->worker);
	pthread_mutex_unlock(&p->lock);
}

static void p9_dump(void *dev, struct dumpbuf *b)
{
	struct virtio_p9 *p = dev;
	struct p9_server_stats st;

	p9_server_get_stats(&p->server, &st);
	dumpbuf_printf(b,
		       " 9p active=%d msize=%u fids=%u open=%u requests=%llu "
		       "errors=%llu",
		       __atomic_load_n(&p->active, __ATOMIC_RELAXED),
		       __atomic_load_n(&p->server.msize, __ATOMIC_RELAXED),
		       __atomic_load_n(&p->server.nr_fids, __ATOMIC_RELAXED),
		       __atomic_load_n(&p->server.nr_open, __ATOMIC_RELAXED),
		       (unsigned long long)st.requests,
		       (unsigned long long)st.errors);
}

/* No save or restore: a share's open files are host state a snapshot
 * cannot hold, so a VM with one is refused a snapshot (slots.h). */
static const struct virtio_dev_ops p9_ops_template = {
	.device_id = VIRTIO_ID_9P,
	.nr_queues = 1,
	.features = p9_features,
	.config_read = p9_config_read,
	.activate = p9_activate,
	.reset = p9_reset,
	.dump = p9_dump,
};

struct virtio_mmio_dev *virtio_p9_transport(struct virtio_p9 *p)
{
	return &p->mmio;
}

void virtio_p9_get_stats(const struct virtio_p9 *p, struct p9_server_stats *st)
{
	p9_server_get_stats(&p->server, st);
}

/* ---- creation ---- */

int virtio_p9_create(struct virtio_p9 **out, const struct virtio_p9_opts *o,
		     const struct guest_mem *m, char *err, size_t errlen)
{
	size_t tag_len = o->tag ? strlen(o->tag) : 0;
	struct virtio_p9 *p;
	int ret;

	*out = NULL;
	if (!tag_len || tag_len > KVMLITE_FS_TAG_MAX)
		return err_fmt(err, errlen, -EINVAL,
			       "fs: tag must be 1 to %d bytes",
			       KVMLITE_FS_TAG_MAX);
	p = calloc(1, sizeof(*p));
	if (!p)
		return err_fmt(err, errlen, -ENOMEM, "fs: out of memory");
	p->ops = p9_ops_template;
	le_put(p->config, 2, tag_len);
	memcpy(p->config + 2, o->tag, tag_len);
	p->config_size = (uint32_t)(2 + tag_len);
	p->ops.config_size = p->config_size;
	p->worker.stop_fd = -1;
	p->req = malloc(P9_MSIZE_MAX);
	p->resp = malloc(P9_MSIZE_MAX);
	if (!p->req || !p->resp) {
		ret = err_fmt(err, errlen, -ENOMEM, "fs %s: out of memory",
			      o->tag);
		goto err_free;
	}
	ret = p9_server_init(&p->server, o->path, o->read_only, err, errlen);
	if (ret)
		goto err_free;
	ret = -pthread_mutex_init(&p->lock, NULL);
	if (ret) {
		err_fmt(err, errlen, ret, "fs %s: %s", o->tag, strerror(-ret));
		goto err_server;
	}
	ret = worker_init_as_fd(&p->worker, o->seccomp, SANDBOX_P9,
				p->server.proc_fd);
	if (ret) {
		err_fmt(err, errlen, ret, "fs %s: eventfd: %s", o->tag,
			strerror(-ret));
		goto err_mutex;
	}
	ret = virtio_mmio_init(&p->mmio, &p->ops, p, m);
	if (ret) {
		err_fmt(err, errlen, ret, "fs %s: %s", o->tag, strerror(-ret));
		goto err_worker;
	}
	*out = p;
	return 0;

err_worker:
	worker_release(&p->worker);
err_mutex:
	pthread_mutex_destroy(&p->lock);
err_server:
	p9_server_destroy(&p->server);
err_free:
	free(p->req);
	free(p->resp);
	free(p);
	return ret;
}

int virtio_p9_start(struct virtio_p9 *p)
{
	return worker_run(&p->worker, worker_main, p);
}

void virtio_p9_destroy(struct virtio_p9 *p)
{
	if (!p)
		return;
	worker_release(&p->worker);
	virtio_mmio_destroy(&p->mmio);
	pthread_mutex_destroy(&p->lock);
	p9_server_destroy(&p->server);
	free(p->req);
	free(p->resp);
	free(p);
}

/* ---- the slot table's view ---- */

static unsigned int p9_count(const struct kvmlite_config *cfg)
{
	return cfg->fs ? cfg->nr_fs : 0;
}

static int p9_create(const struct virtio_slot_ctx *c, unsigned int i,
		     void **dev, char *err, size_t errlen)
{
	const struct kvmlite_fs *fs = &c->cfg->fs[i];
	struct virtio_p9_opts o = { .path = fs->path,
				    .tag = fs->tag,
				    .read_only = fs->read_only != 0,
				    .seccomp = c->seccomp };

	return virtio_p9_create((struct virtio_p9 **)dev, &o, c->mem, err,
				errlen);
}

static struct virtio_mmio_dev *p9_transport(void *dev)
{
	return virtio_p9_transport(dev);
}

static int p9_start(void *dev)
{
	return virtio_p9_start(dev);
}

static void p9_destroy(void *dev)
{
	virtio_p9_destroy(dev);
}

static void p9_counters(void *dev, struct dumpbuf *db)
{
	struct p9_server_stats st;

	virtio_p9_get_stats(dev, &st);
	dumpbuf_printf(db,
		       "\"requests\":%llu,\"errors\":%llu,\"read_bytes\":%llu,"
		       "\"write_bytes\":%llu",
		       (unsigned long long)st.requests,
		       (unsigned long long)st.errors,
		       (unsigned long long)st.read_bytes,
		       (unsigned long long)st.written_bytes);
}

const struct virtio_kind virtio_p9_kind = {
	.name = "virtio-9p",
	.count = p9_count,
	.create = p9_create,
	.transport = p9_transport,
	.start = p9_start,
	.destroy = p9_destroy,
	.counter_name = "fs",
	.counters = p9_counters,
};
