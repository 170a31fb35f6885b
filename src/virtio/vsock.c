/* virtio-vsock with Firecracker's hybrid vsock. See vsock.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "snapfile.h"
#include "util.h"
#include "worker.h"
#include "virtio/iov.h"
#include "virtio/loop.h"
#include "virtio/slots.h"
#include "virtio/vsock.h"

/* Packets per queue per pass before the worker lets go of the lock. */
#define VSOCK_BATCH_BUDGET 256
/* Data packets to one connection in a row before the next one's turn. */
#define VSOCK_RX_BURST 16
#define VSOCK_EVENTS 64

/* epoll tags beside connection indexes. */
#define TAG_LISTENER (~0ULL)
#define TAG_TIMER (~0ULL - 1)

enum conn_state {
	CONN_FREE = 0,
	CONN_HOST_LINE,	   /* host connected: reading "CONNECT <port>\n" */
	CONN_HOST_REQUEST, /* REQUEST owed or sent: waiting for RESPONSE */
	CONN_ESTABLISHED,
	CONN_CLOSING, /* socket closed, a RST owed to the guest */
};

/* Control packets owed to the guest, in the order they go. */
#define OWE_REQUEST 1u
#define OWE_RESPONSE 2u
#define OWE_CREDIT 4u
#define OWE_SHUTDOWN 8u
#define OWE_RST 16u

struct conn {
	enum conn_state state;
	int fd;
	uint32_t guest_port, host_port;
	uint64_t deadline_ns; /* HOST_LINE, HOST_REQUEST */
	unsigned int owe;     /* OWE_* */
	uint32_t shutdown_flags;
	uint32_t epoll_events; /* registered now */
	bool readable;	       /* epoll said so; cleared by EAGAIN */
	bool hup;	       /* the socket hung up: removed from epoll */
	bool host_eof;	       /* read 0: SHUTDOWN(SEND) owed */
	bool guest_shut_send, guest_shut_rcv;
	bool shut_wr_done;
	/* Guest to host: "OK <port>\n" first, then what the socket has not
	 * taken yet (at most VSOCK_BUF_ALLOC, allocated when first needed). */
	char hello[24];
	uint32_t hello_len, hello_off;
	char line[VSOCK_LINE_MAX + 1]; /* CONN_HOST_LINE: what came so far */
	uint32_t line_len;
	bool close_after_flush; /* the guest closed: RST once it is out */
	uint8_t *pending;
	uint32_t pending_len, pending_off;
	uint32_t fwd_cnt, fwd_reported;
	/* Host to guest, the guest's credit. */
	uint32_t peer_buf_alloc, peer_fwd_cnt, rx_cnt;
};

struct rst_reply {
	uint32_t src_port, dst_port; /* the guest's packet's */
};

struct virtio_vsock {
	struct virtio_mmio_dev mmio;
	uint32_t cid;
	char uds[KVMLITE_VSOCK_UDS_MAX + 1];
	int listen_fd, epoll_fd, timer_fd;
	unsigned int max_conns;

	/* Held by whoever processes the queues; a reset takes it too. */
	pthread_mutex_t lock;
	bool active;
	/* A reset came: close every connection on the worker's next pass
	 * (the vCPU thread that resets may not touch sockets). */
	bool flush;
	/* Restored from a snapshot: the guest's connections were in another
	 * process's sockets; a TRANSPORT_RESET event is owed to it. Once
	 * sent, new host connections wait in the listener's backlog until
	 * the driver has handled it (it resets every connected socket, a new
	 * one too, then refills the event ring past reset_mark). */
	bool owe_transport_reset;
	bool reset_unhandled;
	uint16_t reset_mark;
	bool rx_wait;	 /* the rx ring ran dry: wait for an rx kick */
	bool tx_blocked; /* the RST queue is full: tx waits for rx */
	uint64_t timer_at;
	uint32_t next_port;
	unsigned int nr_conns, rx_next;
	struct conn *conns;
	struct rst_reply rst[VSOCK_RST_QUEUE];
	unsigned int rst_head, rst_len;
	struct virtq_chain chain;
	struct iovec iov[VIRTQ_MAX_SEGS + 2];

	struct virtio_vsock_stats stats; /* atomic counters */
	struct worker worker;
};

#define STAT_ADD(v, field, n)                                                  \
	__atomic_fetch_add(&(v)->stats.field, (uint64_t)(n), __ATOMIC_RELAXED)

/* ---- the header ---- */

void vsock_hdr_decode(const uint8_t *b, struct vsock_hdr *h)
{
	h->src_cid = le_get(b, 8);
	h->dst_cid = le_get(b + 8, 8);
	h->src_port = (uint32_t)le_get(b + 16, 4);
	h->dst_port = (uint32_t)le_get(b + 20, 4);
	h->len = (uint32_t)le_get(b + 24, 4);
	h->type = (uint16_t)le_get(b + 28, 2);
	h->op = (uint16_t)le_get(b + 30, 2);
	h->flags = (uint32_t)le_get(b + 32, 4);
	h->buf_alloc = (uint32_t)le_get(b + 36, 4);
	h->fwd_cnt = (uint32_t)le_get(b + 40, 4);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t *b)
{
	le_put(b, 8, h->src_cid);
	le_put(b + 8, 8, h->dst_cid);
	le_put(b + 16, 4, h->src_port);
	le_put(b + 20, 4, h->dst_port);
	le_put(b + 24, 4, h->len);
	le_put(b + 28, 2, h->type);
	le_put(b + 30, 2, h->op);
	le_put(b + 32, 4, h->flags);
	le_put(b + 36, 4, h->buf_alloc);
	le_put(b + 40, 4, h->fwd_cnt);
}

/* ---- connections ---- */

static struct conn *conn_find(struct virtio_vsock *v, uint32_t guest_port,
			      uint32_t host_port)
{
	for (unsigned int i = 0; i < v->max_conns; i++) {
		struct conn *c = &v->conns[i];

		if (c->state != CONN_FREE && c->guest_port == guest_port &&
		    c->host_port == host_port)
			return c;
	}
	return NULL;
}

