/* 9P2000.L message parsing and writing. See p9_proto.h. */
#include "virtio/p9_proto.h"

#include <errno.h>
#include <string.h>

#include "util.h"

/* A bounded reader over one message's bytes. */
struct p9_in {
	const uint8_t *p;
	size_t len, off;
	bool err;
};

static const uint8_t *take(struct p9_in *in, size_t n)
{
	const uint8_t *q;

	if (in->err || n > in->len - in->off) {
		in->err = true;
		return NULL;
	}
	q = in->p + in->off;
	in->off += n;
	return q;
}

static uint64_t get_le(struct p9_in *in, unsigned int n)
{
	const uint8_t *q = take(in, n);

	return q ? le_get(q, n) : 0;
}

#define GET8(in) ((uint8_t)get_le(in, 1))
#define GET16(in) ((uint16_t)get_le(in, 2))
#define GET32(in) ((uint32_t)get_le(in, 4))
#define GET64(in) (get_le(in, 8))

static struct p9_str get_str(struct p9_in *in)
{
	struct p9_str s = { "", 0 };
	uint16_t len = GET16(in);
	const uint8_t *q = take(in, len);

	if (!q)
		return s;
	/* A NUL would cut the name the kernel sees short. */
	if (memchr(q, '\0', len)) {
		in->err = true;
		return s;
	}
	s.s = (const char *)q;
	s.len = len;
	return s;
}

int p9_parse_header(const uint8_t *buf, size_t len, uint32_t *size,
		    uint8_t *type, uint16_t *tag)
{
	if (len < P9_HDR_SIZE)
		return -EBADMSG;
	*size = (uint32_t)le_get(buf, 4);
	*type = buf[4];
	*tag = (uint16_t)le_get(buf + 5, 2);
	if (*size < P9_HDR_SIZE || *size > len)
		return -EINVAL;
	return 0;
}

int p9_parse(const uint8_t *buf, size_t len, struct p9_tmsg *t)
{
	struct p9_in in;
	int ret;

	memset(t, 0, sizeof(*t));
	ret = p9_parse_header(buf, len, &t->size, &t->type, &t->tag);
	if (ret)
		return ret;
	in = (struct p9_in){ .p = buf, .len = t->size, .off = P9_HDR_SIZE };

	switch (t->type) {
	case P9_TVERSION:
		t->u.version.msize = GET32(&in);
		t->u.version.version = get_str(&in);
		break;
	case P9_TAUTH:
		t->u.attach.fid = P9_NOFID;
		t->u.attach.afid = GET32(&in);
		t->u.attach.uname = get_str(&in);
		t->u.attach.aname = get_str(&in);
		t->u.attach.n_uname = GET32(&in);
		break;
	case P9_TATTACH:
		t->u.attach.fid = GET32(&in);
		t->u.attach.afid = GET32(&in);
		t->u.attach.uname = get_str(&in);
		t->u.attach.aname = get_str(&in);
		t->u.attach.n_uname = GET32(&in);
		break;
	case P9_TFLUSH:
		t->u.flush.oldtag = GET16(&in);
		break;
	case P9_TWALK:
		t->u.walk.fid = GET32(&in);
		t->u.walk.newfid = GET32(&in);
		t->u.walk.nwname = GET16(&in);
		if (t->u.walk.nwname > P9_MAXWELEM)
			return -EINVAL;
		for (unsigned int i = 0; i < t->u.walk.nwname; i++)
			t->u.walk.wname[i] = get_str(&in);
		break;
	case P9_TGETATTR:
		t->u.getattr.fid = GET32(&in);
		t->u.getattr.mask = GET64(&in);
		break;
	case P9_TSETATTR:
		t->u.setattr.fid = GET32(&in);
		t->u.setattr.valid = GET32(&in);
		t->u.setattr.mode = GET32(&in);
		t->u.setattr.uid = GET32(&in);
		t->u.setattr.gid = GET32(&in);
		t->u.setattr.size = GET64(&in);
		t->u.setattr.atime_sec = GET64(&in);
		t->u.setattr.atime_nsec = GET64(&in);
		t->u.setattr.mtime_sec = GET64(&in);
		t->u.setattr.mtime_nsec = GET64(&in);
		break;
	case P9_TLOPEN:
		t->u.lopen.fid = GET32(&in);
		t->u.lopen.flags = GET32(&in);
		break;
	case P9_TLCREATE:
		t->u.lcreate.fid = GET32(&in);
		t->u.lcreate.name = get_str(&in);
		t->u.lcreate.flags = GET32(&in);
		t->u.lcreate.mode = GET32(&in);
		t->u.lcreate.gid = GET32(&in);
		break;
	case P9_TREAD:
	case P9_TREADDIR:
		t->u.read.fid = GET32(&in);
		t->u.read.offset = GET64(&in);
		t->u.read.count = GET32(&in);
		break;
	case P9_TWRITE:
		t->u.write.fid = GET32(&in);
		t->u.write.offset = GET64(&in);
		t->u.write.count = GET32(&in);
		/* The data is in the message, all of it. */
		t->u.write.data = take(&in, t->u.write.count);
		break;
	case P9_TMKDIR:
		t->u.mkdir.dfid = GET32(&in);
		t->u.mkdir.name = get_str(&in);
		t->u.mkdir.mode = GET32(&in);
		t->u.mkdir.gid = GET32(&in);
		break;
	case P9_TUNLINKAT:
		t->u.unlinkat.dfid = GET32(&in);
		t->u.unlinkat.name = get_str(&in);
		t->u.unlinkat.flags = GET32(&in);
		break;
	case P9_TRENAMEAT:
		t->u.renameat.olddfid = GET32(&in);
		t->u.renameat.oldname = get_str(&in);
		t->u.renameat.newdfid = GET32(&in);
		t->u.renameat.newname = get_str(&in);
		break;
	case P9_TRENAME:
		t->u.rename.fid = GET32(&in);
		t->u.rename.dfid = GET32(&in);
		t->u.rename.name = get_str(&in);
		break;
	case P9_TSYMLINK:
		t->u.symlink.dfid = GET32(&in);
		t->u.symlink.name = get_str(&in);
		t->u.symlink.target = get_str(&in);
		t->u.symlink.gid = GET32(&in);
		break;
	case P9_TFSYNC:
		t->u.fid.fid = GET32(&in);
		/* Linux sends datasync[4]; older clients do not. */
		if (!in.err && in.len - in.off >= 4)
			t->u.fid.datasync = GET32(&in);
		break;
	case P9_TREADLINK:
	case P9_TSTATFS:
	case P9_TCLUNK:
	case P9_TREMOVE:
		t->u.fid.fid = GET32(&in);
		break;
	case P9_TLINK:
		t->u.link.dfid = GET32(&in);
		t->u.link.fid = GET32(&in);
		t->u.link.name = get_str(&in);
		break;
	case P9_TMKNOD:
		t->u.mknod.dfid = GET32(&in);
		t->u.mknod.name = get_str(&in);
		t->u.mknod.mode = GET32(&in);
		t->u.mknod.major = GET32(&in);
		t->u.mknod.minor = GET32(&in);
		t->u.mknod.gid = GET32(&in);
		break;
	case P9_TXATTRWALK:
		t->u.xattrwalk.fid = GET32(&in);
		t->u.xattrwalk.newfid = GET32(&in);
		t->u.xattrwalk.name = get_str(&in);
		break;
	case P9_TXATTRCREATE:
		t->u.xattrcreate.fid = GET32(&in);
		t->u.xattrcreate.name = get_str(&in);
		t->u.xattrcreate.size = GET64(&in);
		t->u.xattrcreate.flags = GET32(&in);
		break;
	case P9_TLOCK:
	case P9_TGETLOCK:
		t->u.lock.fid = GET32(&in);
		t->u.lock.type = GET8(&in);
		if (t->type == P9_TLOCK)
			t->u.lock.flags = GET32(&in);
		t->u.lock.start = GET64(&in);
		t->u.lock.length = GET64(&in);
		t->u.lock.proc_id = GET32(&in);
		t->u.lock.client_id = get_str(&in);
		break;
	default:
		return -EOPNOTSUPP;
	}
	return in.err ? -EINVAL : 0;
}

