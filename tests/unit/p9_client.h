/*
 * Building 9P2000.L T-messages and reading R-messages, for the unit tests,
 * the fuzz target and its seed writer. No Check in here.
 */
#ifndef KVMLITE_TESTS_P9_CLIENT_H
#define KVMLITE_TESTS_P9_CLIENT_H

#include <stdint.h>
#include <string.h>

#include "util.h"
#include "virtio/p9_proto.h"

/* A T-message under construction, written by the server's own encoder
 * (p9_proto.c's p9_put_*: the same wire format both ways). */
struct p9c {
	uint8_t buf[1 << 16];
	struct p9_out o;
};

static inline void p9c_u8(struct p9c *c, uint8_t v)
{
	p9_put_u8(&c->o, v);
}

static inline void p9c_u16(struct p9c *c, uint16_t v)
{
	p9_put_u16(&c->o, v);
}

static inline void p9c_u32(struct p9c *c, uint32_t v)
{
	p9_put_u32(&c->o, v);
}

static inline void p9c_u64(struct p9c *c, uint64_t v)
{
	p9_put_u64(&c->o, v);
}

static inline void p9c_str(struct p9c *c, const char *s)
{
	p9_put_str(&c->o, s, strlen(s));
}

static inline void p9c_begin(struct p9c *c, uint8_t type, uint16_t tag)
{
	p9_out_begin(&c->o, c->buf, sizeof(c->buf), type, tag);
}

/* Write the size field; the message's length (0: it overflowed buf). */
static inline size_t p9c_end(struct p9c *c)
{
	return p9_out_finish(&c->o);
}

/* ---- whole messages ---- */

static inline size_t p9c_version(struct p9c *c, uint32_t msize, const char *v)
{
	p9c_begin(c, P9_TVERSION, P9_NOTAG);
	p9c_u32(c, msize);
	p9c_str(c, v);
	return p9c_end(c);
}

static inline size_t p9c_attach(struct p9c *c, uint32_t fid)
{
	p9c_begin(c, P9_TATTACH, 1);
	p9c_u32(c, fid);
	p9c_u32(c, P9_NOFID);
	p9c_str(c, "root");
	p9c_str(c, "");
	p9c_u32(c, 0);
	return p9c_end(c);
}

/* Twalk of @n names. */
static inline size_t p9c_walk(struct p9c *c, uint32_t fid, uint32_t newfid,
			      unsigned int n, const char *const *names)
{
	p9c_begin(c, P9_TWALK, 2);
	p9c_u32(c, fid);
	p9c_u32(c, newfid);
	p9c_u16(c, (uint16_t)n);
	for (unsigned int i = 0; i < n; i++)
		p9c_str(c, names[i]);
	return p9c_end(c);
}

/* A message of just fid[4] (Tclunk, Treadlink, Tstatfs, Tremove). */
static inline size_t p9c_fid(struct p9c *c, uint8_t type, uint32_t fid)
{
	p9c_begin(c, type, 3);
	p9c_u32(c, fid);
	return p9c_end(c);
}

static inline size_t p9c_lopen(struct p9c *c, uint32_t fid, uint32_t flags)
{
	p9c_begin(c, P9_TLOPEN, 4);
	p9c_u32(c, fid);
	p9c_u32(c, flags);
	return p9c_end(c);
}

static inline size_t p9c_lcreate(struct p9c *c, uint32_t fid, const char *name,
				 uint32_t flags, uint32_t mode)
{
	p9c_begin(c, P9_TLCREATE, 5);
	p9c_u32(c, fid);
	p9c_str(c, name);
	p9c_u32(c, flags);
	p9c_u32(c, mode);
	p9c_u32(c, 0);
	return p9c_end(c);
}

/* Tread or Treaddir. */
static inline size_t p9c_read(struct p9c *c, uint8_t type, uint32_t fid,
			      uint64_t off, uint32_t count)
{
	p9c_begin(c, type, 6);
	p9c_u32(c, fid);
	p9c_u64(c, off);
	p9c_u32(c, count);
	return p9c_end(c);
}

static inline size_t p9c_write(struct p9c *c, uint32_t fid, uint64_t off,
			       const void *data, uint32_t count)
{
	p9c_begin(c, P9_TWRITE, 7);
	p9c_u32(c, fid);
	p9c_u64(c, off);
	p9c_u32(c, count);
	p9_put_bytes(&c->o, data, count);
	return p9c_end(c);
}

static inline size_t p9c_mkdir(struct p9c *c, uint32_t dfid, const char *name)
{
	p9c_begin(c, P9_TMKDIR, 8);
	p9c_u32(c, dfid);
	p9c_str(c, name);
	p9c_u32(c, 0755);
	p9c_u32(c, 0);
	return p9c_end(c);
}