static struct conn *conn_alloc(struct virtio_vsock *v, int fd)
{
	for (unsigned int i = 0; i < v->max_conns; i++) {
		struct conn *c = &v->conns[i];
		struct epoll_event ev = { .events = 0, .data.u64 = i };

		if (c->state != CONN_FREE)
			continue;
		*c = (struct conn){ .fd = fd };
		if (fd >= 0 && epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
			return NULL;
		v->nr_conns++;
		STAT_ADD(v, conns_opened, 1);
		return c;
	}
	return NULL;
}

/* Closing the fd takes it out of the epoll set (it has no duplicate): no
 * EPOLL_CTL_DEL, which the main thread may not call when it destroys the
 * device under the command's filter. */
static void conn_close_fd(struct virtio_vsock *v, struct conn *c)
{
	(void)v;
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	c->epoll_events = 0;
}

static void conn_free(struct virtio_vsock *v, struct conn *c)
{
	conn_close_fd(v, c);
	if (c->pending)
		munmap(c->pending, VSOCK_BUF_ALLOC);
	*c = (struct conn){ .state = CONN_FREE, .fd = -1 };
	v->nr_conns--;
	STAT_ADD(v, conns_closed, 1);
}

/* Close the host side and tell the guest (unless it never knew). */
static void conn_reset(struct virtio_vsock *v, struct conn *c)
{
	conn_close_fd(v, c);
	if (c->state == CONN_HOST_LINE ||
	    (c->state == CONN_HOST_REQUEST && (c->owe & OWE_REQUEST))) {
		conn_free(v, c);
		return;
	}
	c->state = CONN_CLOSING;
	c->owe = OWE_RST;
}

/* A host port unique among our connections' (a guest port may repeat);
 * there are far fewer connections than ports. */
static uint32_t alloc_host_port(struct virtio_vsock *v)
{
	for (;;) {
		uint32_t p = v->next_port++;
		bool taken = false;

		if (v->next_port < VSOCK_LOCAL_PORT_BASE)
			v->next_port = VSOCK_LOCAL_PORT_BASE;
		for (unsigned int i = 0; i < v->max_conns && !taken; i++)
			taken = v->conns[i].state != CONN_FREE &&
				v->conns[i].host_port == p;
		if (!taken)
			return p;
	}
}

/* The guest's free room for our data, by its last word. */
static uint32_t peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0
					      : c->peer_buf_alloc - in_flight;
}

/* ---- host sockets ---- */

static ssize_t send_iov(int fd, struct iovec *iov, unsigned int n)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
	ssize_t w;

	do
		w = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w;
}

static ssize_t recv_iov(int fd, struct iovec *iov, unsigned int n, int flags)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
	ssize_t r;

	do
		r = recvmsg(fd, &mh, MSG_DONTWAIT | flags);
	while (r < 0 && errno == EINTR);
	return r;
}

