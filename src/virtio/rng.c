/* virtio-rng device. See rng.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "err.h"
#include "snapfile.h"
#include "util.h"
#include "worker.h"
#include "virtio/loop.h"
#include "virtio/rng.h"
#include "virtio/slots.h"

/* Requests per batch before the worker lets go of the lock. */
#define RNG_BATCH_BUDGET VIRTQ_MAX_SIZE

struct virtio_rng {
	struct virtio_mmio_dev mmio;
	uint64_t rate, burst;
	int timer_fd;

	/* Held by whoever processes the queue; a reset takes it too. */
	pthread_mutex_t lock;
	bool active;
	bool throttled;	  /* waiting for the timer */
	uint64_t tokens;  /* bytes that may be given now */
	uint64_t last_ns; /* when tokens were last added */
	struct virtq_chain chain;

	struct virtio_rng_stats stats; /* atomic counters */
	struct worker worker;
};

#define STAT_ADD(r, field, v)                                                  \
	__atomic_fetch_add(&(r)->stats.field, (uint64_t)(v), __ATOMIC_RELAXED)

static void refill(struct virtio_rng *r)
{
	uint64_t now = now_ns(), add;

	add = (now - r->last_ns) * r->rate / 1000000000ULL;
	if (!add)
		return; /* keep last_ns: the fraction is not lost */
	r->last_ns = now;
	r->tokens = r->tokens + add > r->burst ? r->burst : r->tokens + add;
}

/* Sleep until RNG_REFILL_MIN bytes are due. */
static void throttle(struct virtio_rng *r)
{
	uint64_t ns = (RNG_REFILL_MIN * 1000000000ULL + r->rate - 1) / r->rate;
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(ns / 1000000000ULL),
			      .tv_nsec = (long)(ns % 1000000000ULL) },
	};

	r->throttled = true;
	STAT_ADD(r, throttled, 1);
	(void)timerfd_settime(r->timer_fd, 0, &its, NULL);
}

/* Fill the writable part of @c with up to @max random bytes; the count. */
static uint32_t fill(const struct virtq_chain *c, uint32_t max)
{
	uint32_t done = 0;

	for (unsigned int i = c->nr_out; i < c->nr_out + c->nr_in && done < max;
	     i++) {
		uint8_t *p = c->iov[i].iov_base;
		size_t left = c->iov[i].iov_len;

		if (left > max - done)
			left = max - done;
		while (left) {
			ssize_t n = getrandom(p, left, GRND_NONBLOCK);

			if (n <= 0)
				return done; /* EAGAIN: the pool is not up */
			p += n;
			left -= (size_t)n;
			done += (uint32_t)n;
		}
	}
	return done;
}

