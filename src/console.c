/* The guest console's host side. See console.h for the rules. */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

/* In the POLL fallback, at most this much per write: a pipe that polled
 * writable takes PIPE_BUF bytes without blocking. */
#define CONSOLE_POLL_CHUNK 512
/* While output or input waits without an fd to poll, retry this often. */
#define CONSOLE_RETRY_MS 10

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Pick how to write @fd without blocking (see console.h). */
static int sink_open(struct console *c, int fd, char *err, size_t errlen)
{
	char path[64];
	struct stat st;
	int fl;

	if (fstat(fd, &st) < 0)
		return err_fmt(err, errlen, -errno, "console output fd %d: %s",
			       fd, strerror(errno));
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		c->sink = CONSOLE_SINK_WRITE;
		c->out_fd = fd;
		return 0;
	}
	c->out_pollable = true;
	if (S_ISSOCK(st.st_mode)) {
		c->sink = CONSOLE_SINK_SEND;
		c->out_fd = fd;
		return 0;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return err_fmt(err, errlen, -errno, "console output fd %d: %s",
			       fd, strerror(errno));
	if (fl & O_NONBLOCK) {
		c->sink = CONSOLE_SINK_WRITE;
		c->out_fd = fd;
		return 0;
	}
	/* A new open file description of the same pipe or terminal. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	c->own_fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (c->own_fd >= 0) {
		c->sink = CONSOLE_SINK_WRITE;
		c->out_fd = c->own_fd;
		return 0;
	}
	c->sink = CONSOLE_SINK_POLL;
	c->out_fd = fd;
	return 0;
}

int console_init(struct console *c, int out_fd, int in_fd,
		 console_deliver_fn deliver, void *opaque, char *err,
		 size_t errlen)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->out_fd = c->own_fd = c->wake_fd = c->epoll_fd = -1;
	c->in_fd = in_fd;
	c->stall_ns = CONSOLE_STALL_NS;
	c->deliver = deliver;
	c->deliver_opaque = opaque;
	ret = -pthread_mutex_init(&c->lock, NULL);
	if (ret)
		return err_fmt(err, errlen, ret, "console: %s", strerror(-ret));
	c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (c->wake_fd < 0 || c->epoll_fd < 0) {
		ret = err_fmt(err, errlen, -errno, "console: %s",
			      strerror(errno));
		goto fail;
	}
	if (out_fd >= 0) {
		ret = sink_open(c, out_fd, err, errlen);
		if (ret)
			goto fail;
		/* Untouched pages cost nothing until output wraps. */
		c->ring = malloc(CONSOLE_OUT_RING);
		if (!c->ring) {
			ret = err_fmt(err, errlen, -ENOMEM,
				      "console: out of memory");
			goto fail;
		}
	}
	return 0;
fail:
	console_free(c);
	return ret;
}

