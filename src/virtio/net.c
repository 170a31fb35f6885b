/*
 * virtio-net device. See net.h for the lifecycle, threading and the rules
 * for frames in either direction.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "err.h"
#include "worker.h"
#include "virtio/iov.h"
#include "virtio/loop.h"
#include "virtio/net.h"
#include "virtio/passt.h"
#include "virtio/slots.h"
#include "virtio/tap.h"
#include "snapfile.h"

/* Frames per direction per batch before the worker lets go of the lock and
 * polls again. A reset or a stop does not wait for the batch: the worker
 * looks at worker_cancelled() before each frame (one frame is at most 64
 * KiB and its chains' validation) and leaves the batch when it is set. */
#define NET_BATCH_BUDGET 256
#define NET_RX_BUF_BYTES (VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MAX_FRAME)
/* readv() takes at most UIO_MAXIOV (1024) iovecs. */
#define NET_RX_IOV_MAX 1024
/* A stream's frames: each behind its 32-bit big-endian length. One read()
 * takes up to NET_STREAM_BUF bytes, many frames at once (passt writes
 * bursts of them); NET_STREAM_HEADROOM bytes before the buffer let the
 * vnet header of the first frame take the place of its length and of the
 * 8 bytes before it (of a frame already delivered, or the headroom), so
 * frames go from the buffer to the guest's chains in one copy. */
#define NET_STREAM_LEN_BYTES 4
#define NET_STREAM_BUF (1u << 20)
#define NET_STREAM_HEADROOM (VIRTIO_NET_HDR_BYTES - NET_STREAM_LEN_BYTES)
_Static_assert(NET_STREAM_BUF >= NET_STREAM_LEN_BYTES + VIRTIO_NET_MAX_FRAME,
	       "a stream buffer holds the largest frame");

struct rx_used {
	uint16_t head;
	uint32_t len;
};

struct virtio_net {
	struct virtio_mmio_dev mmio;
	int tap_fd;
	bool is_tap; /* a real tun/tap (TUNGETIFF works) */
	bool stream; /* passt's length-prefixed frames (net.h) */
	uint8_t mac[6];
	char name[IFNAMSIZ + 16];
	uint64_t features;
	uint16_t link_status; /* atomic: VIRTIO_NET_S_LINK_UP or 0 */

	/* Held by whoever processes the queues; a reset takes it too. */
	pthread_mutex_t lock;
	bool active;	/* DRIVER_OK and not reset since */
	bool mrg_rxbuf; /* negotiated features, at activation */
	bool guest_csum;
	bool rx_wait;	  /* out of rx buffers: wait for an rx kick */
	bool tx_wait;	  /* tx_chain waits for the TAP to take it */
	bool tap_dead;	  /* the TAP read EOF or a fatal error */
	uint32_t rx_len;  /* bytes of the frame at rx_frame, header included */
	uint16_t rx_seen; /* avail index up to which the ring ran dry */
	uint8_t *rx_buf;  /* NET_RX_BUF_BYTES */
	uint8_t *rx_frame; /* the waiting frame: rx_buf, or in sbuf */
	struct virtq_chain rx_chain;
	struct virtq_chain tx_chain;
	struct rx_used rx_used[VIRTQ_MAX_SIZE];
	struct iovec rx_iov[NET_RX_IOV_MAX]; /* rx_direct()'s gathered chains */
	/* Stream only: bytes received (s_len from s_off) and the unsent
	 * tail of the last frame sent, both under the lock. sbuf is
	 * NET_STREAM_HEADROOM bytes into sbuf_mem. */
	uint8_t *sbuf_mem, *sbuf;
	uint32_t s_len, s_off;
	uint8_t *tx_rest;
	uint32_t tx_rest_len, tx_rest_off;
	struct iovec tx_iov[VIRTQ_MAX_SEGS + 1];

	struct virtio_net_stats stats; /* atomic counters */

	struct worker worker; /* loads the I/O allow-list when asked */
};

#define STAT_ADD(n, field, v)                                                  \
	__atomic_fetch_add(&(n)->stats.field, (uint64_t)(v), __ATOMIC_RELAXED)

/* ---- transmit ---- */

static ssize_t stream_send(struct virtio_net *n, struct iovec *iov,
			   unsigned int nr)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = nr };
	ssize_t w;

	do
		w = sendmsg(n->tap_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w;
}

/* Write the rest of a stream frame: true once it is all out (or dropped
 * because the socket failed). */
static bool stream_flush(struct virtio_net *n)
{
	while (n->tx_rest_len) {
		struct iovec iov = { n->tx_rest + n->tx_rest_off,
				     n->tx_rest_len };
		ssize_t w = stream_send(n, &iov, 1);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (w < 0) {
			STAT_ADD(n, tx_dropped_error, 1);
			n->tx_rest_len = 0;
			break;
		}
		n->tx_rest_off += (uint32_t)w;
		n->tx_rest_len -= (uint32_t)w;
	}
	n->tx_rest_off = 0;
	return true;
}

