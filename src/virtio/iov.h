/* Copies and slices across a chain's iovecs (guest buffers already
 * validated by virtq_pop()). */
#ifndef KVMLITE_VIRTIO_IOV_H
#define KVMLITE_VIRTIO_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Copy @len bytes from offset @off of the iovecs to @dst; false if short. */
bool iov_to_buf(const struct iovec *iov, unsigned int nr, size_t off, void *dst,
		size_t len);
/* Copy @len bytes from @src to offset @off of the iovecs; bytes copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned int nr, size_t off,
		    const void *src, size_t len);
/* The iovecs covering bytes [off, off + len) of @iov, into @out (which has
 * room for @nr entries). Returns their number. */
unsigned int iov_slice(const struct iovec *iov, unsigned int nr, size_t off,
		       size_t len, struct iovec *out);
/* The byte at offset @off of the iovecs, or NULL past their end. */
uint8_t *iov_byte(const struct iovec *iov, unsigned int nr, size_t off);

#endif