void console_free(struct console *c)
{
	if (c->own_fd >= 0)
		close(c->own_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	if (c->epoll_fd >= 0)
		close(c->epoll_fd);
	free(c->ring);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
	c->out_fd = c->own_fd = c->wake_fd = c->epoll_fd = c->in_fd = -1;
}

bool console_gate(struct console *c, uint8_t byte)
{
	bool wake = false, taken = true;

	if (c->sink == CONSOLE_SINK_NONE)
		return true;
	pthread_mutex_lock(&c->lock);
	if (c->out_error) {
		c->dropped++;
	} else if (c->len < CONSOLE_OUT_RING) {
		c->ring[(c->head + c->len) % CONSOLE_OUT_RING] = byte;
		c->len++;
		if (!c->wake_pending)
			wake = c->wake_pending = true;
	} else if (c->dropping) {
		c->dropped++;
	} else {
		if (!c->blocked)
			c->progress_ns = mono_ns();
		c->blocked = true;
		taken = false;
		wake = !c->wake_pending; /* the thread times the stall */
		c->wake_pending = true;
	}
	pthread_mutex_unlock(&c->lock);
	if (wake)
		(void)eventfd_write(c->wake_fd, 1);
	return taken;
}

/* A byte the gate refused may go now (room, or output is dropped). */
static void release_blocked(struct console *c)
{
	bool was;

	pthread_mutex_lock(&c->lock);
	was = c->blocked &&
	      (c->len < CONSOLE_OUT_RING || c->dropping || c->out_error);
	if (was)
		c->blocked = false;
	pthread_mutex_unlock(&c->lock);
	if (was && c->tx_ready)
		c->tx_ready(c->deliver_opaque);
}

/* A refused byte waited CONSOLE_STALL_NS with no write taken: the reader
 * is gone. Returns ms until that would be, -1 when nothing waits. */
static int check_stall(struct console *c)
{
	uint64_t now = mono_ns(), due;
	bool stalled = false;

	pthread_mutex_lock(&c->lock);
	if (!c->blocked) {
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	due = c->progress_ns + c->stall_ns;
	if (now >= due) {
		c->dropping = true;
		c->stalls++;
		stalled = true;
	}
	pthread_mutex_unlock(&c->lock);
	if (!stalled)
		return (int)((due - now + 999999) / 1000000);
	if (c->out_failed)
		c->out_failed(c->deliver_opaque, 0);
	release_blocked(c);
	return -1;
}

/* One write of the ring's oldest bytes. > 0: bytes written, 0: nothing to
 * write, -EAGAIN: the fd is full, other < 0: output has failed for good. */
static ssize_t write_some(struct console *c)
{
	const uint8_t *p;
	size_t n;
	ssize_t w;

	pthread_mutex_lock(&c->lock);
	n = c->len;
	if (c->head + n > CONSOLE_OUT_RING)
		n = CONSOLE_OUT_RING - c->head;
	p = c->ring + c->head;
	pthread_mutex_unlock(&c->lock);
	if (!n)
		return 0;
	/* Only this thread consumes: [p, p + n) stays ours meanwhile. */
	switch (c->sink) {
	case CONSOLE_SINK_SEND:
		w = send(c->out_fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case CONSOLE_SINK_POLL: {
		struct pollfd pfd = { .fd = c->out_fd, .events = POLLOUT };

		if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLOUT)) {
			if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
				errno = EPIPE;
				w = -1;
				break;
			}
			return -EAGAIN;
		}
		w = write(c->out_fd, p,
			  n < CONSOLE_POLL_CHUNK ? n : CONSOLE_POLL_CHUNK);
		break;
	}
	default:
		w = write(c->out_fd, p, n);
		break;
	}
	if (w < 0) {
		int e = errno;

		if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
			return -EAGAIN;
		pthread_mutex_lock(&c->lock);
		c->out_error = e;
		c->dropped += c->len;
		c->head = c->len = 0;
		pthread_mutex_unlock(&c->lock);
		if (c->out_failed)
			c->out_failed(c->deliver_opaque, e);
		release_blocked(c);
		return -e;
	}
	if (!w)
		return -EAGAIN;
	pthread_mutex_lock(&c->lock);
	c->head = (c->head + (size_t)w) % CONSOLE_OUT_RING;
	c->len -= (size_t)w;
	c->written += (uint64_t)w;
	c->progress_ns = mono_ns();
	if (c->dropping && c->len <= CONSOLE_OUT_RING / 2)
		c->dropping = false; /* the reader is back: flow control */
	pthread_mutex_unlock(&c->lock);
	return w;
}

/* Write until the ring is empty or the fd is full. True when output
 * waits for room in the fd. */
static bool flush_out(struct console *c)
{
	eventfd_t v;
	ssize_t w;

	(void)eventfd_read(c->wake_fd, &v);
	pthread_mutex_lock(&c->lock);
	c->wake_pending = false;
	pthread_mutex_unlock(&c->lock);
	do
		w = write_some(c);
	while (w > 0);
	release_blocked(c);
	return w == -EAGAIN;
}

static void out_arm(struct console *c, bool want)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = c->out_fd };

	if (!c->out_pollable || c->out_armed == want)
		return;
	if (want && epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->out_fd, &ev) == 0)
		c->out_armed = true;
	else if (!want &&
		 epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, c->out_fd, NULL) == 0)
		c->out_armed = false;
	else if (want)
		c->out_pollable = false; /* not pollable after all: retry */
}

static void in_arm(struct console *c, bool want)
{
	struct epoll_event ev = { .events = want ? EPOLLIN : 0,
				  .data.fd = c->in_fd };

	if (c->in_polled && c->in_armed != want &&
	    epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, c->in_fd, &ev) == 0)
		c->in_armed = want;
}

/* End of input: take the fd out of epoll, which would otherwise report
 * its EPOLLHUP forever. */
static void in_close(struct console *c)
{
	c->in_open = false;
	if (c->in_polled)
		(void)epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, c->in_fd, NULL);
	c->in_polled = c->in_armed = false;
}