/* The frame of chain @c, after the guest's header, behind its length. */
static ssize_t stream_tx(struct virtio_net *n, const struct virtq_chain *c)
{
	uint32_t len = c->out_len - VIRTIO_NET_HDR_BYTES;
	uint8_t be[NET_STREAM_LEN_BYTES] = { (uint8_t)(len >> 24),
					     (uint8_t)(len >> 16),
					     (uint8_t)(len >> 8),
					     (uint8_t)len };
	unsigned int nr;
	ssize_t w;

	n->tx_iov[0] = (struct iovec){ be, sizeof(be) };
	nr = 1 + iov_slice(c->iov, c->nr_out, VIRTIO_NET_HDR_BYTES, len,
			   n->tx_iov + 1);
	w = stream_send(n, n->tx_iov, nr);
	if (w < 0 || (size_t)w == sizeof(be) + len)
		return w;
	/* Partly out: the rest goes before any other frame. */
	if ((size_t)w < sizeof(be)) {
		memcpy(n->tx_rest, be + w, sizeof(be) - (size_t)w);
		n->tx_rest_len = (uint32_t)(sizeof(be) - (size_t)w);
		w = 0;
	} else {
		w -= (ssize_t)sizeof(be);
	}
	(void)iov_to_buf(c->iov, c->nr_out, VIRTIO_NET_HDR_BYTES + (size_t)w,
			 n->tx_rest + n->tx_rest_len, len - (uint32_t)w);
	n->tx_rest_len += len - (uint32_t)w;
	n->tx_wait = true;
	return (ssize_t)(sizeof(be) + len);
}

/* Hand chain @c to the TAP. 1: done with it (sent or dropped; pushed),
 * 0: the TAP is full, the chain is kept in n->tx_chain. */
static int tx_one(struct virtio_net *n, struct virtq *q,
		  const struct virtq_chain *c)
{
	ssize_t w;

	if (c->nr_in || c->out_len < VIRTIO_NET_HDR_BYTES) {
		STAT_ADD(n, tx_dropped_malformed, 1);
		goto done;
	}
	if (c->out_len > VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MAX_FRAME) {
		STAT_ADD(n, tx_dropped_oversize, 1);
		goto done;
	}
	if (n->stream)
		w = stream_tx(n, c);
	else
		do
			w = writev(n->tap_fd, c->iov, (int)c->nr_out);
		while (w < 0 && errno == EINTR);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		STAT_ADD(n, tx_eagain, 1);
		n->tx_wait = true;
		return 0;
	}
	if (w < 0) {
		STAT_ADD(n, tx_dropped_error, 1);
		goto done;
	}
	STAT_ADD(n, tx_packets, 1);
	STAT_ADD(n, tx_bytes, c->out_len - VIRTIO_NET_HDR_BYTES);
done:
	virtq_push(q, c->head, 0);
	return 1;
}

/* Drain the tx queue into the TAP. Frames handled, or -errno for a
 * malformed ring. */
static int tx_process(struct virtio_net *n, struct virtq *q,
		      const struct guest_mem *m)
{
	int done = 0, ret = 0;

	if (!virtq_is_ready(q))
		return 0;
	if (n->tx_wait && n->tx_rest_len) {
		/* A stream frame half out (its chain was pushed). */
		if (!stream_flush(n))
			return 0;
		n->tx_wait = false;
	} else if (n->tx_wait) {
		n->tx_wait = false;
		if (!tx_one(n, q, &n->tx_chain))
			return 0; /* still full */
		done++;
	}
	for (;;) {
		virtq_disable_notify(q);
		while (done < NET_BATCH_BUDGET) {
			if (worker_cancelled(&n->worker))
				return done;
			ret = virtq_pop(q, m, &n->tx_chain);
			if (ret <= 0)
				break;
			if (!tx_one(n, q, &n->tx_chain))
				return done; /* back on POLLOUT */
			done++;
			if (n->tx_wait)
				return done; /* a frame's tail waits */
		}
		if (ret < 0)
			return ret;
		if (done >= NET_BATCH_BUDGET) {
			(void)eventfd_write(
				virtio_mmio_kick_fd(&n->mmio, VIRTIO_NET_TXQ),
				1);
			break;
		}
		/* Re-check after re-enabling, or a kick may be lost. */
		if (!virtq_enable_notify(q))
			break;
	}
	return done;
}

/* ---- receive ---- */

/* Errors after which reading the TAP again is pointless. */
static bool read_error_fatal(int e)
{
	return e != EFAULT && e != EMSGSIZE && e != ENOBUFS && e != ENOMEM &&
	       e != EINVAL;
}

/* Read one frame into @iov (@room bytes); > 0: its length, 0: nothing to
 * read, < 0: counted error (the caller just moves on). A length beyond
 * @room, which only a broken backend returns, is such an error. */
static ssize_t tap_read(struct virtio_net *n, const struct iovec *iov,
			unsigned int nr, uint64_t room)
{
	ssize_t r;

	do
		r = readv(n->tap_fd, iov, (int)nr);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r <= 0) {
		STAT_ADD(n, rx_read_errors, 1);
		if (!r || read_error_fatal(errno))
			n->tap_dead = true;
		return -1;
	}
	if (r < VIRTIO_NET_HDR_BYTES || (uint64_t)r > room) {
		STAT_ADD(n, rx_read_errors, 1);
		return -1;
	}
	return r;
}

