#include "console_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int console_log_init(struct console_log *c)
{
	pthread_condattr_t ca;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* All of it now (untouched pages cost nothing): appends then never
	 * allocate. They run on the console thread too (coalesced UART
	 * writes), whose seccomp filter has no openat, and a thread that
	 * ever allocated makes glibc read /proc/sys/vm/overcommit_memory
	 * when it exits and trims its arena. */
	c->buf = malloc(CONSOLE_LOG_MAX);
	if (c->buf)
		c->cap = CONSOLE_LOG_MAX;
	return 0;
}

void console_log_free(struct console_log *c)
{
	free(c->buf);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}

void console_log_append(struct console_log *c, const char *p, size_t n)
{
	pthread_mutex_lock(&c->lock);
	if (n > CONSOLE_LOG_MAX) {
		p += n - CONSOLE_LOG_MAX;
		n = CONSOLE_LOG_MAX;
	}
	if (c->len + n > CONSOLE_LOG_MAX) {
		/* Drop the oldest part: at least half, so this is rare. */
		size_t drop = c->len + n - CONSOLE_LOG_MAX;

		if (drop < CONSOLE_LOG_MAX / 2)
			drop = CONSOLE_LOG_MAX / 2;
		if (drop > c->len)
			drop = c->len;
		memmove(c->buf, c->buf + drop, c->len - drop);
		c->len -= drop;
		c->base += drop;
		c->cursor = c->cursor > drop ? c->cursor - drop : 0;
	}
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		char *nb;

		while (cap < c->len + n)
			cap *= 2;
		nb = realloc(c->buf, cap);
		if (!nb)
			goto out; /* the log is best effort */
		c->buf = nb;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	pthread_cond_broadcast(&c->cond);
out:
	pthread_mutex_unlock(&c->lock);
}

void console_log_close(struct console_log *c)
{
	pthread_mutex_lock(&c->lock);
	c->closed = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void copy_seen(const struct console_log *c, size_t end, char *seen,
		      size_t seen_len)
{
	size_t start = c->cursor, n;

	if (!seen || !seen_len)
		return;
	n = end - start;
	if (n > seen_len - 1) {
		start = end - (seen_len - 1);
		n = seen_len - 1;
	}
	if (n)
		memcpy(seen, c->buf + start, n);
	seen[n] = '\0';
}

int console_log_expect(struct console_log *c, const char *needle,
		       int timeout_ms, char *seen, size_t seen_len)
{
	size_t nlen = strlen(needle);
	struct timespec deadline;
	uint64_t from; /* output position where the next search starts */
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms > 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&c->lock);
	if (!nlen) {
		copy_seen(c, c->cursor, seen, seen_len);
		goto out;
	}
	from = c->base + c->cursor;
	for (;;) {
		const char *hit = NULL;
		size_t start = c->cursor;

		/* Resume after what was searched; a position before the log's
		 * start was dropped meanwhile, one before the cursor matched
		 * (another waiter): both give way to the cursor. */
		if (from > c->base + start)
			start = (size_t)(from - c->base);
		if (c->len - start >= nlen) {
			hit = memmem(c->buf + start, c->len - start, needle,
				     nlen);
			c->searched += c->len - start;
			c->searches++;
			/* Its last nlen - 1 bytes may begin a match. */
			start = c->len - (nlen - 1);
		}
		from = c->base + start;
		if (hit) {
			size_t end = (size_t)(hit - c->buf) + nlen;

			copy_seen(c, end, seen, seen_len);
			c->cursor = end;
			break;
		}
		if (c->closed) {
			ret = -ESRCH;
		} else if (timeout_ms == 0) {
			ret = -ETIMEDOUT;
		} else if (timeout_ms < 0) {
			pthread_cond_wait(&c->cond, &c->lock);
			continue;
		} else if (pthread_cond_timedwait(&c->cond, &c->lock,
						  &deadline) != ETIMEDOUT) {
			continue;
		} else {
			ret = -ETIMEDOUT;
		}
		copy_seen(c, c->len, seen, seen_len);
		break;
	}
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}
