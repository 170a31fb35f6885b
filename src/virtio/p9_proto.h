/*
 * 9P2000.L messages: the parser of T-messages and the writer of
 * R-messages, pure (no file system, no guest memory), so that it is unit
 * tested and fuzzed alone.
 *
 * A message is size[4] type[1] tag[2] then its fields, little-endian;
 * strings are len[2] bytes (not NUL-terminated). p9_parse() reads one
 * T-message from a buffer of @len bytes: the size field must be at least
 * the header and at most @len (a lying size is refused, never read
 * past), every field and string must lie inside the size, and a string
 * holding a NUL is refused (the server hands names to the kernel as C
 * strings). Bytes after the last field are ignored (a newer client's
 * extension). Strings point into the buffer.
 */
#ifndef KVMLITE_VIRTIO_P9_PROTO_H
#define KVMLITE_VIRTIO_P9_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P9_HDR_SIZE 7 /* size[4] type[1] tag[2] */
#define P9_NOTAG 0xffff
#define P9_NOFID 0xffffffffu
/* Names in one Twalk (the protocol's limit). */
#define P9_MAXWELEM 16

/* The message types (T = R - 1). */
enum {
	P9_TLERROR = 6,
	P9_RLERROR,
	P9_TSTATFS = 8,
	P9_RSTATFS,
	P9_TLOPEN = 12,
	P9_RLOPEN,
	P9_TLCREATE = 14,
	P9_RLCREATE,
	P9_TSYMLINK = 16,
	P9_RSYMLINK,
	P9_TMKNOD = 18,
	P9_RMKNOD,
	P9_TRENAME = 20,
	P9_RRENAME,
	P9_TREADLINK = 22,
	P9_RREADLINK,
	P9_TGETATTR = 24,
	P9_RGETATTR,
	P9_TSETATTR = 26,
	P9_RSETATTR,
	P9_TXATTRWALK = 30,
	P9_RXATTRWALK,
	P9_TXATTRCREATE = 32,
	P9_RXATTRCREATE,
	P9_TREADDIR = 40,
	P9_RREADDIR,
	P9_TFSYNC = 50,
	P9_RFSYNC,
	P9_TLOCK = 52,
	P9_RLOCK,
	P9_TGETLOCK = 54,
	P9_RGETLOCK,
	P9_TLINK = 70,
	P9_RLINK,
	P9_TMKDIR = 72,
	P9_RMKDIR,
	P9_TRENAMEAT = 74,
	P9_RRENAMEAT,
	P9_TUNLINKAT = 76,
	P9_RUNLINKAT,
	P9_TVERSION = 100,
	P9_RVERSION,
	P9_TAUTH = 102,
	P9_RAUTH,
	P9_TATTACH = 104,
	P9_RATTACH,
	P9_TFLUSH = 108,
	P9_RFLUSH,
	P9_TWALK = 110,
	P9_RWALK,
	P9_TREAD = 116,
	P9_RREAD,
	P9_TWRITE = 118,
	P9_RWRITE,
	P9_TCLUNK = 120,
	P9_RCLUNK,
	P9_TREMOVE = 122,
	P9_RREMOVE,
};

/* qid.type */
#define P9_QTDIR 0x80
#define P9_QTSYMLINK 0x02
#define P9_QTFILE 0x00

/* Tgetattr's request mask / Rgetattr's valid: the basic fields. */
#define P9_GETATTR_BASIC 0x000007ffULL

/* Tsetattr's valid bits. */
#define P9_SETATTR_MODE 0x001
#define P9_SETATTR_UID 0x002
#define P9_SETATTR_GID 0x004
#define P9_SETATTR_SIZE 0x008
#define P9_SETATTR_ATIME 0x010
#define P9_SETATTR_MTIME 0x020
#define P9_SETATTR_CTIME 0x040
#define P9_SETATTR_ATIME_SET 0x080
#define P9_SETATTR_MTIME_SET 0x100

/* Tlopen/Tlcreate flags (the protocol's, Linux's generic values). */
#define P9_DOTL_ACCMODE 03
#define P9_DOTL_RDONLY 00
#define P9_DOTL_WRONLY 01
#define P9_DOTL_RDWR 02
#define P9_DOTL_CREATE 0100
#define P9_DOTL_EXCL 0200
#define P9_DOTL_TRUNC 01000
#define P9_DOTL_APPEND 02000
#define P9_DOTL_NONBLOCK 04000
#define P9_DOTL_DSYNC 010000
#define P9_DOTL_DIRECTORY 0200000
#define P9_DOTL_SYNC 04000000

/* Tunlinkat's flag. */
#define P9_DOTL_AT_REMOVEDIR 0x200

/* Tlock / Tgetlock. */
#define P9_LOCK_TYPE_RDLCK 0
#define P9_LOCK_TYPE_WRLCK 1
#define P9_LOCK_TYPE_UNLCK 2
#define P9_LOCK_SUCCESS 0

struct p9_str {
	const char *s; /* into the message; not NUL-terminated */
	uint16_t len;
};

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