/* The header fields the device owns (5.1.6.4), in the header at @hdr. */
static void fix_hdr(const struct virtio_net *n, uint8_t *flags,
		    uint16_t num_buffers, uint8_t *nb_lo, uint8_t *nb_hi)
{
	if (!n->guest_csum)
		*flags = 0;
	*nb_lo = (uint8_t)num_buffers;
	*nb_hi = (uint8_t)(num_buffers >> 8);
}

static bool rx_chain_ok(const struct virtq_chain *c, uint32_t min_len)
{
	return !c->nr_out && c->in_len >= min_len && c->in_len;
}

/*
 * Deliver the frame at n->rx_frame. 1: delivered or dropped (n->rx_len is
 * then 0), 0: not enough buffers yet, -errno: malformed ring or chain.
 */
static int rx_deliver(struct virtio_net *n, struct virtq *q,
		      const struct guest_mem *m)
{
	struct virtq_chain *c = &n->rx_chain;
	uint32_t len = n->rx_len, off = 0;
	uint8_t *nb_lo = NULL, *nb_hi = NULL, *flags = NULL;
	unsigned int count = 0;
	int ret;

	if (!n->mrg_rxbuf) {
		ret = virtq_pop(q, m, c);
		if (!ret)
			n->rx_seen = virtq_next_avail(q);
		if (ret <= 0)
			return ret;
		if (!rx_chain_ok(c, 1))
			goto bad_chain;
		if (c->in_len < len) {
			/* It will never fit: keep the buffer for the next. */
			ret = virtq_undo_pop(q, 1);
			if (ret)
				return ret;
			STAT_ADD(n, rx_dropped_too_big, 1);
			n->rx_len = 0;
			return 1;
		}
		fix_hdr(n, n->rx_frame, 1, n->rx_frame + 10, n->rx_frame + 11);
		iov_from_buf(c->iov, c->nr_in, 0, n->rx_frame, len);
		virtq_push(q, c->head, len);
		goto delivered;
	}

	while (off < len) {
		uint32_t take;

		if (count == virtq_size(q)) {
			/* Every entry of the ring cannot hold it. */
			ret = virtq_undo_pop(q, count);
			if (ret)
				return ret;
			STAT_ADD(n, rx_dropped_too_big, 1);
			n->rx_len = 0;
			return 1;
		}
		ret = virtq_pop(q, m, c);
		if (ret < 0) {
			(void)virtq_undo_pop(q, count); /* malformed anyway */
			return ret;
		}
		if (!ret) {
			/* Wait for more: the next buffer is at rx_seen. */
			n->rx_seen = virtq_next_avail(q);
			return virtq_undo_pop(q, count);
		}
		if (!rx_chain_ok(c, count ? 1 : VIRTIO_NET_HDR_BYTES)) {
			(void)virtq_undo_pop(q, count + 1);
			goto bad_chain;
		}
		take = len - off < c->in_len ? len - off : c->in_len;
		iov_from_buf(c->iov, c->nr_in, 0, n->rx_frame + off, take);
		if (!count) {
			flags = iov_byte(c->iov, c->nr_in, 0);
			nb_lo = iov_byte(c->iov, c->nr_in, 10);
			nb_hi = iov_byte(c->iov, c->nr_in, 11);
		}
		n->rx_used[count].head = c->head;
		n->rx_used[count].len = take;
		count++;
		off += take;
	}
	fix_hdr(n, flags, (uint16_t)count, nb_lo, nb_hi);
	for (unsigned int i = 0; i < count; i++)
		virtq_push(q, n->rx_used[i].head, n->rx_used[i].len);
delivered:
	STAT_ADD(n, rx_packets, 1);
	STAT_ADD(n, rx_bytes, len - VIRTIO_NET_HDR_BYTES);
	n->rx_len = 0;
	return 1;

bad_chain:
	STAT_ADD(n, rx_bad_chain, 1);
	return -EINVAL;
}

/*
 * Zero copy: when the next chain (or, with MRG_RXBUF, the next chains
 * together) can hold the largest frame, read straight into guest memory
 * and give back only the buffers the frame filled. 1: a frame delivered
 * (or a read error counted), 0: not that much room (nothing consumed), -1:
 * the TAP is empty, -errno: malformed.
 */