static int process_locked(struct virtio_rng *r)
{
	struct virtio_mmio_dev *d = &r->mmio;
	struct virtq *q = virtio_mmio_queue(d, 0);
	const struct guest_mem *m = virtio_mmio_mem(d);
	int done = 0, ret = 0;

	if (!virtq_is_ready(q) || virtio_mmio_needs_reset(d))
		return 0;
	if (r->throttled) {
		uint64_t expirations;

		if (read(r->timer_fd, &expirations, sizeof(expirations)) < 0)
			return 0; /* not yet: a kick came meanwhile */
		r->throttled = false;
	}
	refill(r);
	for (;;) {
		virtq_disable_notify(q);
		while (done < RNG_BATCH_BUDGET) {
			uint32_t want, got;

			if (worker_cancelled(&r->worker))
				goto out;
			ret = virtq_pop(q, m, &r->chain);
			if (ret <= 0)
				break;
			want = r->chain.in_len < RNG_REQUEST_MAX
				       ? r->chain.in_len
				       : RNG_REQUEST_MAX;
			if (want && !r->tokens) {
				ret = virtq_undo_pop(q, 1);
				if (!ret)
					throttle(r);
				goto out;
			}
			if (want > r->tokens)
				want = (uint32_t)r->tokens;
			got = fill(&r->chain, want);
			r->tokens -= got;
			virtq_push(q, r->chain.head, got);
			STAT_ADD(r, requests, 1);
			STAT_ADD(r, bytes, got);
			done++;
		}
		if (ret < 0)
			break;
		if (done >= RNG_BATCH_BUDGET) {
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

int virtio_rng_process(struct virtio_rng *r, bool *throttled)
{
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (r->active)
		ret = process_locked(r);
	if (throttled)
		*throttled = r->throttled;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* While throttled, the timer says when to look again. */
static void worker_wait_for(void *dev, int *fd, short *events)
{
	struct virtio_rng *r = dev;

	pthread_mutex_lock(&r->lock);
	*fd = r->active && r->throttled ? r->timer_fd : -1;
	pthread_mutex_unlock(&r->lock);
	*events = POLLIN;
}

static void worker_process(void *dev, uint32_t kicked)
{
	(void)kicked; /* or the timer */
	(void)virtio_rng_process(dev, NULL);
}

static void *worker_main(void *arg)
{
	static const struct virtio_loop_ops ops = {
		.wait_for = worker_wait_for,
		.process = worker_process,
	};
	struct virtio_rng *r = arg;

	virtio_device_loop(&r->mmio, r->worker.stop_fd, &ops, r);
	return NULL;
}

/* ---- the transport's view ---- */

static uint64_t rng_features(void *dev)
{
	(void)dev;
	return 1ULL << VIRTIO_RING_F_EVENT_IDX |
	       1ULL << VIRTIO_RING_F_INDIRECT_DESC;
}

static int rng_activate(void *dev)
{
	struct virtio_rng *r = dev;

	pthread_mutex_lock(&r->lock);
	r->active = true;
	pthread_mutex_unlock(&r->lock);
	(void)eventfd_write(virtio_mmio_kick_fd(&r->mmio, 0), 1);
	return 0;
}

static void rng_reset(void *dev)
{
	struct virtio_rng *r = dev;

	worker_cancel_begin(&r->worker);
	pthread_mutex_lock(&r->lock);
	r->active = false;
	/* The bucket stays as it is: a reset must not refill it. */
	worker_cancel_end(&r->worker);
	pthread_mutex_unlock(&r->lock);
}

/* Snapshots: the device's own state is whether it runs (the bucket
 * starts full again in a restored VM). */
static void rng_quiesce(void *dev, bool hold)
{
	struct virtio_rng *r = dev;

	worker_quiesce(&r->worker, &r->lock, virtio_mmio_kick_fd(&r->mmio, 0),
		       hold);
}

static int rng_save(void *dev, struct snap_writer *w,
		    const struct snap_files *files)
{
	struct virtio_rng *r = dev;

	(void)files;
	snap_put_u8(w, r->active);
	return 0;
}

static int rng_restore(void *dev, struct snap_reader *rd, bool active,
		       const struct snap_files *files)
{
	struct virtio_rng *r = dev;
	uint8_t was_active = snap_get_u8(rd);

	(void)files;
	if (rd->err || was_active != active)
		return -EINVAL;
	r->active = active;
	/* A kick (the quiesce's release) looks at the ring again. */
	r->throttled = false;
	return 0;
}

static void rng_dump(void *dev, struct dumpbuf *b)
{
	struct virtio_rng *r = dev;
	struct virtio_rng_stats st;

	virtio_rng_get_stats(r, &st);
	dumpbuf_printf(b,
		       " rng active=%d throttled=%d requests=%llu bytes=%llu "
		       "times_throttled=%llu",
		       __atomic_load_n(&r->active, __ATOMIC_RELAXED),
		       __atomic_load_n(&r->throttled, __ATOMIC_RELAXED),
		       (unsigned long long)st.requests,
		       (unsigned long long)st.bytes,
		       (unsigned long long)st.throttled);
}

static const struct virtio_dev_ops rng_ops = {
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.config_size = 0,
	.features = rng_features,
	.activate = rng_activate,
	.reset = rng_reset,
	.quiesce = rng_quiesce,
	.save = rng_save,
	.restore = rng_restore,
	.dump = rng_dump,
};

struct virtio_mmio_dev *virtio_rng_transport(struct virtio_rng *r)
{
	return &r->mmio;
}

void virtio_rng_get_stats(const struct virtio_rng *r,
			  struct virtio_rng_stats *s)
{
	s->requests = __atomic_load_n(&r->stats.requests, __ATOMIC_RELAXED);
	s->bytes = __atomic_load_n(&r->stats.bytes, __ATOMIC_RELAXED);
	s->throttled = __atomic_load_n(&r->stats.throttled, __ATOMIC_RELAXED);
}

/* ---- creation ---- */

int virtio_rng_create(struct virtio_rng **out, const struct virtio_rng_opts *o,
		      const struct guest_mem *m, char *err, size_t errlen)
{
	struct virtio_rng *r;
	int ret;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return err_fmt(err, errlen, -ENOMEM, "rng: out of memory");
	r->rate = o && o->rate ? o->rate : RNG_RATE_DEFAULT;
	r->burst = o && o->burst ? o->burst : RNG_BURST_DEFAULT;
	r->tokens = r->burst;
	r->last_ns = now_ns();
	r->worker.stop_fd = -1;
	r->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->timer_fd < 0) {
		ret = err_fmt(err, errlen, -errno, "rng: timerfd: %s",
			      strerror(errno));
		goto err_free;
	}
	ret = -pthread_mutex_init(&r->lock, NULL);
	if (ret) {
		err_fmt(err, errlen, ret, "rng: %s", strerror(-ret));
		goto err_timer;
	}
	ret = worker_init_as(&r->worker, o && o->seccomp, SANDBOX_RNG);
	if (ret) {
		err_fmt(err, errlen, ret, "rng: eventfd: %s", strerror(-ret));
		goto err_mutex;
	}
	ret = virtio_mmio_init(&r->mmio, &rng_ops, r, m);
	if (ret) {
		err_fmt(err, errlen, ret, "rng: %s", strerror(-ret));
		goto err_worker;
	}
	*out = r;
	return 0;

err_worker:
	worker_release(&r->worker);
err_mutex:
	pthread_mutex_destroy(&r->lock);
err_timer:
	close(r->timer_fd);
err_free:
	free(r);
	return ret;
}

int virtio_rng_start(struct virtio_rng *r)
{
	return worker_run(&r->worker, worker_main, r);
}

void virtio_rng_destroy(struct virtio_rng *r)
{
	if (!r)
		return;
	worker_release(&r->worker);
	virtio_mmio_destroy(&r->mmio);
	pthread_mutex_destroy(&r->lock);
	close(r->timer_fd);
	free(r);
}

/* ---- the slot table's view ---- */

static unsigned int rng_count(const struct kvmlite_config *cfg)
{
	return cfg->rng ? 1 : 0;
}

static int rng_create(const struct virtio_slot_ctx *c, unsigned int i,
		      void **dev, char *err, size_t errlen)
{
	struct virtio_rng_opts o = { .seccomp = c->seccomp };

	(void)i;
	return virtio_rng_create((struct virtio_rng **)dev, &o, c->mem, err,
				 errlen);
}

static struct virtio_mmio_dev *rng_transport(void *dev)
{
	return virtio_rng_transport(dev);
}

static int rng_start(void *dev)
{
	return virtio_rng_start(dev);
}

static void rng_destroy(void *dev)
{
	virtio_rng_destroy(dev);
}

static void rng_counters(void *dev, struct dumpbuf *db)
{
	struct virtio_rng_stats st;

	virtio_rng_get_stats(dev, &st);
	dumpbuf_printf(
		db, "\"requests\":%llu,\"bytes\":%llu,\"throttled\":%llu",
		(unsigned long long)st.requests, (unsigned long long)st.bytes,
		(unsigned long long)st.throttled);
}

const struct virtio_kind virtio_rng_kind = {
	.name = "virtio-rng",
	.count = rng_count,
	.create = rng_create,
	.transport = rng_transport,
	.start = rng_start,
	.destroy = rng_destroy,
	.counter_name = "rng",
	.counters = rng_counters,
};