static bool again(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* Once the guest will send no more and all it sent is out. */
static void maybe_shut_wr(struct conn *c)
{
	if (c->guest_shut_send && !c->shut_wr_done && c->fd >= 0 &&
	    !c->pending_len && c->hello_off == c->hello_len) {
		(void)shutdown(c->fd, SHUT_WR);
		c->shut_wr_done = true;
	}
}

/* Credit owed: a quarter of the buffer forwarded unreported, or the
 * buffer just emptied (the guest may be waiting on it). */
static void maybe_owe_credit(struct conn *c, bool drained)
{
	uint32_t unreported = c->fwd_cnt - c->fwd_reported;

	if (unreported >= VSOCK_BUF_ALLOC / 4 || (drained && unreported))
		c->owe |= OWE_CREDIT;
}

/* Write the hello line and the buffer. 0, or -1: the socket failed. */
static int conn_flush(struct virtio_vsock *v, struct conn *c)
{
	bool had = c->pending_len;

	while (c->hello_off < c->hello_len) {
		struct iovec iov = { c->hello + c->hello_off,
				     c->hello_len - c->hello_off };
		ssize_t w = send_iov(c->fd, &iov, 1);

		if (w < 0)
			return again() ? 0 : -1;
		c->hello_off += (uint32_t)w;
	}
	while (c->pending_len) {
		struct iovec iov = { c->pending + c->pending_off,
				     c->pending_len };
		ssize_t w = send_iov(c->fd, &iov, 1);

		if (w < 0) {
			if (again())
				return 0;
			return -1;
		}
		c->pending_off += (uint32_t)w;
		c->pending_len -= (uint32_t)w;
		c->fwd_cnt += (uint32_t)w;
		STAT_ADD(v, tx_bytes, w);
	}
	c->pending_off = 0;
	maybe_owe_credit(c, had);
	maybe_shut_wr(c);
	if (c->close_after_flush)
		conn_reset(v, c);
	return 0;
}

/* Guest data @iov (@len bytes) for the host socket: written at once as
 * far as it goes, the rest kept. -1 when the socket failed. */
static int conn_write(struct virtio_vsock *v, struct conn *c, struct iovec *iov,
		      unsigned int n, uint32_t len)
{
	uint32_t done = 0;

	if (!c->pending_len && c->hello_off == c->hello_len) {
		ssize_t w = send_iov(c->fd, iov, n);

		if (w < 0 && !again())
			return -1;
		if (w > 0) {
			done = (uint32_t)w;
			c->fwd_cnt += done;
			STAT_ADD(v, tx_bytes, done);
		}
	}
	if (done < len) {
		if (!c->pending) {
			/* mmap, not malloc: a worker's first malloc makes an
			 * arena, which reads /sys (no open() under the
			 * filter). */
			void *p = mmap(NULL, VSOCK_BUF_ALLOC,
				       PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				return -1;
			c->pending = p;
		}
		if (c->pending_off) {
			memmove(c->pending, c->pending + c->pending_off,
				c->pending_len);
			c->pending_off = 0;
		}
		(void)iov_to_buf(iov, n, done, c->pending + c->pending_len,
				 len - done);
		c->pending_len += len - done;
	}
	maybe_owe_credit(c, false);
	return 0;
}

/*
 * "CONNECT <port>\n": 1 parsed, 0 not all there yet, -1 bad or gone. The
 * line is taken out of the socket as it comes (what follows its newline
 * stays there: the stream), so a partial line does not keep the socket
 * readable.
 */
static int read_connect_line(struct conn *c, uint32_t *port)
{
	char *buf = c->line, *nl, *end;
	struct iovec iov = { buf + c->line_len, VSOCK_LINE_MAX - c->line_len };
	unsigned long long p;
	ssize_t r = recv_iov(c->fd, &iov, 1, MSG_PEEK);

	if (r < 0)
		return again() ? 0 : -1;
	if (!r)
		return -1;
	nl = memchr(iov.iov_base, '\n', (size_t)r);
	iov.iov_len = nl ? (size_t)(nl - (char *)iov.iov_base + 1) : (size_t)r;
	if (recv_iov(c->fd, &iov, 1, 0) != (ssize_t)iov.iov_len)
		return -1;
	c->line_len += (uint32_t)iov.iov_len;
	if (!nl)
		return c->line_len == VSOCK_LINE_MAX ? -1 : 0;
	*nl = '\0';
	if (nl > buf && nl[-1] == '\r')
		nl[-1] = '\0';
	if (strncmp(buf, "CONNECT ", 8) || buf[8] < '0' || buf[8] > '9')
		return -1;
	errno = 0;
	p = strtoull(buf + 8, &end, 10);
	if (*end || errno || p > UINT32_MAX)
		return -1;
	*port = (uint32_t)p;
	return 1;
}

static void accept_new(struct virtio_vsock *v)
{
	for (int i = 0; i < 16; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		c = v->nr_conns < v->max_conns ? conn_alloc(v, fd) : NULL;
		if (!c) {
			STAT_ADD(v, host_rejected, 1);
			close(fd);
			continue;
		}
		c->state = CONN_HOST_LINE;
		c->deadline_ns = now_ns() + VSOCK_LINE_MS * 1000000ULL;
	}
}

static void on_readable(struct virtio_vsock *v, struct conn *c)
{
	uint32_t port;
	int r;

	if (c->state != CONN_HOST_LINE) {
		c->readable = true;
		return;
	}
	r = read_connect_line(c, &port);
	if (r < 0) {
		STAT_ADD(v, host_rejected, 1);
		conn_free(v, c);
	} else if (r > 0) {
		c->state = CONN_HOST_REQUEST;
		c->guest_port = port;
		c->host_port = alloc_host_port(v);
		c->owe = OWE_REQUEST;
		c->deadline_ns = now_ns() + VSOCK_ANSWER_MS * 1000000ULL;
	}
}

static void expire(struct virtio_vsock *v)
{
	uint64_t now = now_ns(), t;

	if (read(v->timer_fd, &t, sizeof(t)) < 0 && errno != EAGAIN)
		return;
	for (unsigned int i = 0; i < v->max_conns; i++) {
		struct conn *c = &v->conns[i];

		if ((c->state == CONN_HOST_LINE ||
		     c->state == CONN_HOST_REQUEST) &&
		    c->deadline_ns <= now) {
			STAT_ADD(v, host_rejected, 1);
			conn_reset(v, c);
		}
	}
}

/* What the sockets said since the last pass. */
static void poll_sockets(struct virtio_vsock *v)
{
	struct epoll_event ev[VSOCK_EVENTS];
	int n = epoll_wait(v->epoll_fd, ev, VSOCK_EVENTS, 0);

	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;
		struct conn *c;

		if (tag == TAG_LISTENER) {
			accept_new(v);
			continue;
		}
		if (tag == TAG_TIMER) {
			expire(v);
			continue;
		}
		if (tag >= v->max_conns)
			continue;
		c = &v->conns[tag];
		if (c->state == CONN_FREE || c->fd < 0)
			continue;
		if (ev[i].events & EPOLLERR) {
			conn_reset(v, c);
			continue;
		}
		if (ev[i].events & EPOLLHUP) {
			/* Reported whatever we ask for: out of the set, and
			 * read what is left until EOF. */
			(void)epoll_ctl(v->epoll_fd, EPOLL_CTL_DEL, c->fd,
					NULL);
			c->hup = true;
			c->epoll_events = 0;
			c->readable = true;
			if (c->state == CONN_HOST_LINE ||
			    c->state == CONN_HOST_REQUEST) {
				STAT_ADD(v, host_rejected, 1);
				conn_reset(v, c);
				continue;
			}
		}
		if (ev[i].events & (EPOLLIN | EPOLLHUP))
			on_readable(v, c);
		if (c->state != CONN_FREE && (ev[i].events & EPOLLOUT) &&
		    conn_flush(v, c))
			conn_reset(v, c);
	}
}

/* ---- the guest's packets (tx) ---- */

static bool rst_queue_full(const struct virtio_vsock *v)
{
	return v->rst_len == VSOCK_RST_QUEUE;
}

/* A RST for a packet without a connection. */
static void queue_rst(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	if (h->op == VSOCK_OP_RST || rst_queue_full(v))
		return; /* never answer a RST; full: checked before */
	v->rst[(v->rst_head + v->rst_len) % VSOCK_RST_QUEUE] =
		(struct rst_reply){ h->src_port, h->dst_port };
	v->rst_len++;
}

/* The guest connects to uds_P. */
static void guest_connect(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct conn *c;
	int fd;

	if (v->nr_conns >= v->max_conns) {
		STAT_ADD(v, no_listener, 1);
		queue_rst(v, h);
		return;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->uds,
		 h->dst_port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		STAT_ADD(v, no_listener, 1);
		queue_rst(v, h);
		return;
	}
	c = conn_alloc(v, fd);
	if (!c) {
		close(fd);
		queue_rst(v, h);
		return;
	}
	c->state = CONN_ESTABLISHED;
	c->guest_port = h->src_port;
	c->host_port = h->dst_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->owe = OWE_RESPONSE;
}

static void guest_shutdown(struct virtio_vsock *v, struct conn *c,
			   uint32_t flags)
{
	if (flags & VSOCK_SHUTDOWN_SEND)
		c->guest_shut_send = true;
	if (flags & VSOCK_SHUTDOWN_RCV)
		c->guest_shut_rcv = true;
	if (c->guest_shut_send && c->guest_shut_rcv) {
		/* The guest closed: the host gets what is buffered first
		 * (conn_flush() resets once it is out), then EOF. */
		c->close_after_flush = true;
		if (c->fd < 0 || conn_flush(v, c))
			conn_reset(v, c);
		return;
	}
	maybe_shut_wr(c);
}

/* One packet from the guest, in v->chain. */
static void tx_packet(struct virtio_vsock *v, const struct virtq_chain *ch)
{
	uint8_t hb[VSOCK_HDR_BYTES];
	struct vsock_hdr h;
	struct conn *c;
	unsigned int n;

	STAT_ADD(v, tx_packets, 1);
	if (ch->nr_in || !iov_to_buf(ch->iov, ch->nr_out, 0, hb, sizeof(hb))) {
		STAT_ADD(v, bad_packets, 1);
		return;
	}
	vsock_hdr_decode(hb, &h);
	if (h.src_cid != v->cid || h.dst_cid != VSOCK_HOST_CID) {
		STAT_ADD(v, bad_packets, 1);
		return;
	}
	c = conn_find(v, h.src_port, h.dst_port);
	if (h.len > ch->out_len - VSOCK_HDR_BYTES || h.len > VSOCK_MAX_PKT ||
	    h.type != VSOCK_TYPE_STREAM) {
		STAT_ADD(v, bad_packets, 1);
		if (c)
			conn_reset(v, c);
		else
			queue_rst(v, &h);
		return;
	}
	if (c && c->state != CONN_CLOSING) {
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
	}
	switch (h.op) {
	case VSOCK_OP_REQUEST:
		if (c)
			conn_reset(v, c);
		else
			guest_connect(v, &h);
		return;
	case VSOCK_OP_RST:
		if (c && c->state == CONN_HOST_REQUEST)
			STAT_ADD(v, host_rejected, 1);
		if (c)
			conn_free(v, c);
		return;
	default:
		break;
	}
	if (!c) {
		STAT_ADD(v, no_listener, 1);
		if (h.op < VSOCK_OP_REQUEST || h.op > VSOCK_OP_CREDIT_REQUEST)
			STAT_ADD(v, unknown_ops, 1);
		queue_rst(v, &h);
		return;
	}
	if (c->state == CONN_CLOSING)
		return; /* our RST is on its way */
	switch (h.op) {
	case VSOCK_OP_RESPONSE:
		if (c->state != CONN_HOST_REQUEST || (c->owe & OWE_REQUEST)) {
			conn_reset(v, c);
			return;
		}
		c->state = CONN_ESTABLISHED;
		c->hello_len = (uint32_t)snprintf(c->hello, sizeof(c->hello),
						  "OK %u\n", c->host_port);
		c->hello_off = 0;
		if (conn_flush(v, c))
			conn_reset(v, c);
		return;
	case VSOCK_OP_SHUTDOWN:
		if (c->state != CONN_ESTABLISHED) {
			conn_reset(v, c);
			return;
		}
		guest_shutdown(v, c, h.flags);
		return;
	case VSOCK_OP_RW:
		if (c->state != CONN_ESTABLISHED || c->guest_shut_send) {
			conn_reset(v, c);
			return;
		}
		if (!h.len)
			return;
		if (c->pending_len + h.len > VSOCK_BUF_ALLOC) {
			STAT_ADD(v, credit_lies, 1);
			conn_reset(v, c);
			return;
		}
		n = iov_slice(ch->iov, ch->nr_out, VSOCK_HDR_BYTES, h.len,
			      v->iov);
		if (c->fd < 0 || conn_write(v, c, v->iov, n, h.len))
			conn_reset(v, c);
		return;
	case VSOCK_OP_CREDIT_UPDATE:
		return; /* the credit fields above were the point */
	case VSOCK_OP_CREDIT_REQUEST:
		c->owe |= OWE_CREDIT;
		return;
	default:
		STAT_ADD(v, unknown_ops, 1);
		conn_reset(v, c);
		return;
	}
}

/* Take the guest's packets. Packets taken, or -errno: malformed ring. */
static int tx_process(struct virtio_vsock *v, struct virtq *q,
		      const struct guest_mem *m)
{
	int done = 0, ret = 0;

	if (!virtq_is_ready(q))
		return 0;
	for (;;) {
		virtq_disable_notify(q);
		while (done < VSOCK_BATCH_BUDGET) {
			if (worker_cancelled(&v->worker))
				return done;
			/* A reply may be needed: not without room for it. */
			if (rst_queue_full(v)) {
				if (!v->tx_blocked)
					STAT_ADD(v, tx_stalls, 1);
				v->tx_blocked = true;
				return done;
			}
			ret = virtq_pop(q, m, &v->chain);
			if (ret <= 0)
				break;
			tx_packet(v, &v->chain);
			virtq_push(q, v->chain.head, 0);
			done++;
		}
		if (ret < 0)
			return ret;
		if (done >= VSOCK_BATCH_BUDGET) {
			(void)eventfd_write(
				virtio_mmio_kick_fd(&v->mmio, VSOCK_TXQ), 1);
			return done;
		}
		if (!virtq_enable_notify(q))
			return done;
	}
}

/* ---- what the guest is owed (rx) ---- */

static void fill_hdr(const struct virtio_vsock *v, struct conn *c,
		     struct vsock_hdr *h, uint16_t op, uint32_t len)
{
	*h = (struct vsock_hdr){
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = v->cid,
		.src_port = c->host_port,
		.dst_port = c->guest_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.buf_alloc = VSOCK_BUF_ALLOC,
		.fwd_cnt = c->fwd_cnt,
	};
	c->fwd_reported = c->fwd_cnt;
}

/* The next rx chain, checked. 1, 0: none (rx_wait set), -EINVAL. */
static int rx_take(struct virtio_vsock *v, struct virtq *q,
		   const struct guest_mem *m)
{
	int ret = virtq_pop(q, m, &v->chain);

	if (ret < 0)
		return ret;
	if (!ret) {
		ret = virtq_enable_notify(q);
		if (ret)
			ret = virtq_pop(q, m, &v->chain);
		if (ret <= 0) {
			v->rx_wait = ret == 0;
			return ret;
		}
		virtq_disable_notify(q);
	}
	/* A header and at least a byte: a buffer that holds only headers
	 * would leave data waiting forever for room. */
	if (v->chain.nr_out || v->chain.in_len <= VSOCK_HDR_BYTES)
		return -EINVAL;
	return 1;
}

static void rx_give(struct virtio_vsock *v, struct virtq *q,
		    const struct vsock_hdr *h)
{
	uint8_t hb[VSOCK_HDR_BYTES];

	vsock_hdr_encode(h, hb);
	iov_from_buf(v->chain.iov, v->chain.nr_in, 0, hb, sizeof(hb));
	virtq_push(q, v->chain.head, VSOCK_HDR_BYTES + h->len);
	STAT_ADD(v, rx_packets, 1);
}

/* One control packet @c is owed. 1 sent, 0 no buffer, -errno. */
static int rx_control(struct virtio_vsock *v, struct virtq *q,
		      const struct guest_mem *m, struct conn *c)
{
	static const uint16_t ops[] = { VSOCK_OP_REQUEST, VSOCK_OP_RESPONSE,
					VSOCK_OP_CREDIT_UPDATE,
					VSOCK_OP_SHUTDOWN, VSOCK_OP_RST };
	unsigned int bit = 0;
	struct vsock_hdr h;
	int ret;

	while (!(c->owe & (1u << bit)))
		bit++;
	ret = rx_take(v, q, m);
	if (ret <= 0)
		return ret;
	fill_hdr(v, c, &h, ops[bit], 0);
	if (ops[bit] == VSOCK_OP_SHUTDOWN)
		h.flags = c->shutdown_flags;
	rx_give(v, q, &h);
	c->owe &= ~(1u << bit);
	if (ops[bit] == VSOCK_OP_RST) {
		STAT_ADD(v, rst_sent, 1);
		conn_free(v, c);
	}
	return 1;
}

/* One data packet from @c's socket. 1 sent (or the socket's end dealt
 * with), 0 nothing to send now, -errno. */
static int rx_data(struct virtio_vsock *v, struct virtq *q,
		   const struct guest_mem *m, struct conn *c)
{
	uint32_t room = peer_credit(c), n;
	struct vsock_hdr h;
	ssize_t r;
	int ret;

	if (room > VSOCK_MAX_PKT)
		room = VSOCK_MAX_PKT;
	ret = rx_take(v, q, m);
	if (ret <= 0)
		return ret;
	if (room > v->chain.in_len - VSOCK_HDR_BYTES)
		room = v->chain.in_len - VSOCK_HDR_BYTES;
	n = iov_slice(v->chain.iov, v->chain.nr_in, VSOCK_HDR_BYTES, room,
		      v->iov);
	r = room ? recv_iov(c->fd, v->iov, n, 0) : -1;
	if (r <= 0) {
		int e = errno;

		ret = virtq_undo_pop(q, 1);
		if (ret)
			return ret;
		if (!room)
			return 0; /* a zero-sized buffer: next time */
		if (r < 0 && (e == EAGAIN || e == EWOULDBLOCK)) {
			c->readable = false;
			return 0;
		}
		if (r < 0) {
			conn_reset(v, c);
			return 1;
		}
		c->host_eof = true;
		c->readable = false;
		c->shutdown_flags = VSOCK_SHUTDOWN_SEND;
		c->owe |= OWE_SHUTDOWN;
		return 1;
	}
	fill_hdr(v, c, &h, VSOCK_OP_RW, (uint32_t)r);
	rx_give(v, q, &h);
	c->rx_cnt += (uint32_t)r;
	STAT_ADD(v, rx_bytes, r);
	return 1;
}

static bool wants_data(const struct conn *c)
{
	return c->state == CONN_ESTABLISHED && c->readable && !c->host_eof &&
	       !c->guest_shut_rcv && c->fd >= 0 && peer_credit(c);
}

/* Control first (RSTs without a connection, then each connection's), then
 * data, connections in turn. Packets sent, or -errno. */
static int rx_process(struct virtio_vsock *v, struct virtq *q,
		      const struct guest_mem *m)
{
	int done = 0, ret;

	v->rx_wait = false;
	if (!virtq_is_ready(q)) {
		v->rx_wait = true;
		return 0;
	}
	virtq_disable_notify(q);
	while (v->rst_len && done < VSOCK_BATCH_BUDGET) {
		const struct rst_reply *r = &v->rst[v->rst_head];
		struct vsock_hdr h = {
			.src_cid = VSOCK_HOST_CID,
			.dst_cid = v->cid,
			.src_port = r->dst_port,
			.dst_port = r->src_port,
			.type = VSOCK_TYPE_STREAM,
			.op = VSOCK_OP_RST,
		};

		ret = rx_take(v, q, m);
		if (ret <= 0)
			return ret < 0 ? ret : done;
		rx_give(v, q, &h);
		STAT_ADD(v, rst_sent, 1);
		v->rst_head = (v->rst_head + 1) % VSOCK_RST_QUEUE;
		v->rst_len--;
		done++;
	}
	if (v->tx_blocked && !rst_queue_full(v)) {
		v->tx_blocked = false;
		(void)eventfd_write(virtio_mmio_kick_fd(&v->mmio, VSOCK_TXQ),
				    1);
	}
	for (unsigned int k = 0; k < v->max_conns && done < VSOCK_BATCH_BUDGET;
	     k++) {
		struct conn *c = &v->conns[(v->rx_next + k) % v->max_conns];
		int burst = 0;

		if (c->state == CONN_FREE)
			continue;
		while (c->state != CONN_FREE && c->owe &&
		       done < VSOCK_BATCH_BUDGET) {
			ret = rx_control(v, q, m, c);
			if (ret <= 0)
				return ret < 0 ? ret : done;
			done++;
		}
		while (c->state != CONN_FREE && !c->owe && wants_data(c) &&
		       burst < VSOCK_RX_BURST && done < VSOCK_BATCH_BUDGET) {
			ret = rx_data(v, q, m, c);
			if (ret < 0)
				return ret;
			if (!ret)
				break;
			burst++;
			done++;
		}
		if (v->rx_wait)
			return done;
	}
	v->rx_next = (v->rx_next + 1) % v->max_conns;
	/* A connection left with data (its burst used up, or the budget):
	 * come back without waiting for anyone. */
	for (unsigned int i = 0; i < v->max_conns; i++) {
		if (v->conns[i].state != CONN_FREE &&
		    (v->conns[i].owe || wants_data(&v->conns[i]))) {
			(void)eventfd_write(
				virtio_mmio_kick_fd(&v->mmio, VSOCK_RXQ), 1);
			break;
		}
	}
	return done;
}

/* ---- the epoll set ---- */

static void update_interest(struct virtio_vsock *v)
{
	uint64_t first = 0;

	for (unsigned int i = 0; i < v->max_conns; i++) {
		struct conn *c = &v->conns[i];
		uint32_t want = 0;

		if (c->state == CONN_FREE)
			continue;
		if ((c->state == CONN_HOST_LINE ||
		     c->state == CONN_HOST_REQUEST) &&
		    (!first || c->deadline_ns < first))
			first = c->deadline_ns;
		if (c->fd < 0 || c->hup)
			continue;
		if (c->state == CONN_HOST_LINE)
			want = EPOLLIN;
		if (c->state == CONN_ESTABLISHED && !c->readable &&
		    !c->host_eof && !c->guest_shut_rcv && peer_credit(c) &&
		    !v->rx_wait)
			want |= EPOLLIN;
		if (c->pending_len || c->hello_off < c->hello_len)
			want |= EPOLLOUT;
		if (want != c->epoll_events) {
			struct epoll_event ev = { .events = want,
						  .data.u64 = i };

			if (!epoll_ctl(v->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev))
				c->epoll_events = want;
		}
	}
	if (first != v->timer_at) {
		uint64_t now = now_ns(), ns = first > now ? first - now : 1;
		struct itimerspec its = { 0 };

		if (first) {
			its.it_value.tv_sec = (time_t)(ns / 1000000000ULL);
			its.it_value.tv_nsec = (long)(ns % 1000000000ULL);
		}
		(void)timerfd_settime(v->timer_fd, 0, &its, NULL);
		v->timer_at = first;
	}
}

/* ---- processing ---- */

static void close_all(struct virtio_vsock *v);

/* VIRTIO_VSOCK_EVENT_TRANSPORT_RESET into the next event buffer (5.10.6.5:
 * the driver then resets its connections and reads the CID again). 1
 * sent, 0 no buffer yet (the driver's kick on the event queue brings
 * us back), -EINVAL for a buffer that cannot hold the event. */
static int send_transport_reset(struct virtio_vsock *v, struct virtq *q,
				const struct guest_mem *m)
{
	static const uint8_t ev[4] = { VSOCK_EVENT_TRANSPORT_RESET };
	struct virtq_indexes ix;
	int ret;

	if (!virtq_is_ready(q))
		return 0;
	ret = virtq_pop(q, m, &v->chain);
	if (ret <= 0)
		return ret;
	if (v->chain.nr_out || v->chain.in_len < sizeof(ev))
		return -EINVAL;
	iov_from_buf(v->chain.iov, v->chain.nr_in, 0, ev, sizeof(ev));
	virtq_push(q, v->chain.head, sizeof(ev));
	virtq_get_indexes(q, &ix);
	v->owe_transport_reset = false;
	v->reset_unhandled = true;
	v->reset_mark = ix.avail_idx;
	return 1;
}

/* Has the driver refilled the event ring since the reset went? 1 yes, 0
 * not yet (a kick on the event queue brings us back), -EINVAL. */
static int transport_reset_handled(struct virtio_vsock *v, struct virtq *q)
{
	struct virtq_indexes ix;
	int ret = virtq_enable_notify_at(q, v->reset_mark);

	if (ret <= 0)
		return ret;
	/* Moved, but to where no driver's refill could put it: nothing
	 * pops this ring again before the next restore to say so. */
	virtq_get_indexes(q, &ix);
	if (ix.guest && (uint16_t)(ix.avail_idx - ix.last_avail) > ix.size)
		return -EINVAL;
	v->reset_unhandled = false;
	return ret;
}

static int process_locked(struct virtio_vsock *v)
{
	struct virtio_mmio_dev *d = &v->mmio;
	const struct guest_mem *m = virtio_mmio_mem(d);
	struct virtq *rxq = virtio_mmio_queue(d, VSOCK_RXQ);
	struct virtq *txq = virtio_mmio_queue(d, VSOCK_TXQ);
	struct virtq *evq = virtio_mmio_queue(d, VSOCK_EVQ);
	int tx = 0, rx = 0;
	bool irq;

	if (virtio_mmio_needs_reset(d))
		return 0;
	if (v->owe_transport_reset) {
		int ret = send_transport_reset(v, evq, m);

		if (ret < 0) {
			virtio_mmio_set_needs_reset(d);
			return ret;
		}
	}
	if (v->reset_unhandled && transport_reset_handled(v, evq) < 0) {
		virtio_mmio_set_needs_reset(d);
		return -EINVAL;
	}
	if (!v->reset_unhandled)
		poll_sockets(v);
	/* Replies first: they make room for tx's. */
	rx = rx_process(v, rxq, m);
	if (rx >= 0)
		tx = tx_process(v, txq, m);
	if (rx >= 0 && tx >= 0) {
		int more = rx_process(v, rxq, m);

		rx = more < 0 ? more : rx + more;
	}
	update_interest(v);
	irq = virtq_needs_interrupt(txq);
	irq |= virtq_needs_interrupt(rxq);
	irq |= virtq_needs_interrupt(evq);
	if (irq)
		virtio_mmio_signal_used(d);
	if (tx < 0 || rx < 0) {
		virtio_mmio_set_needs_reset(d);
		return tx < 0 ? tx : rx;
	}
	return tx + rx;
}

int virtio_vsock_process(struct virtio_vsock *v)
{
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->flush) {
		close_all(v);
		v->flush = false;
	}
	if (v->active)
		ret = process_locked(v);
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static void worker_wait_for(void *dev, int *fd, short *events)
{
	struct virtio_vsock *v = dev;

	pthread_mutex_lock(&v->lock);
	*fd = v->active && !v->reset_unhandled &&
			      !virtio_mmio_needs_reset(&v->mmio)
		      ? v->epoll_fd
		      : -1;
	pthread_mutex_unlock(&v->lock);
	*events = POLLIN;
}

static void worker_process(void *dev, uint32_t kicked)
{
	(void)kicked; /* a socket may have woken us: look at everything */
	(void)virtio_vsock_process(dev);
}

static void *worker_main(void *arg)
{
	static const struct virtio_loop_ops ops = {
		.wait_for = worker_wait_for,
		.process = worker_process,
	};
	struct virtio_vsock *v = arg;

	virtio_device_loop(&v->mmio, v->worker.stop_fd, &ops, v);
	return NULL;
}

/* ---- the transport's view ---- */

static uint64_t vsock_features(void *dev)
{
	(void)dev;
	/* Stream only: without F_SEQPACKET a 1.2 driver assumes stream. */
	return 1ULL << VIRTIO_RING_F_EVENT_IDX |
	       1ULL << VIRTIO_RING_F_INDIRECT_DESC;
}

static void vsock_config_read(void *dev, uint32_t off, uint8_t *data,
			      uint32_t len)
{
	struct virtio_vsock *v = dev;
	uint8_t cfg[8];

	le_put(cfg, 8, v->cid);
	memcpy(data, cfg + off, len);
}

static void close_all(struct virtio_vsock *v)
{
	for (unsigned int i = 0; i < v->max_conns; i++)
		if (v->conns[i].state != CONN_FREE)
			conn_free(v, &v->conns[i]);
	v->rst_len = 0;
	v->rst_head = 0;
}

/* On a vCPU thread: flags and a kick only, the worker does the rest. */
static int vsock_activate(void *dev)
{
	struct virtio_vsock *v = dev;

	pthread_mutex_lock(&v->lock);
	v->rx_wait = false;
	v->tx_blocked = false;
	v->active = true;
	pthread_mutex_unlock(&v->lock);
	(void)eventfd_write(virtio_mmio_kick_fd(&v->mmio, VSOCK_RXQ), 1);
	return 0;
}

static void vsock_reset(void *dev)
{
	struct virtio_vsock *v = dev;
	bool flush;

	worker_cancel_begin(&v->worker);
	pthread_mutex_lock(&v->lock);
	v->active = false;
	v->owe_transport_reset = false;
	v->reset_unhandled = false;
	/* The guest forgot its connections: so do we, on the worker. New
	 * host connections wait in the listener's backlog meanwhile (the
	 * worker does not poll while the device is inactive). */
	flush = v->flush = v->nr_conns || v->rst_len;
	worker_cancel_end(&v->worker);
	pthread_mutex_unlock(&v->lock);
	if (flush)
		(void)eventfd_write(virtio_mmio_kick_fd(&v->mmio, VSOCK_RXQ),
				    1);
}

/* Snapshots: the device's own state is whether it runs; its connections
 * are host sockets, which a restore cannot have (docs/snapshot.md). */
static void vsock_quiesce(void *dev, bool hold)
{
	struct virtio_vsock *v = dev;

	worker_quiesce(&v->worker, &v->lock,
		       virtio_mmio_kick_fd(&v->mmio, VSOCK_RXQ), hold);
}

static int vsock_save(void *dev, struct snap_writer *w,
		      const struct snap_files *files)
{
	struct virtio_vsock *v = dev;

	(void)files;
	snap_put_u8(w, v->active);
	return 0;
}

/* Under the quiesce's lock, on a thread that may not touch sockets: the
 * worker closes the connections (a reset in place has some) and tells
 * the guest its own are gone; the listener stays. */
static int vsock_restore(void *dev, struct snap_reader *r, bool active,
			 const struct snap_files *files)
{
	struct virtio_vsock *v = dev;
	uint8_t was_active = snap_get_u8(r);

	(void)files;
	if (r->err || was_active != active)
		return -EINVAL;
	v->active = active;
	v->rx_wait = false;
	v->tx_blocked = false;
	v->flush = true;
	v->owe_transport_reset = active;
	v->reset_unhandled = false;
	return 0;
}

static void vsock_dump(void *dev, struct dumpbuf *b)
{
	struct virtio_vsock *v = dev;
	struct virtio_vsock_stats st;

	virtio_vsock_get_stats(v, &st);
	dumpbuf_printf(
		b,
		" vsock cid=%u active=%d conns=%u rst_queued=%u rx_wait=%d "
		"tx_blocked=%d tx=%llu rx=%llu tx_bytes=%llu rx_bytes=%llu "
		"opened=%llu closed=%llu host_rejected=%llu no_listener=%llu "
		"bad=%llu unknown_ops=%llu credit_lies=%llu rst_sent=%llu",
		v->cid, __atomic_load_n(&v->active, __ATOMIC_RELAXED),
		__atomic_load_n(&v->nr_conns, __ATOMIC_RELAXED),
		__atomic_load_n(&v->rst_len, __ATOMIC_RELAXED),
		__atomic_load_n(&v->rx_wait, __ATOMIC_RELAXED),
		__atomic_load_n(&v->tx_blocked, __ATOMIC_RELAXED),
		(unsigned long long)st.tx_packets,
		(unsigned long long)st.rx_packets,
		(unsigned long long)st.tx_bytes,
		(unsigned long long)st.rx_bytes,
		(unsigned long long)st.conns_opened,
		(unsigned long long)st.conns_closed,
		(unsigned long long)st.host_rejected,
		(unsigned long long)st.no_listener,
		(unsigned long long)st.bad_packets,
		(unsigned long long)st.unknown_ops,
		(unsigned long long)st.credit_lies,
		(unsigned long long)st.rst_sent);
}

static const struct virtio_dev_ops vsock_ops = {
	.device_id = VIRTIO_ID_VSOCK,
	.nr_queues = 3,
	.config_size = 8,
	.features = vsock_features,
	.config_read = vsock_config_read,
	.activate = vsock_activate,
	.reset = vsock_reset,
	.quiesce = vsock_quiesce,
	.save = vsock_save,
	.restore = vsock_restore,
	.dump = vsock_dump,
};

struct virtio_mmio_dev *virtio_vsock_transport(struct virtio_vsock *v)
{
	return &v->mmio;
}

void virtio_vsock_get_stats(const struct virtio_vsock *v,
			    struct virtio_vsock_stats *s)
{
	const uint64_t *src = (const uint64_t *)&v->stats;
	uint64_t *dst = (uint64_t *)s;

	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

unsigned int virtio_vsock_nr_conns(struct virtio_vsock *v)
{
	unsigned int n;

	pthread_mutex_lock(&v->lock);
	n = v->nr_conns;
	pthread_mutex_unlock(&v->lock);
	return n;
}

/* ---- creation ---- */

/* Bind @path, replacing a socket there that nobody listens on. */
static int listen_uds(const char *path, int *out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode))
			return err_fmt(err, errlen, -EEXIST,
				       "vsock: uds %s: exists and is not a "
				       "socket",
				       path);
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return err_fmt(err, errlen, -errno, "vsock: socket: %s",
				       strerror(errno));
		ret = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
		close(probe);
		if (!ret)
			return err_fmt(err, errlen, -EADDRINUSE,
				       "vsock: uds %s: in use (someone listens "
				       "there)",
				       path);
		if (unlink(path) && errno != ENOENT)
			return err_fmt(err, errlen, -errno,
				       "vsock: uds %s: cannot remove the stale "
				       "socket: %s",
				       path, strerror(errno));
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_fmt(err, errlen, -errno, "vsock: socket: %s",
			       strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)) {
		ret = -errno;
		close(fd);
		return err_fmt(err, errlen, ret, "vsock: uds %s: %s", path,
			       strerror(-ret));
	}
	*out = fd;
	return 0;
}