static int rx_direct(struct virtio_net *n, struct virtq *q,
		     const struct guest_mem *m)
{
	struct virtq_chain *c = &n->rx_chain;
	unsigned int count = 0, niov = 0, used;
	uint64_t room = 0;
	ssize_t r, left;
	int ret;

	while (room < NET_RX_BUF_BYTES && count < virtq_size(q) &&
	       (n->mrg_rxbuf || !count)) {
		ret = virtq_pop(q, m, c);
		if (ret < 0) {
			(void)virtq_undo_pop(q, count); /* malformed anyway */
			return ret;
		}
		if (!ret)
			break;
		if (!rx_chain_ok(c, n->mrg_rxbuf && !count
					    ? VIRTIO_NET_HDR_BYTES
					    : 1)) {
			(void)virtq_undo_pop(q, count + 1);
			STAT_ADD(n, rx_bad_chain, 1);
			return -EINVAL;
		}
		if (niov + c->nr_in > NET_RX_IOV_MAX) {
			ret = virtq_undo_pop(q, 1);
			if (ret)
				return ret;
			break;
		}
		memcpy(&n->rx_iov[niov], c->iov + c->nr_out,
		       c->nr_in * sizeof(c->iov[0]));
		niov += c->nr_in;
		n->rx_used[count].head = c->head;
		n->rx_used[count].len = c->in_len;
		count++;
		room += c->in_len;
	}
	if (room < NET_RX_BUF_BYTES)
		return virtq_undo_pop(q, count);
	r = tap_read(n, n->rx_iov, niov, room);
	if (r <= 0) {
		ret = virtq_undo_pop(q, count);
		if (ret)
			return ret;
		return r ? 1 : -1;
	}
	/* room >= r (checked): the frame ends inside the first `used`
	 * buffers. */
	left = r;
	for (used = 0; left > 0; used++) {
		if ((ssize_t)n->rx_used[used].len > left)
			n->rx_used[used].len = (uint32_t)left;
		left -= n->rx_used[used].len;
	}
	ret = virtq_undo_pop(q, count - used);
	if (ret)
		return ret;
	fix_hdr(n, iov_byte(n->rx_iov, niov, 0), (uint16_t)used,
		iov_byte(n->rx_iov, niov, 10), iov_byte(n->rx_iov, niov, 11));
	for (unsigned int i = 0; i < used; i++)
		virtq_push(q, n->rx_used[i].head, n->rx_used[i].len);
	STAT_ADD(n, rx_packets, 1);
	STAT_ADD(n, rx_bytes, (uint64_t)r - VIRTIO_NET_HDR_BYTES);
	return 1;
}

/*
 * The next whole frame of the stream, where it lies in n->sbuf, behind a
 * zeroed header written over its length and the bytes before it (see
 * NET_STREAM_BUF) but for DATA_VALID in flags when the driver negotiated
 * GUEST_CSUM (passt computed the frame's checksums; without GUEST_CSUM
 * flags MUST be 0, and fix_hdr() would clear it anyway). 1: there
 * (n->rx_len set), 0: the socket has no more now, -1: the stream ended
 * or is broken (tap_dead).
 */
static int stream_frame(struct virtio_net *n)
{
	for (;;) {
		ssize_t r;

		if (n->s_len >= NET_STREAM_LEN_BYTES) {
			const uint8_t *p = n->sbuf + n->s_off;
			uint32_t len = (uint32_t)p[0] << 24 |
				       (uint32_t)p[1] << 16 |
				       (uint32_t)p[2] << 8 | p[3];

			if (!len || len > VIRTIO_NET_MAX_FRAME) {
				STAT_ADD(n, rx_read_errors, 1);
				n->tap_dead = true;
				return -1;
			}
			if (n->s_len >= NET_STREAM_LEN_BYTES + len) {
				uint8_t *h = n->sbuf + n->s_off -
					     NET_STREAM_HEADROOM;

				memset(h, 0, VIRTIO_NET_HDR_BYTES);
				if (n->guest_csum)
					h[0] = VIRTIO_NET_HDR_F_DATA_VALID;
				n->rx_frame = h;
				n->rx_len = VIRTIO_NET_HDR_BYTES + len;
				n->s_off += NET_STREAM_LEN_BYTES + len;
				n->s_len -= NET_STREAM_LEN_BYTES + len;
				if (!n->s_len)
					n->s_off = 0;
				return 1;
			}
		}
		if (n->s_off) {
			memmove(n->sbuf, n->sbuf + n->s_off, n->s_len);
			n->s_off = 0;
		}
		do
			r = read(n->tap_fd, n->sbuf + n->s_len,
				 NET_STREAM_BUF - n->s_len);
		while (r < 0 && errno == EINTR);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r <= 0) {
			if (r < 0)
				STAT_ADD(n, rx_read_errors, 1);
			n->tap_dead = true;
			return -1;
		}
		STAT_ADD(n, rx_stream_reads, 1);
		n->s_len += (uint32_t)r;
	}
}

/* Move frames from the TAP to the rx queue while both have some. Frames
 * handled, or -errno for a malformed ring or chain. */
