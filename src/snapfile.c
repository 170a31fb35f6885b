/* The snapshot's state file: container, writer, reader. See snapfile.h. */
#include "snapfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "err.h"
#include "kvmlite.h"
#include "util.h"

/* Each section: tag, index, payload length, then the payload padded to 8
 * bytes. */
#define SECTION_HEADER_BYTES 16
#define SECTION_ALIGN 8

uint32_t snap_crc32(const void *p, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	const Bytef *b = p;

	/* zlib takes lengths as uInt. */
	while (len) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

		crc = crc32(crc, b, n);
		b += n;
		len -= n;
	}
	return (uint32_t)crc;
}

/* The file's checksum: over all of it, the checksum field read as 0. */
static uint32_t file_crc(const uint8_t *data, size_t len)
{
	static const uint8_t zero[4];
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, data, 40);
	crc = crc32(crc, zero, 4);
	return (uint32_t)crc32_combine(crc, snap_crc32(data + 44, len - 44),
				       (z_off_t)(len - 44));
}

/* ---- writing ---- */

void snap_writer_init(struct snap_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->len = SNAP_HEADER_BYTES; /* room for the header */
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static uint8_t *reserve(struct snap_writer *w, size_t n)
{
	uint8_t *p;

	if (w->err)
		return NULL;
	if (n > SNAP_MAX_STATE_BYTES || w->len > SNAP_MAX_STATE_BYTES - n) {
		w->err = -E2BIG;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 16384;

		while (cap < w->len + n)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p) {
			w->err = -ENOMEM;
			return NULL;
		}
		/* The header's room, if this is the first allocation. */
		if (!w->buf)
			memset(p, 0, SNAP_HEADER_BYTES);
		w->buf = p;
		w->cap = cap;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

void snap_put_bytes(struct snap_writer *w, const void *src, size_t len)
{
	uint8_t *p = reserve(w, len);

	if (p && len)
		memcpy(p, src, len);
}

static void put_le(struct snap_writer *w, uint64_t v, unsigned int n)
{
	uint8_t *p = reserve(w, n);

	if (p)
		le_put(p, n, v);
}

void snap_put_u8(struct snap_writer *w, uint8_t v)
{
	put_le(w, v, 1);
}

void snap_put_u16(struct snap_writer *w, uint16_t v)
{
	put_le(w, v, 2);
}

void snap_put_u32(struct snap_writer *w, uint32_t v)
{
	put_le(w, v, 4);
}

void snap_put_u64(struct snap_writer *w, uint64_t v)
{
	put_le(w, v, 8);
}

void snap_put_str(struct snap_writer *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= SNAP_MAX_STRING) {
		if (!w->err)
			w->err = -ENAMETOOLONG;
		return;
	}
	snap_put_u32(w, (uint32_t)n);
	snap_put_bytes(w, s, n);
}

void snap_begin(struct snap_writer *w, enum snap_tag tag, uint32_t index)
{
	if (w->section && !w->err)
		w->err = -EINVAL; /* one at a time */
	w->section = w->len;
	snap_put_u32(w, (uint32_t)tag);
	snap_put_u32(w, index);
	snap_put_u64(w, 0); /* the length, once known */
}

void snap_end(struct snap_writer *w)
{
	size_t len;

	if (!w->section) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	if (!w->err) {
		len = w->len - w->section - SECTION_HEADER_BYTES;
		le_put(w->buf + w->section + 8, 8, len);
		while (w->len % SECTION_ALIGN)
			snap_put_u8(w, 0);
		w->nr_sections++;
	}
	w->section = 0;
}

int snap_finish(struct snap_writer *w, const uint8_t *id, const uint8_t **out,
		size_t *len)
{
	uint8_t *h;

	if (!w->err && (w->section || !w->buf))
		w->err = -EINVAL;
	if (w->err)
		return w->err;
	h = w->buf;
	memset(h, 0, SNAP_HEADER_BYTES);
	memcpy(h, SNAP_MAGIC, 8);
	le_put(h + 8, 4, SNAP_FORMAT);
	le_put(h + 12, 4, SNAP_HEADER_BYTES);
	snprintf((char *)h + 16, SNAP_VERSION_BYTES, "%s",
		 KVMLITE_VERSION_STRING);
	le_put(h + 32, 8, w->len - SNAP_HEADER_BYTES);
	le_put(h + 44, 4, w->nr_sections);
	memcpy(h + 48, id, SNAP_ID_BYTES);
	le_put(h + 40, 4, file_crc(h, w->len));
	*out = w->buf;
	*len = w->len;
	return 0;
}

/* ---- reading ---- */

static const uint8_t *take(struct snap_reader *r, size_t n)
{
	const uint8_t *p;

	if (r->err || n > r->len - r->off) {
		r->err = -EINVAL;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t get_le(struct snap_reader *r, unsigned int n)
{
	const uint8_t *p = take(r, n);

	return p ? le_get(p, n) : 0;
}

uint8_t snap_get_u8(struct snap_reader *r)
{
	return (uint8_t)get_le(r, 1);
}

uint16_t snap_get_u16(struct snap_reader *r)
{
	return (uint16_t)get_le(r, 2);
}

uint32_t snap_get_u32(struct snap_reader *r)
{
	return (uint32_t)get_le(r, 4);
}

uint64_t snap_get_u64(struct snap_reader *r)
{
	return get_le(r, 8);
}

void snap_get_bytes(struct snap_reader *r, void *dst, size_t len)
{
	const uint8_t *p = take(r, len);

	if (p)
		memcpy(dst, p, len);
	else if (len)
		memset(dst, 0, len);
}

void snap_get_str(struct snap_reader *r, char *buf, size_t cap)
{
	uint32_t n = snap_get_u32(r);
	const uint8_t *p;

	buf[0] = '\0';
	if (r->err)
		return;
	if (n >= cap || n >= SNAP_MAX_STRING) {
		r->err = -EINVAL;
		return;
	}
	p = take(r, n);
	if (!p)
		return;
	if (memchr(p, '\0', n)) {
		r->err = -EINVAL;
		return;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
}

int snap_reader_done(const struct snap_reader *r)
{
	return r->err || r->off != r->len ? -EINVAL : 0;
}

void snapfile_free(struct snapfile *f)
{
	free(f->data);
	free(f->sections);
	memset(f, 0, sizeof(*f));
}

int snapfile_parse(struct snapfile *f, uint8_t *data, size_t len, char *err,
		   size_t errlen)
{
	uint64_t payload, off;
	uint32_t n, format, hdr;
	int ret = -EINVAL;

	memset(f, 0, sizeof(*f));
	f->data = data;
	f->len = len;
	if (len < SNAP_HEADER_BYTES) {
		err_fmt(err, errlen, ret, "truncated: %zu bytes, no header",
			len);
		goto fail;
	}
	if (memcmp(data, SNAP_MAGIC, 8)) {
		err_fmt(err, errlen, ret, "not a kvmlite snapshot (bad magic)");
		goto fail;
	}
	format = (uint32_t)le_get(data + 8, 4);
	hdr = (uint32_t)le_get(data + 12, 4);
	memcpy(f->version, data + 16, SNAP_VERSION_BYTES);
	f->version[SNAP_VERSION_BYTES] = '\0';
	for (char *c = f->version; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	if (format != SNAP_FORMAT || hdr != SNAP_HEADER_BYTES) {
		err_fmt(err, errlen, ret,
			"format %u (made by kvmlite %s); this kvmlite (%s) "
			"reads format %d",
			format, f->version, KVMLITE_VERSION_STRING,
			SNAP_FORMAT);
		goto fail;
	}
	if (strcmp(f->version, KVMLITE_VERSION_STRING)) {
		err_fmt(err, errlen, ret,
			"made by kvmlite %s; this is kvmlite %s (a snapshot "
			"restores only in the version that took it)",
			f->version, KVMLITE_VERSION_STRING);
		goto fail;
	}
	payload = le_get(data + 32, 8);
	if (payload != len - SNAP_HEADER_BYTES) {
		err_fmt(err, errlen, ret,
			"truncated or padded: %zu bytes, the header says "
			"%llu",
			len, (unsigned long long)(payload + SNAP_HEADER_BYTES));
		goto fail;
	}
	if (file_crc(data, len) != (uint32_t)le_get(data + 40, 4)) {
		err_fmt(err, errlen, ret,
			"checksum mismatch (the file is "
			"corrupt)");
		goto fail;
	}
	n = (uint32_t)le_get(data + 44, 4);
	memcpy(f->id, data + 48, SNAP_ID_BYTES);
	/* Each section takes at least its header. */
	if (n > payload / SECTION_HEADER_BYTES) {
		err_fmt(err, errlen, ret, "%u sections cannot fit", n);
		goto fail;
	}
	f->sections = calloc(n ? n : 1, sizeof(*f->sections));
	if (!f->sections) {
		ret = err_fmt(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	off = SNAP_HEADER_BYTES;
	for (uint32_t i = 0; i < n; i++) {
		struct snap_section *s = &f->sections[i];
		uint64_t slen, padded;

		if (len - off < SECTION_HEADER_BYTES) {
			err_fmt(err, errlen, ret, "section %u: truncated", i);
			goto fail;
		}
		s->tag = (uint32_t)le_get(data + off, 4);
		s->index = (uint32_t)le_get(data + off + 4, 4);
		slen = le_get(data + off + 8, 8);
		off += SECTION_HEADER_BYTES;
		if (slen > len - off) {
			err_fmt(err, errlen, ret,
				"section %u: %llu bytes past the end", i,
				(unsigned long long)slen);
			goto fail;
		}
		padded = (slen + SECTION_ALIGN - 1) &
			 ~(uint64_t)(SECTION_ALIGN - 1);
		if (padded > len - off) {
			err_fmt(err, errlen, ret, "section %u: truncated", i);
			goto fail;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (f->sections[j].tag == s->tag &&
			    f->sections[j].index == s->index) {
				err_fmt(err, errlen, ret,
					"section %u (tag %u, index %u) given "
					"twice",
					i, s->tag, s->index);
				goto fail;
			}
		}
		s->off = off;
		s->len = slen;
		off += padded;
	}
	if (off != len) {
		err_fmt(err, errlen, ret, "%llu bytes after the last section",
			(unsigned long long)(len - off));
		goto fail;
	}
	f->nr_sections = n;
	return 0;

fail:
	snapfile_free(f);
	return ret;
}

int snapfile_section(const struct snapfile *f, enum snap_tag tag,
		     uint32_t index, struct snap_reader *r)
{
	for (uint32_t i = 0; i < f->nr_sections; i++) {
		const struct snap_section *s = &f->sections[i];

		if (s->tag == (uint32_t)tag && s->index == index) {
			*r = (struct snap_reader){ f->data + s->off, s->len, 0,
						   0 };
			return 0;
		}
	}
	*r = (struct snap_reader){ NULL, 0, 0, -EINVAL };
	return -ENOENT;
}