/* One parsed T-message. */
struct p9_tmsg {
	uint32_t size;
	uint8_t type;
	uint16_t tag;
	union {
		struct {
			uint32_t msize;
			struct p9_str version;
		} version;
		struct {
			uint32_t fid, afid;
			struct p9_str uname, aname;
			uint32_t n_uname;
		} attach; /* Tauth too (fid: its afid) */
		struct {
			uint32_t fid, newfid;
			uint16_t nwname;
			struct p9_str wname[P9_MAXWELEM];
		} walk;
		struct {
			uint32_t fid;
			uint64_t mask;
		} getattr;
		struct {
			uint32_t fid, valid, mode, uid, gid;
			uint64_t size, atime_sec, atime_nsec, mtime_sec,
				mtime_nsec;
		} setattr;
		struct {
			uint32_t fid, flags;
		} lopen;
		struct {
			uint32_t fid;
			struct p9_str name;
			uint32_t flags, mode, gid;
		} lcreate;
		struct {
			uint32_t fid;
			uint64_t offset;
			uint32_t count;
		} read; /* Treaddir too */
		struct {
			uint32_t fid;
			uint64_t offset;
			uint32_t count;
			const uint8_t *data; /* count bytes, inside the size */
		} write;
		struct {
			uint32_t dfid;
			struct p9_str name;
			uint32_t mode, gid;
		} mkdir;
		struct {
			uint32_t dfid;
			struct p9_str name;
			uint32_t flags;
		} unlinkat;
		struct {
			uint32_t olddfid;
			struct p9_str oldname;
			uint32_t newdfid;
			struct p9_str newname;
		} renameat;
		struct {
			uint32_t fid, dfid;
			struct p9_str name;
		} rename;
		struct {
			uint32_t dfid;
			struct p9_str name, target;
			uint32_t gid;
		} symlink;
		struct {
			uint32_t fid;
			uint32_t datasync; /* Tfsync: 0 when not sent */
		} fid; /* Treadlink, Tstatfs, Tclunk, Tremove, Tfsync */
		struct {
			uint32_t dfid, fid;
			struct p9_str name;
		} link;
		struct {
			uint32_t dfid;
			struct p9_str name;
			uint32_t mode, major, minor, gid;
		} mknod;
		struct {
			uint32_t fid, newfid;
			struct p9_str name;
		} xattrwalk;
		struct {
			uint32_t fid;
			struct p9_str name;
			uint64_t size;
			uint32_t flags;
		} xattrcreate;
		struct {
			uint32_t fid;
			uint8_t type;
			uint32_t flags; /* Tlock only */
			uint64_t start, length;
			uint32_t proc_id;
			struct p9_str client_id;
		} lock; /* Tgetlock too */
		struct {
			uint16_t oldtag;
		} flush;
	} u;
};

/*
 * The header of the message in @buf (@len bytes): 0 with @size, @type and
 * @tag set; -EBADMSG when fewer than P9_HDR_SIZE bytes (no tag to answer
 * to); -EINVAL when the size field is below the header or beyond @len (the
 * tag is set: the caller answers with Rlerror).
 */
int p9_parse_header(const uint8_t *buf, size_t len, uint32_t *size,
		    uint8_t *type, uint16_t *tag);

/*
 * The whole T-message: 0, -EBADMSG / -EINVAL as p9_parse_header() (the
 * header fields of @t are set for -EINVAL), -EINVAL for a field or string
 * beyond the size, a NUL in a string or more than P9_MAXWELEM walk names,
 * -EOPNOTSUPP for a type this parser does not know (or an R-message).
 */
int p9_parse(const uint8_t *buf, size_t len, struct p9_tmsg *t);

/* Does @s equal the C string @c? */
bool p9_str_eq(const struct p9_str *s, const char *c);

/*
 * An R-message being written into @p (@cap bytes). Every put checks the
 * room: past it, @err is set and nothing more is written;
 * p9_out_finish() then reports it.
 */
struct p9_out {
	uint8_t *p;
	size_t cap, off;
	bool err;
};

void p9_out_begin(struct p9_out *o, uint8_t *p, size_t cap, uint8_t type,
		  uint16_t tag);
void p9_put_u8(struct p9_out *o, uint8_t v);
void p9_put_u16(struct p9_out *o, uint16_t v);
void p9_put_u32(struct p9_out *o, uint32_t v);
void p9_put_u64(struct p9_out *o, uint64_t v);
void p9_put_str(struct p9_out *o, const char *s, size_t len);
void p9_put_qid(struct p9_out *o, const struct p9_qid *q);
void p9_put_bytes(struct p9_out *o, const void *d, size_t len);
/* Room for @len bytes at the end, reserved (the caller fills them):
 * their address, or NULL (and @err) when they do not fit. */
uint8_t *p9_put_reserve(struct p9_out *o, size_t len);
/* Write the size field: the message's length, or 0 when it overflowed. */
size_t p9_out_finish(struct p9_out *o);

/* Rlerror with @ecode (a positive Linux errno) into @p; its length
 * (P9_HDR_SIZE + 4) or 0 when @cap is too small. */
size_t p9_put_lerror(uint8_t *p, size_t cap, uint16_t tag, uint32_t ecode);

/* The bytes of a directory entry in Rreaddir for a name of @len bytes. */
#define P9_DIRENT_SIZE(len) (13 + 8 + 1 + 2 + (size_t)(len))

#endif