static int rx_process(struct virtio_net *n, struct virtq *q,
		      const struct guest_mem *m)
{
	struct iovec bounce = { n->rx_buf, NET_RX_BUF_BYTES };
	int done = 0, ret;

	/* No ring: nothing to do until the driver resets the device. */
	n->rx_wait = !virtq_is_ready(q);
	if (!virtq_is_ready(q))
		return 0;
	virtq_disable_notify(q);
	while (done < NET_BATCH_BUDGET) {
		if (worker_cancelled(&n->worker))
			break;
		if (!n->rx_len && n->stream) {
			if (n->tap_dead || stream_frame(n) <= 0)
				break;
		} else if (!n->rx_len) {
			ssize_t r;

			if (n->tap_dead)
				break;
			ret = rx_direct(n, q, m);
			if (ret < 0 && ret != -1)
				return ret;
			if (ret == -1)
				break; /* the TAP is empty */
			if (ret == 1) {
				done++;
				continue;
			}
			/* Do not take a frame the guest has no room for. */
			if (!virtq_avail_pending(q)) {
				n->rx_seen = virtq_next_avail(q);
				ret = virtq_enable_notify_at(q, n->rx_seen);
				if (ret < 0)
					return ret;
				if (ret)
					continue;
				n->rx_wait = true;
				break;
			}
			r = tap_read(n, &bounce, 1, bounce.iov_len);
			if (!r)
				break;
			if (r < 0) {
				done++;
				continue;
			}
			n->rx_frame = n->rx_buf;
			n->rx_len = (uint32_t)r;
		}
		ret = rx_deliver(n, q, m);
		if (ret < 0)
			return ret;
		if (!ret) {
			/* Ask for a kick when the buffer at rx_seen comes (the
			 * ones before it were given back), then re-check. */
			ret = virtq_enable_notify_at(q, n->rx_seen);
			if (ret < 0)
				return ret;
			if (ret)
				continue;
			STAT_ADD(n, rx_no_room, 1);
			n->rx_wait = true;
			break;
		}
		done++;
	}
	if (done >= NET_BATCH_BUDGET)
		(void)eventfd_write(
			virtio_mmio_kick_fd(&n->mmio, VIRTIO_NET_RXQ), 1);
	return done;
}

/* ---- processing ---- */

/* Called with n->lock held and the device active. */
static int process_locked(struct virtio_net *n)
{
	struct virtio_mmio_dev *d = &n->mmio;
	const struct guest_mem *m = virtio_mmio_mem(d);
	struct virtq *rxq = virtio_mmio_queue(d, VIRTIO_NET_RXQ);
	struct virtq *txq = virtio_mmio_queue(d, VIRTIO_NET_TXQ);
	int tx, rx = 0, ret = 0;
	bool irq;

	if (virtio_mmio_needs_reset(d))
		return 0;
	tx = tx_process(n, txq, m);
	if (tx >= 0)
		rx = rx_process(n, rxq, m);
	irq = virtq_needs_interrupt(txq);
	irq |= virtq_needs_interrupt(rxq);
	if (irq) {
		STAT_ADD(n, interrupts, 1);
		virtio_mmio_signal_used(d);
	}
	if (tx < 0 || rx < 0) {
		virtio_mmio_set_needs_reset(d);
		ret = tx < 0 ? tx : rx;
		return ret;
	}
	return tx + rx;
}

int virtio_net_process(struct virtio_net *n)
{
	int ret = 0;

	pthread_mutex_lock(&n->lock);
	if (n->active)
		ret = process_locked(n);
	pthread_mutex_unlock(&n->lock);
	return ret;
}

/* Wait on the TAP for frames while the guest has room, and for room
 * while a frame waits to be sent. */
static void worker_wait_for(void *dev, int *fd, short *events)
{
	struct virtio_net *n = dev;
	short ev = 0;

	pthread_mutex_lock(&n->lock);
	if (n->active && !n->tap_dead && !virtio_mmio_needs_reset(&n->mmio)) {
		if (!n->rx_wait)
			ev |= POLLIN;
		if (n->tx_wait)
			ev |= POLLOUT;
	}
	pthread_mutex_unlock(&n->lock);
	*fd = ev ? n->tap_fd : -1;
	*events = ev;
}

static void worker_process(void *dev, uint32_t kicked)
{
	(void)kicked; /* the TAP may have woken us: look at both rings */
	(void)virtio_net_process(dev);
}

static void *worker_main(void *arg)
{
	static const struct virtio_loop_ops ops = {
		.wait_for = worker_wait_for,
		.process = worker_process,
	};
	struct virtio_net *n = arg;

	virtio_device_loop(&n->mmio, n->worker.stop_fd, &ops, n);
	return NULL;
}

/* ---- the transport's view ---- */

static uint64_t net_features(void *dev)
{
	return ((struct virtio_net *)dev)->features;
}

static void net_config_read(void *dev, uint32_t off, uint8_t *data,
			    uint32_t len)
{
	struct virtio_net *n = dev;
	uint8_t cfg[VIRTIO_NET_CONFIG_SIZE];
	uint16_t st = __atomic_load_n(&n->link_status, __ATOMIC_RELAXED);

	memcpy(cfg + VIRTIO_NET_CFG_MAC, n->mac, 6);
	cfg[VIRTIO_NET_CFG_STATUS] = (uint8_t)st;
	cfg[VIRTIO_NET_CFG_STATUS + 1] = (uint8_t)(st >> 8);
	memcpy(data, cfg + off, len);
}

