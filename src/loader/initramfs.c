/* The newc cpio writer (and a reader for the tests). */
#include "loader/initramfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The kernel takes an initrd up to 4 GiB; we stay far below. */
#define CPIO_MAX (1u << 30)
#define NEWC_HDR 110

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
}

void cpio_free(struct cpio *c)
{
	free(c->buf);
	cpio_init(c);
}

static int reserve(struct cpio *c, size_t more)
{
	size_t cap = c->cap ? c->cap : 65536;
	uint8_t *p;

	if (c->error)
		return c->error;
	if (more > CPIO_MAX - c->len)
		return c->error = -E2BIG;
	while (cap < c->len + more)
		cap *= 2;
	if (cap == c->cap)
		return 0;
	p = realloc(c->buf, cap);
	if (!p)
		return c->error = -ENOMEM;
	c->buf = p;
	c->cap = cap;
	return 0;
}

static void pad4(struct cpio *c)
{
	while (c->len & 3)
		c->buf[c->len++] = 0;
}

int cpio_add(struct cpio *c, const char *name, uint32_t mode, const void *data,
	     size_t len, uint32_t rdev_major, uint32_t rdev_minor)
{
	size_t nlen = strlen(name) + 1;
	char hdr[NEWC_HDR + 1];

	if (len > CPIO_MAX || nlen > 4096)
		return c->error = c->error ? c->error : -E2BIG;
	if (reserve(c, NEWC_HDR + nlen + len + 8))
		return c->error;
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ++c->ino, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u,
		 (unsigned int)len, 0u, 0u, rdev_major, rdev_minor,
		 (unsigned int)nlen, 0u);
	memcpy(c->buf + c->len, hdr, NEWC_HDR);
	c->len += NEWC_HDR;
	memcpy(c->buf + c->len, name, nlen);
	c->len += nlen;
	pad4(c);
	if (len) {
		memcpy(c->buf + c->len, data, len);
		c->len += len;
		pad4(c);
	}
	return 0;
}

int cpio_add_dir(struct cpio *c, const char *name)
{
	return cpio_add(c, name, S_IFDIR | 0755, NULL, 0, 0, 0);
}

int cpio_add_file(struct cpio *c, const char *name, uint32_t perm,
		  const void *data, size_t len)
{
	return cpio_add(c, name, S_IFREG | (perm & 07777), data, len, 0, 0);
}

int cpio_finish(struct cpio *c)
{
	return cpio_add(c, "TRAILER!!!", 0, NULL, 0, 0, 0);
}

static int hex8(const uint8_t *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 8; i++) {
		int d;

		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'A' && p[i] <= 'F')
			d = p[i] - 'A' + 10;
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else
			return -EINVAL;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

long cpio_parse(const uint8_t *buf, size_t len, size_t off,
		struct cpio_entry *e)
{
	uint32_t f[13];
	size_t name_off, data_off, end;

	if (off > len || len - off < NEWC_HDR || memcmp(buf + off, "070701", 6))
		return -EINVAL;
	for (int i = 0; i < 13; i++)
		if (hex8(buf + off + 6 + 8 * i, &f[i]))
			return -EINVAL;
	/* f: ino mode uid gid nlink mtime filesize devmaj devmin rdevmaj
	 * rdevmin namesize check */
	name_off = off + NEWC_HDR;
	if (f[11] == 0 || f[11] > sizeof(e->name) || f[11] > len - name_off ||
	    buf[name_off + f[11] - 1] != '\0')
		return -EINVAL;
	memcpy(e->name, buf + name_off, f[11]);
	data_off = (name_off + f[11] + 3) & ~(size_t)3;
	if (data_off > len || f[6] > len - data_off)
		return -EINVAL;
	e->mode = f[1];
	e->major = f[9];
	e->minor = f[10];
	e->data = buf + data_off;
	e->len = f[6];
	if (!strcmp(e->name, "TRAILER!!!"))
		return 0;
	end = (data_off + f[6] + 3) & ~(size_t)3;
	return (long)end;
}
