/* An initramfs built in memory: a newc cpio archive (the kernel's
 * Documentation/driver-api/early-userspace/buffer-format.rst). */
#ifndef KVMLITE_LOADER_INITRAMFS_H
#define KVMLITE_LOADER_INITRAMFS_H

#include <stddef.h>
#include <stdint.h>

struct cpio {
	uint8_t *buf;
	size_t len, cap;
	uint32_t ino;
	int error; /* the first failure (-ENOMEM, -E2BIG), sticky */
};

void cpio_init(struct cpio *c);
/* Append one entry; @mode holds the type bits (S_IFREG...). A device
 * node's numbers in @rdev_major/@rdev_minor. Names are relative ("dev",
 * "init"). 0 or the sticky error. */
int cpio_add(struct cpio *c, const char *name, uint32_t mode, const void *data,
	     size_t len, uint32_t rdev_major, uint32_t rdev_minor);
int cpio_add_dir(struct cpio *c, const char *name);
int cpio_add_file(struct cpio *c, const char *name, uint32_t perm,
		  const void *data, size_t len);
/* The trailer; then c->buf/c->len is the archive. */
int cpio_finish(struct cpio *c);
void cpio_free(struct cpio *c);

/* One entry read back (for the tests and the fuzzer): the header at
 * @off of @buf, bounds-checked. Returns the offset of the next entry, 0 at
 * the trailer, or -EINVAL. */
struct cpio_entry {
	char name[256];
	uint32_t mode, major, minor;
	const uint8_t *data;
	size_t len;
};
long cpio_parse(const uint8_t *buf, size_t len, size_t off,
		struct cpio_entry *e);

#endif