/* Take the Ctrl-A escapes out of @n bytes read; returns what is left. */
static size_t in_escapes(struct console *c, uint8_t *buf, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t ch = buf[i];

		if (c->in_escape) {
			c->in_escape = false;
			if (ch == 'x' || ch == 'X' || ch == 'p' || ch == 'P') {
				if (c->escape)
					c->escape(c->deliver_opaque,
						  (char)(ch | 0x20));
				continue;
			}
			if (ch != CONSOLE_ESCAPE)
				continue; /* not an escape we know: dropped */
		} else if (ch == CONSOLE_ESCAPE) {
			c->in_escape = true;
			continue;
		}
		buf[w++] = ch;
	}
	return w;
}

static void in_read(struct console *c)
{
	ssize_t r = read(c->in_fd, c->in_buf, sizeof(c->in_buf));

	if (r > 0)
		c->in_have = c->escapes ? in_escapes(c, c->in_buf, (size_t)r)
					: (size_t)r;
	else if (r == 0 || (errno != EAGAIN && errno != EINTR))
		in_close(c); /* the guest runs on without input */
}

static void in_deliver(struct console *c)
{
	size_t took;

	if (!c->in_have)
		return;
	took = c->deliver ? c->deliver(c->deliver_opaque, c->in_buf, c->in_have)
			  : c->in_have;
	memmove(c->in_buf, c->in_buf + took, c->in_have - took);
	c->in_have -= took;
}

void console_run(struct console *c, int stop_fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = stop_fd };

	if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, stop_fd, &ev) < 0)
		return;
	ev.data.fd = c->wake_fd;
	if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->wake_fd, &ev) < 0)
		return;
	if (c->in_fd >= 0) {
		c->in_open = true;
		ev.data.fd = c->in_fd;
		if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->in_fd, &ev) == 0)
			c->in_polled = c->in_armed = true;
		else if (errno != EPERM)
			c->in_open = false;
	}
	for (;;) {
		struct epoll_event evs[8];
		bool readable = false, out_full;
		int timeout = -1, n, stall_ms;

		if (c->tick)
			c->tick(c->deliver_opaque);
		in_deliver(c);
		out_full = flush_out(c);
		out_arm(c, out_full);
		in_arm(c, c->in_open && !c->in_have);
		stall_ms = check_stall(c);
		/* Input waiting for UART room, output for an fd that cannot
		 * be polled: come back soon. Unpolled input: read now. */
		if (c->in_have || (out_full && !c->out_armed))
			timeout = CONSOLE_RETRY_MS;
		else if (c->in_open && !c->in_polled)
			timeout = 0;
		if (stall_ms >= 0 && (timeout < 0 || stall_ms < timeout))
			timeout = stall_ms;
		if (c->tick && (timeout < 0 || c->tick_ms < timeout))
			timeout = c->tick_ms;
		n = epoll_wait(c->epoll_fd, evs, 8, timeout);
		if (n < 0 && errno != EINTR)
			return;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == stop_fd)
				return;
			if (c->in_open && evs[i].data.fd == c->in_fd)
				readable = true;
		}
		if (c->in_open && !c->in_have && (readable || !c->in_polled))
			in_read(c);
	}
}

void console_drain(struct console *c, uint64_t deadline_ns, uint64_t idle_ns)
{
	uint64_t last = mono_ns(), done = c->written;

	while (flush_out(c)) {
		uint64_t now = mono_ns(), until;
		struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };
		int ms;

		/* Only the console thread writes: no lock for a peek. */
		if (__atomic_load_n(&c->written, __ATOMIC_RELAXED) != done) {
			done = c->written;
			last = now;
		}
		until = last + idle_ns < deadline_ns ? last + idle_ns
						     : deadline_ns;
		if (now >= until)
			return;
		ms = (int)((until - now + 999999) / 1000000);
		if (c->out_pollable)
			(void)poll(&p, 1,
				   ms < CONSOLE_RETRY_MS ? ms
							 : CONSOLE_RETRY_MS);
		else
			(void)poll(NULL, 0,
				   ms < CONSOLE_RETRY_MS ? ms
							 : CONSOLE_RETRY_MS);
	}
}

void console_get_stats(struct console *c, struct console_stats *s)
{
	pthread_mutex_lock(&c->lock);
	s->written = c->written;
	s->dropped = c->dropped;
	s->stalls = c->stalls;
	s->queued = c->len;
	s->out_error = c->out_error;
	s->blocked = c->blocked;
	s->dropping = c->dropping;
	pthread_mutex_unlock(&c->lock);
}