int virtio_vsock_create(struct virtio_vsock **out,
			const struct virtio_vsock_opts *o,
			const struct guest_mem *m, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_TIMER };
	struct epoll_event lev = { .events = EPOLLIN,
				   .data.u64 = TAG_LISTENER };
	struct virtio_vsock *v;
	int ret;

	*out = NULL;
	if (!o || o->cid < KVMLITE_VSOCK_CID_MIN ||
	    o->cid > KVMLITE_VSOCK_CID_MAX)
		return err_fmt(err, errlen, -EINVAL, "vsock: bad cid");
	if (!o->uds || !o->uds[0] || strlen(o->uds) > KVMLITE_VSOCK_UDS_MAX)
		return err_fmt(err, errlen, -EINVAL,
			       "vsock: uds path missing or longer than %d "
			       "bytes",
			       KVMLITE_VSOCK_UDS_MAX);
	v = calloc(1, sizeof(*v));
	if (!v)
		return err_fmt(err, errlen, -ENOMEM, "vsock: out of memory");
	v->cid = o->cid;
	snprintf(v->uds, sizeof(v->uds), "%s", o->uds);
	v->listen_fd = v->epoll_fd = v->timer_fd = -1;
	v->worker.stop_fd = -1;
	v->next_port = VSOCK_LOCAL_PORT_BASE;
	v->max_conns = o->max_conns && o->max_conns < KVMLITE_VSOCK_MAX_CONNS
			       ? o->max_conns
			       : KVMLITE_VSOCK_MAX_CONNS;
	v->conns = calloc(v->max_conns, sizeof(*v->conns));
	if (!v->conns) {
		ret = err_fmt(err, errlen, -ENOMEM, "vsock: out of memory");
		goto err_free;
	}
	for (unsigned int i = 0; i < v->max_conns; i++)
		v->conns[i].fd = -1;
	v->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	v->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->epoll_fd < 0 || v->timer_fd < 0 ||
	    epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, v->timer_fd, &ev)) {
		ret = err_fmt(err, errlen, -errno, "vsock: %s",
			      strerror(errno));
		goto err_free;
	}
	ret = listen_uds(o->uds, &v->listen_fd, err, errlen);
	if (ret)
		goto err_free;
	if (epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, v->listen_fd, &lev)) {
		ret = err_fmt(err, errlen, -errno, "vsock: %s",
			      strerror(errno));
		goto err_unlink;
	}
	ret = -pthread_mutex_init(&v->lock, NULL);
	if (ret) {
		err_fmt(err, errlen, ret, "vsock: %s", strerror(-ret));
		goto err_unlink;
	}
	ret = worker_init_as(&v->worker, o->seccomp, SANDBOX_VSOCK);
	if (ret) {
		err_fmt(err, errlen, ret, "vsock: eventfd: %s", strerror(-ret));
		goto err_mutex;
	}
	ret = virtio_mmio_init(&v->mmio, &vsock_ops, v, m);
	if (ret) {
		err_fmt(err, errlen, ret, "vsock: %s", strerror(-ret));
		goto err_worker;
	}
	*out = v;
	return 0;