static int net_activate(void *dev)
{
	struct virtio_net *n = dev;
	uint64_t f = virtio_mmio_driver_features(&n->mmio);
	int ret = 0;

	if (n->is_tap) {
		ret = tap_set_offload(n->tap_fd, f);
		/* A tap that cannot do some offload: the guest must not get
		 * frames it did not ask for, so refuse. */
		if (ret && tap_set_offload(n->tap_fd, 0) == 0)
			ret = -EOPNOTSUPP;
	}
	pthread_mutex_lock(&n->lock);
	n->mrg_rxbuf = f & 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	n->guest_csum = f & 1ULL << VIRTIO_NET_F_GUEST_CSUM;
	n->rx_wait = false;
	n->tx_wait = n->tx_rest_len != 0;
	n->active = !ret;
	pthread_mutex_unlock(&n->lock);
	if (ret)
		return ret;
	/* Wake the worker: it looks at both rings and starts polling. */
	(void)eventfd_write(virtio_mmio_kick_fd(&n->mmio, VIRTIO_NET_RXQ), 1);
	(void)eventfd_write(virtio_mmio_kick_fd(&n->mmio, VIRTIO_NET_TXQ), 1);
	return 0;
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;

	/* Waits for the frame in hand (the cancel ends the batch there); the
	 * worker then leaves the queues alone until the next activation. */
	worker_cancel_begin(&n->worker);
	pthread_mutex_lock(&n->lock);
	n->active = false;
	if (n->rx_len)
		STAT_ADD(n, rx_dropped_reset, 1);
	n->rx_len = 0;
	n->rx_wait = false;
	/* The chain belonged to the old ring; a stream frame's tail is
	 * still owed to the stream, which knows no reset. */
	n->tx_wait = n->tx_rest_len != 0;
	worker_cancel_end(&n->worker);
	pthread_mutex_unlock(&n->lock);
}

/* Snapshots: see net.h. */
static void net_quiesce(void *dev, bool hold)
{
	struct virtio_net *n = dev;

	worker_quiesce(&n->worker, &n->lock,
		       virtio_mmio_kick_fd(&n->mmio, VIRTIO_NET_RXQ), hold);
	if (!hold) {
		(void)eventfd_write(
			virtio_mmio_kick_fd(&n->mmio, VIRTIO_NET_TXQ), 1);
		return;
	}
	/* The chain waiting for the TAP was the last one popped, and nothing
	 * was pushed after it. */
	if (n->tx_wait &&
	    !virtq_undo_pop(virtio_mmio_queue(&n->mmio, VIRTIO_NET_TXQ), 1))
		n->tx_wait = false;
}

static int net_save(void *dev, struct snap_writer *w,
		    const struct snap_files *files)
{
	struct virtio_net *n = dev;

	(void)files;
	snap_put_u8(w, n->active);
	snap_put_u16(w, __atomic_load_n(&n->link_status, __ATOMIC_RELAXED));
	snap_put_u16(w, n->rx_seen);
	snap_put_u32(w, n->rx_len);
	snap_put_bytes(w, n->rx_frame, n->rx_len);
	return 0;
}

static int net_restore(void *dev, struct snap_reader *r, bool active,
		       const struct snap_files *files)
{
	struct virtio_net *n = dev;
	uint64_t f = virtio_mmio_driver_features(&n->mmio);
	uint8_t was_active = snap_get_u8(r);
	uint16_t link = snap_get_u16(r), rx_seen = snap_get_u16(r);
	uint32_t rx_len = snap_get_u32(r);
	int ret;

	(void)files;
	if (r->err || was_active != active ||
	    (link != 0 && link != VIRTIO_NET_S_LINK_UP) ||
	    rx_len > NET_RX_BUF_BYTES ||
	    (rx_len && rx_len < VIRTIO_NET_HDR_BYTES))
		return -EINVAL;
	snap_get_bytes(r, n->rx_buf, rx_len);
	if (r->err)
		return -EINVAL;
	/* The offloads the guest negotiated, as net_activate() sets them. */
	if (active && n->is_tap && tap_set_offload(n->tap_fd, f)) {
		(void)tap_set_offload(n->tap_fd, 0);
		return -EOPNOTSUPP;
	}
	n->active = active;
	n->mrg_rxbuf = f & 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	n->guest_csum = f & 1ULL << VIRTIO_NET_F_GUEST_CSUM;
	n->rx_wait = false;
	n->tx_wait = false;
	n->rx_len = rx_len;
	n->rx_frame = n->rx_buf;
	n->rx_seen = rx_seen;
	__atomic_store_n(&n->link_status, link, __ATOMIC_SEQ_CST);
	ret = 0;
	return ret;
}

static void net_dump(void *dev, struct dumpbuf *b)
{
	struct virtio_net *n = dev;
	struct virtio_net_stats st;

	virtio_net_get_stats(n, &st);
	dumpbuf_printf(b,
		       " net %s stream=%d active=%d rx_wait=%d tx_wait=%d "
		       "tap_dead=%d rx_len=%u rx_seen=%u rx=%llu tx=%llu "
		       "rx_no_room=%llu tx_eagain=%llu interrupts=%llu",
		       n->name, n->stream,
		       __atomic_load_n(&n->active, __ATOMIC_RELAXED),
		       __atomic_load_n(&n->rx_wait, __ATOMIC_RELAXED),
		       __atomic_load_n(&n->tx_wait, __ATOMIC_RELAXED),
		       __atomic_load_n(&n->tap_dead, __ATOMIC_RELAXED),
		       __atomic_load_n(&n->rx_len, __ATOMIC_RELAXED),
		       __atomic_load_n(&n->rx_seen, __ATOMIC_RELAXED),
		       (unsigned long long)st.rx_packets,
		       (unsigned long long)st.tx_packets,
		       (unsigned long long)st.rx_no_room,
		       (unsigned long long)st.tx_eagain,
		       (unsigned long long)st.interrupts);
}