static inline size_t p9c_symlink(struct p9c *c, uint32_t dfid, const char *name,
				 const char *target)
{
	p9c_begin(c, P9_TSYMLINK, 9);
	p9c_u32(c, dfid);
	p9c_str(c, name);
	p9c_str(c, target);
	p9c_u32(c, 0);
	return p9c_end(c);
}

static inline size_t p9c_renameat(struct p9c *c, uint32_t od, const char *on,
				  uint32_t nd, const char *nn)
{
	p9c_begin(c, P9_TRENAMEAT, 10);
	p9c_u32(c, od);
	p9c_str(c, on);
	p9c_u32(c, nd);
	p9c_str(c, nn);
	return p9c_end(c);
}

static inline size_t p9c_unlinkat(struct p9c *c, uint32_t dfid,
				  const char *name, uint32_t flags)
{
	p9c_begin(c, P9_TUNLINKAT, 11);
	p9c_u32(c, dfid);
	p9c_str(c, name);
	p9c_u32(c, flags);
	return p9c_end(c);
}

static inline size_t p9c_link(struct p9c *c, uint32_t dfid, uint32_t fid,
			      const char *name)
{
	p9c_begin(c, P9_TLINK, 12);
	p9c_u32(c, dfid);
	p9c_u32(c, fid);
	p9c_str(c, name);
	return p9c_end(c);
}

static inline size_t p9c_getattr(struct p9c *c, uint32_t fid)
{
	p9c_begin(c, P9_TGETATTR, 13);
	p9c_u32(c, fid);
	p9c_u64(c, P9_GETATTR_BASIC);
	return p9c_end(c);
}

static inline size_t p9c_setattr(struct p9c *c, uint32_t fid, uint32_t valid,
				 uint32_t mode, uint64_t size)
{
	p9c_begin(c, P9_TSETATTR, 14);
	p9c_u32(c, fid);
	p9c_u32(c, valid);
	p9c_u32(c, mode);
	p9c_u32(c, 0);
	p9c_u32(c, 0);
	p9c_u64(c, size);
	for (int i = 0; i < 4; i++)
		p9c_u64(c, 0);
	return p9c_end(c);
}

static inline size_t p9c_mknod(struct p9c *c, uint32_t dfid, const char *name)
{
	p9c_begin(c, P9_TMKNOD, 15);
	p9c_u32(c, dfid);
	p9c_str(c, name);
	p9c_u32(c, 0010644); /* a FIFO */
	p9c_u32(c, 0);
	p9c_u32(c, 0);
	p9c_u32(c, 0);
	return p9c_end(c);
}

static inline size_t p9c_lock(struct p9c *c, uint8_t type, uint32_t fid)
{
	p9c_begin(c, type, 16);
	p9c_u32(c, fid);
	p9c_u8(c, P9_LOCK_TYPE_WRLCK);
	if (type == P9_TLOCK)
		p9c_u32(c, 0);
	p9c_u64(c, 0);
	p9c_u64(c, 100);
	p9c_u32(c, 42);
	p9c_str(c, "guest");
	return p9c_end(c);
}

static inline size_t p9c_xattrwalk(struct p9c *c, uint32_t fid, uint32_t nfid,
				   const char *name)
{
	p9c_begin(c, P9_TXATTRWALK, 17);
	p9c_u32(c, fid);
	p9c_u32(c, nfid);
	p9c_str(c, name);
	return p9c_end(c);
}

static inline size_t p9c_xattrcreate(struct p9c *c, uint32_t fid,
				     const char *name)
{
	p9c_begin(c, P9_TXATTRCREATE, 18);
	p9c_u32(c, fid);
	p9c_str(c, name);
	p9c_u64(c, 4);
	p9c_u32(c, 0);
	return p9c_end(c);
}

static inline size_t p9c_flush(struct p9c *c, uint16_t oldtag)
{
	p9c_begin(c, P9_TFLUSH, 19);
	p9c_u16(c, oldtag);
	return p9c_end(c);
}

static inline size_t p9c_rename(struct p9c *c, uint32_t fid, uint32_t dfid,
				const char *name)
{
	p9c_begin(c, P9_TRENAME, 20);
	p9c_u32(c, fid);
	p9c_u32(c, dfid);
	p9c_str(c, name);
	return p9c_end(c);
}

static inline size_t p9c_fsync(struct p9c *c, uint32_t fid)
{
	p9c_begin(c, P9_TFSYNC, 21);
	p9c_u32(c, fid);
	p9c_u32(c, 0);
	return p9c_end(c);
}

/* ---- replies ---- */

static inline uint8_t p9r_type(const uint8_t *r)
{
	return r[4];
}

/* Rlerror's code, or 0 for any other reply. */
static inline uint32_t p9r_ecode(const uint8_t *r)
{
	return r[4] == P9_RLERROR ? (uint32_t)le_get(r + 7, 4) : 0;
}

#endif
