/* Appending text to a caller's buffer, snprintf-style: the length it would
 * need is kept even when the buffer is too small. */
#ifndef KVMLITE_DUMPBUF_H
#define KVMLITE_DUMPBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct dumpbuf {
	char *buf;
	size_t size; /* of buf, 0 for none */
	size_t need; /* bytes written (or wanted), without the NUL */
};

static inline void dumpbuf_printf(struct dumpbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void dumpbuf_printf(struct dumpbuf *b, const char *fmt, ...)
{
	size_t room = b->need < b->size ? b->size - b->need : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? b->buf + b->need : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->need += (size_t)n;
}

#endif
