/* Copies and slices across a chain's iovecs (guest buffers). */
#include <string.h>

#include "virtio/iov.h"

/* Copy @len bytes from offset @off of the iovecs to @dst; false if short. */
bool iov_to_buf(const struct iovec *iov, unsigned int nr, size_t off, void *dst,
		size_t len)
{
	uint8_t *p = dst;

	for (unsigned int i = 0; i < nr && len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off;
		if (n > len)
			n = len;
		memcpy(p, (uint8_t *)iov[i].iov_base + off, n);
		p += n;
		len -= n;
		off = 0;
	}
	return !len;
}

/* The iovecs covering bytes [off, off + len) of @iov, into @out (which
 * has room for @nr entries). Returns their number. */
unsigned int iov_slice(const struct iovec *iov, unsigned int nr, size_t off,
		       size_t len, struct iovec *out)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr && len; i++) {
		size_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off;
		if (take > len)
			take = len;
		out[n].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	return n;
}

/* Copy @len bytes from @src to offset @off of the iovecs; bytes copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned int nr, size_t off,
		    const void *src, size_t len)
{
	const uint8_t *p = src;
	size_t done = 0;

	for (unsigned int i = 0; i < nr && done < len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)iov[i].iov_base + off, p + done, n);
		done += n;
		off = 0;
	}
	return done;
}

/* The byte at offset @off of the iovecs, or NULL past their end. */
uint8_t *iov_byte(const struct iovec *iov, unsigned int nr, size_t off)
{
	for (unsigned int i = 0; i < nr; i++) {
		if (off < iov[i].iov_len)
			return (uint8_t *)iov[i].iov_base + off;
		off -= iov[i].iov_len;
	}
	return NULL;
}