static const struct virtio_dev_ops net_ops = {
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.config_size = VIRTIO_NET_CONFIG_SIZE,
	.features = net_features,
	.config_read = net_config_read,
	.config_write = NULL,
	.activate = net_activate,
	.reset = net_reset,
	.quiesce = net_quiesce,
	.save = net_save,
	.restore = net_restore,
	.dump = net_dump,
};

const struct virtio_dev_ops *virtio_net_ops(void)
{
	return &net_ops;
}

struct virtio_mmio_dev *virtio_net_transport(struct virtio_net *n)
{
	return &n->mmio;
}

void virtio_net_get_stats(const struct virtio_net *n,
			  struct virtio_net_stats *s)
{
	const uint64_t *src = (const uint64_t *)&n->stats;
	uint64_t *dst = (uint64_t *)s;

	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void virtio_net_set_link(struct virtio_net *n, bool up)
{
	uint16_t v = up ? VIRTIO_NET_S_LINK_UP : 0;

	if (__atomic_exchange_n(&n->link_status, v, __ATOMIC_SEQ_CST) == v)
		return;
	if (n->features & 1ULL << VIRTIO_NET_F_STATUS)
		virtio_mmio_config_changed(&n->mmio);
}

/* ---- creation ---- */

/* A real tap must carry the 12-byte vnet header we assume. */
static int check_tap(struct virtio_net *n, char *err, size_t errlen)
{
	struct ifreq ifr;
	int sz = 0;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(n->tap_fd, TUNGETIFF, &ifr) < 0)
		return 0; /* not a tun/tap: a test's packet socket */
	n->is_tap = true;
	if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_NO_PI) ||
	    !(ifr.ifr_flags & IFF_VNET_HDR))
		return err_fmt(err, errlen, -EINVAL,
			       "net %s: the tap needs IFF_TAP, IFF_NO_PI and "
			       "IFF_VNET_HDR",
			       n->name);
	if (ioctl(n->tap_fd, TUNGETVNETHDRSZ, &sz) < 0 ||
	    sz != VIRTIO_NET_HDR_BYTES)
		return err_fmt(err, errlen, -EINVAL,
			       "net %s: the tap's vnet header is %d bytes, not "
			       "%d",
			       n->name, sz, VIRTIO_NET_HDR_BYTES);
	return 0;
}