err_worker:
	worker_release(&v->worker);
err_mutex:
	pthread_mutex_destroy(&v->lock);
err_unlink:
	unlink(v->uds);
err_free:
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	if (v->epoll_fd >= 0)
		close(v->epoll_fd);
	free(v->conns);
	free(v);
	return ret;
}

int virtio_vsock_start(struct virtio_vsock *v)
{
	return worker_run(&v->worker, worker_main, v);
}

void virtio_vsock_destroy(struct virtio_vsock *v)
{
	if (!v)
		return;
	worker_release(&v->worker);
	virtio_mmio_destroy(&v->mmio);
	close_all(v);
	pthread_mutex_destroy(&v->lock);
	/* The socket file stays (the command's main thread may not unlink
	 * under its filter): the next create replaces it. */
	close(v->listen_fd);
	close(v->timer_fd);
	close(v->epoll_fd);
	free(v->conns);
	free(v);
}

/* ---- the slot table's view ---- */

static unsigned int vsock_count(const struct kvmlite_config *cfg)
{
	return cfg->vsock.cid ? 1 : 0;
}

static int vsock_create(const struct virtio_slot_ctx *c, unsigned int i,
			void **dev, char *err, size_t errlen)
{
	struct virtio_vsock_opts o = {
		.cid = c->cfg->vsock.cid,
		.uds = c->cfg->vsock.uds,
		.seccomp = c->seccomp,
	};

	(void)i;
	return virtio_vsock_create((struct virtio_vsock **)dev, &o, c->mem, err,
				   errlen);
}

