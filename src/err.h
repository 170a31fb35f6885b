/* One-line error messages for the library's create paths. */
#ifndef KVMLITE_ERR_H
#define KVMLITE_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Format a message into err (when given) and return @ret, so that a
 * failure reads `return err_fmt(err, errlen, -EINVAL, "disk %s: ...")`. */
static inline int err_fmt(char *err, size_t errlen, int ret, const char *fmt,
			  ...) __attribute__((format(printf, 4, 5)));

static inline int err_fmt(char *err, size_t errlen, int ret, const char *fmt,
			  ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

#endif