int virtio_net_create(struct virtio_net **out,
		      const struct virtio_net_config_opts *o,
		      const struct guest_mem *m, char *err, size_t errlen)
{
	const char *name = o && o->name ? o->name : "";
	struct virtio_net *n;
	int fl, ret;

	*out = NULL;
	if (!o || o->tap_fd < 0)
		return err_fmt(err, errlen, -EBADF, "net %s: no tap fd", name);
	if (!o->mac)
		return err_fmt(err, errlen, -EINVAL, "net %s: no MAC address",
			       name);
	if ((o->mac[0] & 1) || !(o->mac[0] | o->mac[1] | o->mac[2] | o->mac[3] |
				 o->mac[4] | o->mac[5]))
		return err_fmt(err, errlen, -EINVAL,
			       "net %s: MAC address is multicast or zero",
			       name);
	fl = fcntl(o->tap_fd, F_GETFL);
	if (fl < 0 || fcntl(o->tap_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return err_fmt(err, errlen, -errno, "net %s: tap fd: %s", name,
			       strerror(errno));

	n = calloc(1, sizeof(*n));
	if (!n)
		return err_fmt(err, errlen, -ENOMEM, "net %s: out of memory",
			       name);
	n->tap_fd = o->tap_fd;
	n->stream = o->stream;
	n->worker.stop_fd = -1;
	snprintf(n->name, sizeof(n->name), "%s", name);
	memcpy(n->mac, o->mac, 6);
	n->link_status = VIRTIO_NET_S_LINK_UP;
	ret = check_tap(n, err, errlen);
	if (ret)
		goto err_free;
	n->rx_buf = malloc(NET_RX_BUF_BYTES);
	n->rx_frame = n->rx_buf;
	if (n->stream) {
		n->sbuf_mem = malloc(NET_STREAM_HEADROOM + NET_STREAM_BUF);
		n->sbuf = n->sbuf_mem ? n->sbuf_mem + NET_STREAM_HEADROOM
				      : NULL;
		n->tx_rest =
			malloc(NET_STREAM_LEN_BYTES + VIRTIO_NET_MAX_FRAME);
	}
	if (!n->rx_buf || (n->stream && (!n->sbuf || !n->tx_rest))) {
		ret = err_fmt(err, errlen, -ENOMEM, "net %s: out of memory",
			      name);
		goto err_free;
	}
	ret = -pthread_mutex_init(&n->lock, NULL);
	if (ret) {
		err_fmt(err, errlen, ret, "net %s: %s", name, strerror(-ret));
		goto err_free;
	}
	ret = worker_init(&n->worker, o->seccomp);
	if (ret) {
		err_fmt(err, errlen, ret, "net %s: eventfd: %s", name,
			strerror(-ret));
		goto err_mutex;
	}
	n->features =
		1ULL << VIRTIO_RING_F_EVENT_IDX |
		1ULL << VIRTIO_RING_F_INDIRECT_DESC | 1ULL << VIRTIO_NET_F_MAC |
		1ULL << VIRTIO_NET_F_STATUS | 1ULL << VIRTIO_NET_F_CSUM |
		1ULL << VIRTIO_NET_F_GUEST_CSUM |
		1ULL << VIRTIO_NET_F_HOST_TSO4 |
		1ULL << VIRTIO_NET_F_HOST_TSO6 | 1ULL << VIRTIO_NET_F_HOST_ECN |
		1ULL << VIRTIO_NET_F_GUEST_TSO4 |
		1ULL << VIRTIO_NET_F_GUEST_TSO6 |
		1ULL << VIRTIO_NET_F_GUEST_ECN | 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	if (n->stream)
		/* No vnet header from passt to say what a frame needs: no
		 * partial checksums or segments either way. GUEST_CSUM
		 * stays (it requires nothing; GUEST_TSO4/6, which require
		 * it, and GUEST_ECN go): passt builds every frame it sends
		 * with correct checksums, so stream_frame() marks them
		 * DATA_VALID for a driver that negotiated it (5.1.6.4). */
		n->features &= ~(1ULL << VIRTIO_NET_F_CSUM |
				 1ULL << VIRTIO_NET_F_HOST_TSO4 |
				 1ULL << VIRTIO_NET_F_HOST_TSO6 |
				 1ULL << VIRTIO_NET_F_HOST_ECN |
				 1ULL << VIRTIO_NET_F_GUEST_TSO4 |
				 1ULL << VIRTIO_NET_F_GUEST_TSO6 |
				 1ULL << VIRTIO_NET_F_GUEST_ECN);

	ret = virtio_mmio_init(&n->mmio, &net_ops, n, m);
	if (ret) {
		err_fmt(err, errlen, ret, "net %s: %s", name, strerror(-ret));
		goto err_stop;
	}
	*out = n;
	return 0;

err_stop:
	worker_release(&n->worker);
err_mutex:
	pthread_mutex_destroy(&n->lock);
err_free:
	free(n->rx_buf);
	free(n->sbuf_mem);
	free(n->tx_rest);
	free(n);
	return ret;
}

int virtio_net_start(struct virtio_net *n)
{
	return worker_run(&n->worker, worker_main, n);
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	worker_release(&n->worker);
	virtio_mmio_destroy(&n->mmio);
	pthread_mutex_destroy(&n->lock);
	close(n->tap_fd);
	free(n->rx_buf);
	free(n->sbuf_mem);
	free(n->tx_rest);
	free(n);
}

/* ---- the slot table's view ---- */

static unsigned int net_count(const struct kvmlite_config *cfg)
{
	return cfg->nr_nets;
}

/* Open (or create) the TAP and make the device; the MAC was validated
 * with the configuration. */
static int net_create(const struct virtio_slot_ctx *c, unsigned int i,
		      void **dev, char *err, size_t errlen)
{
	const struct kvmlite_net *n = &c->cfg->nets[i];
	struct virtio_net_config_opts o = {
		.name = n->passt ? "passt" : n->tap,
		.stream = n->passt != NULL,
		.seccomp = c->seccomp,
	};
	uint8_t mac[6];
	int fd, ret;

	if (!n->mac || mac_parse(n->mac, mac))
		mac_default(mac, c->cfg->name ? c->cfg->name : "", i);
	if (n->passt)
		ret = passt_open(n->passt, &fd, err, errlen);
	else
		ret = tap_open(n->tap, true, &fd, err, errlen);
	if (ret)
		return ret;
	o.tap_fd = fd;
	o.mac = mac;
	ret = virtio_net_create((struct virtio_net **)dev, &o, c->mem, err,
				errlen);
	if (ret)
		close(fd);
	return ret;
}

static struct virtio_mmio_dev *net_transport(void *dev)
{
	return virtio_net_transport(dev);
}

static int net_start(void *dev)
{
	return virtio_net_start(dev);
}

static void net_destroy(void *dev)
{
	virtio_net_destroy(dev);
}

/* Cloud Hypervisor's names (rx/tx_bytes, rx/tx_frames), and drops. */
static void net_counters(void *dev, struct dumpbuf *b)
{
	struct virtio_net_stats st;

	virtio_net_get_stats(dev, &st);
	dumpbuf_printf(b,
		       "\"rx_bytes\":%llu,\"rx_frames\":%llu,"
		       "\"tx_bytes\":%llu,\"tx_frames\":%llu,"
		       "\"rx_dropped\":%llu,\"tx_dropped\":%llu",
		       (unsigned long long)st.rx_bytes,
		       (unsigned long long)st.rx_packets,
		       (unsigned long long)st.tx_bytes,
		       (unsigned long long)st.tx_packets,
		       (unsigned long long)(st.rx_dropped_too_big +
					    st.rx_dropped_reset),
		       (unsigned long long)(st.tx_dropped_malformed +
					    st.tx_dropped_oversize +
					    st.tx_dropped_error));
}

const struct virtio_kind virtio_net_kind = {
	.name = "virtio-net",
	.count = net_count,
	.create = net_create,
	.transport = net_transport,
	.start = net_start,
	.destroy = net_destroy,
	.counter_name = "net",
	.counters = net_counters,
};