static struct virtio_mmio_dev *vsock_transport(void *dev)
{
	return virtio_vsock_transport(dev);
}

static int vsock_start(void *dev)
{
	return virtio_vsock_start(dev);
}

static void vsock_destroy(void *dev)
{
	virtio_vsock_destroy(dev);
}

static void vsock_counters(void *dev, struct dumpbuf *db)
{
	struct virtio_vsock_stats st;

	virtio_vsock_get_stats(dev, &st);
	dumpbuf_printf(db,
		       "\"tx_packets\":%llu,\"rx_packets\":%llu,"
		       "\"tx_bytes\":%llu,\"rx_bytes\":%llu,"
		       "\"bad_packets\":%llu,\"unknown_ops\":%llu,"
		       "\"credit_lies\":%llu,\"no_listener\":%llu,"
		       "\"rst_sent\":%llu,\"conns_opened\":%llu,"
		       "\"conns_closed\":%llu,\"host_rejected\":%llu,"
		       "\"tx_stalls\":%llu",
		       (unsigned long long)st.tx_packets,
		       (unsigned long long)st.rx_packets,
		       (unsigned long long)st.tx_bytes,
		       (unsigned long long)st.rx_bytes,
		       (unsigned long long)st.bad_packets,
		       (unsigned long long)st.unknown_ops,
		       (unsigned long long)st.credit_lies,
		       (unsigned long long)st.no_listener,
		       (unsigned long long)st.rst_sent,
		       (unsigned long long)st.conns_opened,
		       (unsigned long long)st.conns_closed,
		       (unsigned long long)st.host_rejected,
		       (unsigned long long)st.tx_stalls);
}

const struct virtio_kind virtio_vsock_kind = {
	.name = "virtio-vsock",
	.count = vsock_count,
	.create = vsock_create,
	.transport = vsock_transport,
	.start = vsock_start,
	.destroy = vsock_destroy,
	.counter_name = "vsock",
	.counters = vsock_counters,
};