bool p9_str_eq(const struct p9_str *s, const char *c)
{
	size_t n = strlen(c);

	return s->len == n && !memcmp(s->s, c, n);
}

void p9_out_begin(struct p9_out *o, uint8_t *p, size_t cap, uint8_t type,
		  uint16_t tag)
{
	*o = (struct p9_out){ .p = p, .cap = cap };
	p9_put_u32(o, 0); /* the size, once known */
	p9_put_u8(o, type);
	p9_put_u16(o, tag);
}

uint8_t *p9_put_reserve(struct p9_out *o, size_t len)
{
	uint8_t *q;

	if (o->err || len > o->cap - o->off) {
		o->err = true;
		return NULL;
	}
	q = o->p + o->off;
	o->off += len;
	return q;
}

static void put_le(struct p9_out *o, unsigned int n, uint64_t v)
{
	uint8_t *q = p9_put_reserve(o, n);

	if (q)
		le_put(q, n, v);
}

void p9_put_u8(struct p9_out *o, uint8_t v)
{
	put_le(o, 1, v);
}

void p9_put_u16(struct p9_out *o, uint16_t v)
{
	put_le(o, 2, v);
}

void p9_put_u32(struct p9_out *o, uint32_t v)
{
	put_le(o, 4, v);
}

void p9_put_u64(struct p9_out *o, uint64_t v)
{
	put_le(o, 8, v);
}

void p9_put_bytes(struct p9_out *o, const void *d, size_t len)
{
	uint8_t *q = p9_put_reserve(o, len);

	if (q && len)
		memcpy(q, d, len);
}

void p9_put_str(struct p9_out *o, const char *s, size_t len)
{
	if (len > UINT16_MAX) {
		o->err = true;
		return;
	}
	p9_put_u16(o, (uint16_t)len);
	p9_put_bytes(o, s, len);
}

void p9_put_qid(struct p9_out *o, const struct p9_qid *q)
{
	p9_put_u8(o, q->type);
	p9_put_u32(o, q->version);
	p9_put_u64(o, q->path);
}

size_t p9_out_finish(struct p9_out *o)
{
	if (o->err || o->off > UINT32_MAX)
		return 0;
	le_put(o->p, 4, o->off);
	return o->off;
}

size_t p9_put_lerror(uint8_t *p, size_t cap, uint16_t tag, uint32_t ecode)
{
	struct p9_out o;

	p9_out_begin(&o, p, cap, P9_RLERROR, tag);
	p9_put_u32(&o, ecode);
	return p9_out_finish(&o);
}
