/* The 9P2000.L server. See p9_server.h. */
#include "virtio/p9_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "util.h"
#include "virtio/p9_proto.h"

struct p9_fid {
	bool used;
	uint32_t fid;
	int fd;	     /* O_PATH, or the file created open (Tlcreate) */
	int open_fd; /* -1 unless opened; may equal fd */
	mode_t type; /* S_IFMT bits: fixed for an inode */
	/* Where the walk found it (O_PATH of the directory, and the name
	 * there), for Trename and Tremove; -1 for the root. */
	int parent_fd;
	char name[NAME_MAX + 1];
};

#define STAT_ADD(s, field, v)                                                  \
	__atomic_fetch_add(&(s)->stats.field, (uint64_t)(v), __ATOMIC_RELAXED)

static const uint64_t confined =
	RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

static int openat2_confined(int dirfd, const char *name, uint64_t flags,
			    uint64_t mode)
{
	struct open_how how = { .flags = flags,
				.mode = mode,
				.resolve = confined };
	long fd;

	do {
		fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	} while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : (int)fd;
}

/* ---- fids ---- */

static struct p9_fid *fid_get(struct p9_server *s, uint32_t fid)
{
	if (fid == P9_NOFID)
		return NULL;
	for (unsigned int i = 0, seen = 0; i < P9_MAX_FIDS && seen < s->nr_fids;
	     i++) {
		if (!s->fids[i].used)
			continue;
		seen++;
		if (s->fids[i].fid == fid)
			return &s->fids[i];
	}
	return NULL;
}

/* A free slot for @fid, which must not be in use: -EBADF if it is (or is
 * NOFID), -EMFILE when the table is full. */
static int fid_new(struct p9_server *s, uint32_t fid, struct p9_fid **out)
{
	if (fid == P9_NOFID || fid_get(s, fid))
		return -EBADF;
	if (s->nr_fids >= P9_MAX_FIDS)
		return -EMFILE;
	for (unsigned int i = 0; i < P9_MAX_FIDS; i++) {
		struct p9_fid *f = &s->fids[i];

		if (f->used)
			continue;
		*f = (struct p9_fid){ .used = true,
				      .fid = fid,
				      .fd = -1,
				      .open_fd = -1,
				      .parent_fd = -1 };
		s->nr_fids++;
		*out = f;
		return 0;
	}
	return -EMFILE;
}

static void fid_close_open(struct p9_server *s, struct p9_fid *f)
{
	if (f->open_fd < 0)
		return;
	if (f->open_fd != f->fd)
		close(f->open_fd);
	f->open_fd = -1;
	s->nr_open--;
}

static void fid_free(struct p9_server *s, struct p9_fid *f)
{
	fid_close_open(s, f);
	if (f->fd >= 0)
		close(f->fd);
	if (f->parent_fd >= 0)
		close(f->parent_fd);
	f->used = false;
	f->fd = f->parent_fd = -1;
	s->nr_fids--;
}

void p9_server_reset(struct p9_server *s)
{
	for (unsigned int i = 0; i < P9_MAX_FIDS && s->nr_fids; i++)
		if (s->fids[i].used)
			fid_free(s, &s->fids[i]);
	s->msize = 0;
}

int p9_server_init(struct p9_server *s, const char *path, bool read_only,
		   char *err, size_t errlen)
{
	struct stat st;
	int ret;

	memset(s, 0, sizeof(*s));
	s->read_only = read_only;
	s->proc_fd = -1;
	s->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0)
		return err_fmt(err, errlen, -errno, "fs %s: %s", path,
			       strerror(errno));
	if (fstat(s->root_fd, &st) || !S_ISDIR(st.st_mode)) {
		ret = err_fmt(err, errlen, -ENOTDIR, "fs %s: not a directory",
			      path);
		goto fail;
	}
	s->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd < 0) {
		ret = err_fmt(err, errlen, -errno,
			      "fs %s: /proc/self/fd: %s (is /proc mounted?)",
			      path, strerror(errno));
		goto fail;
	}
	s->fids = calloc(P9_MAX_FIDS, sizeof(*s->fids));
	if (!s->fids) {
		ret = err_fmt(err, errlen, -ENOMEM, "fs %s: out of memory",
			      path);
		goto fail;
	}
	return 0;
fail:
	if (s->proc_fd >= 0)
		close(s->proc_fd);
	close(s->root_fd);
	s->root_fd = s->proc_fd = -1;
	return ret;
}

void p9_server_destroy(struct p9_server *s)
{
	if (s->fids)
		p9_server_reset(s);
	free(s->fids);
	s->fids = NULL;
	if (s->root_fd >= 0)
		close(s->root_fd);
	if (s->proc_fd >= 0)
		close(s->proc_fd);
	s->root_fd = s->proc_fd = -1;
}

void p9_server_get_stats(const struct p9_server *s, struct p9_server_stats *st)
{
	st->requests = __atomic_load_n(&s->stats.requests, __ATOMIC_RELAXED);
	st->errors = __atomic_load_n(&s->stats.errors, __ATOMIC_RELAXED);
	st->read_bytes =
		__atomic_load_n(&s->stats.read_bytes, __ATOMIC_RELAXED);
	st->written_bytes =
		__atomic_load_n(&s->stats.written_bytes, __ATOMIC_RELAXED);
}

/* ---- helpers ---- */

/* A guest name as a C string: one component, never "." or "..". */
static int name_of(const struct p9_str *s, char out[NAME_MAX + 1])
{
	if (!s->len || (s->len == 1 && s->s[0] == '.') ||
	    (s->len == 2 && s->s[0] == '.' && s->s[1] == '.') ||
	    memchr(s->s, '/', s->len))
		return -EINVAL;
	if (s->len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(out, s->s, s->len);
	out[s->len] = '\0';
	return 0;
}

static int fstat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ? -errno
									: 0;
}

static void qid_of(const struct stat *st, struct p9_qid *q)
{
	q->type = S_ISDIR(st->st_mode)	 ? P9_QTDIR
		  : S_ISLNK(st->st_mode) ? P9_QTSYMLINK
					 : P9_QTFILE;
	q->version = 0;
	q->path = (uint64_t)st->st_ino;
}

/* The name of @fd in /proc/self/fd. */
static void proc_name(int fd, char buf[16])
{
	snprintf(buf, 16, "%d", fd);
}

/* Reopen fid @f's file with @flags (no O_PATH): a regular file or a
 * directory only, never a link, FIFO or device. */
static int reopen(struct p9_server *s, const struct p9_fid *f, int flags)
{
	char name[16];
	int fd;

	if (!S_ISREG(f->type) && !S_ISDIR(f->type))
		return S_ISLNK(f->type) ? -ELOOP : -EOPNOTSUPP;
	proc_name(f->fd, name);
	fd = openat(s->proc_fd, name, flags | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

/* A directory fid for a name-taking call. */
static int dir_fid(struct p9_server *s, uint32_t fid, struct p9_fid **out)
{
	struct p9_fid *f = fid_get(s, fid);

	if (!f)
		return -EBADF;
	if (!S_ISDIR(f->type))
		return -ENOTDIR;
	*out = f;
	return 0;
}

/* A directory fid and a name in it, for a call that takes both. */
static int dir_and_name(struct p9_server *s, uint32_t dfid,
			const struct p9_str *str, struct p9_fid **d,
			char name[NAME_MAX + 1])
{
	int ret = dir_fid(s, dfid, d);

	return ret ? ret : name_of(str, name);
}

/* An opened fid, for a call on its open file. */
static int open_fid(struct p9_server *s, uint32_t fid, struct p9_fid **out)
{
	struct p9_fid *f = fid_get(s, fid);

	if (!f || f->open_fd < 0)
		return -EBADF;
	*out = f;
	return 0;
}

/* The reply's qid: of @name in @dirfd, just made there. */
static int put_qid_at(struct p9_out *o, int dirfd, const char *name)
{
	struct p9_qid q;
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	qid_of(&st, &q);
	p9_put_qid(o, &q);
	return 0;
}

/* Tread and Treaddir: @offset a file offset, and the bytes of data the
 * reply has room for (count[4] first) in *@count, at most what was asked. */
static int read_room(const struct p9_out *o, uint64_t offset, size_t *count)
{
	size_t room = o->cap - o->off;

	if (offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (room < 4)
		return -ENOBUFS;
	if (*count > room - 4)
		*count = room - 4;
	return 0;
}

/* Protocol open flags to host ones: access, append, truncate, sync;
 * never O_DIRECT (alignment), O_NOATIME (EPERM unless owner), O_ASYNC. */
static int host_flags(uint32_t fl)
{
	int flags = (int)(fl & P9_DOTL_ACCMODE);

	if ((fl & P9_DOTL_ACCMODE) == 3)
		flags = O_RDWR;
	if (fl & P9_DOTL_TRUNC)
		flags |= O_TRUNC;
	if (fl & P9_DOTL_APPEND)
		flags |= O_APPEND;
	if (fl & P9_DOTL_DSYNC)
		flags |= O_DSYNC;
	if (fl & P9_DOTL_SYNC)
		flags |= O_SYNC;
	if (fl & P9_DOTL_EXCL)
		flags |= O_EXCL;
	return flags;
}

static bool writes(uint32_t fl)
{
	return (fl & P9_DOTL_ACCMODE) != P9_DOTL_RDONLY ||
	       (fl & (P9_DOTL_TRUNC | P9_DOTL_APPEND | P9_DOTL_CREATE));
}

/* ---- the operations: 0 with a reply in @o, or -errno ---- */

static int op_version(struct p9_server *s, const struct p9_tmsg *t,
		      struct p9_out *o)
{
	uint32_t msize = t->u.version.msize;

	p9_server_reset(s);
	if (msize < P9_MSIZE_MIN)
		return -EINVAL;
	if (msize > P9_MSIZE_MAX)
		msize = P9_MSIZE_MAX;
	p9_put_u32(o, msize);
	/* "9P2000.L" and any extension of it get 9P2000.L. */
	if (t->u.version.version.len >= strlen(P9_VERSION_L) &&
	    !memcmp(t->u.version.version.s, P9_VERSION_L,
		    strlen(P9_VERSION_L))) {
		s->msize = msize;
		p9_put_str(o, P9_VERSION_L, strlen(P9_VERSION_L));
	} else {
		p9_put_str(o, "unknown", 7);
	}
	return 0;
}

static int op_attach(struct p9_server *s, const struct p9_tmsg *t,
		     struct p9_out *o)
{
	struct p9_fid *f;
	struct p9_qid q;
	struct stat st;
	int ret;

	/* One tree: the share ("" or "/"). */
	if (t->u.attach.aname.len && !p9_str_eq(&t->u.attach.aname, "/"))
		return -ENOENT;
	ret = fid_new(s, t->u.attach.fid, &f);
	if (ret)
		return ret;
	f->fd = fcntl(s->root_fd, F_DUPFD_CLOEXEC, 0);
	if (f->fd < 0 || fstat_fd(f->fd, &st)) {
		ret = -errno;
		fid_free(s, f);
		return ret;
	}
	f->type = st.st_mode & S_IFMT;
	qid_of(&st, &q);
	p9_put_qid(o, &q);
	return 0;
}

static int dup_fd(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return d < 0 ? -errno : d;
}

static int op_walk(struct p9_server *s, const struct p9_tmsg *t,
		   struct p9_out *o)
{
	struct p9_fid *from = fid_get(s, t->u.walk.fid), *nf;
	struct p9_qid qids[P9_MAXWELEM];
	char last[NAME_MAX + 1] = "";
	struct stat st;
	unsigned int n = t->u.walk.nwname, done;
	/* cur: the file reached so far; par: the directory it is in (ours
	 * to close unless it is from->fd). */
	int cur, par = -1, ret = 0;

	if (!from)
		return -EBADF;
	if (t->u.walk.newfid != t->u.walk.fid && fid_get(s, t->u.walk.newfid))
		return -EBADF;
	if (t->u.walk.newfid != t->u.walk.fid && s->nr_fids >= P9_MAX_FIDS)
		return -EMFILE;
	if (n && !S_ISDIR(from->type))
		return -ENOTDIR;
	cur = from->fd;
	st.st_mode = from->type;
	for (done = 0; done < n; done++) {
		char name[NAME_MAX + 1];
		int next;

		ret = name_of(&t->u.walk.wname[done], name);
		if (!ret && !S_ISDIR(st.st_mode))
			ret = -ENOTDIR;
		if (ret)
			break;
		/* One component, no link followed, nothing above cur. */
		next = openat2_confined(cur, name,
					O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
		if (next < 0) {
			ret = next;
			break;
		}
		if (par >= 0 && par != from->fd)
			close(par);
		par = cur;
		cur = next;
		memcpy(last, name, sizeof(name));
		ret = fstat_fd(cur, &st);
		if (ret)
			break;
		qid_of(&st, &qids[done]);
	}
	if (done < n) {
		if (cur != from->fd)
			close(cur);
		if (par >= 0 && par != from->fd)
			close(par);
		if (!done)
			return ret;
		/* A partial walk: the qids so far, no new fid. */
		p9_put_u16(o, (uint16_t)done);
		for (unsigned int i = 0; i < done; i++)
			p9_put_qid(o, &qids[i]);
		return 0;
	}
	if (!n) {
		/* A clone: the same file, found in the same place. */
		cur = dup_fd(from->fd);
		if (cur < 0)
			return cur;
		par = from->parent_fd;
		memcpy(last, from->name, sizeof(last));
	}
	/* The new fid's own copy of a directory from still holds. */
	if (par >= 0 && (par == from->fd || par == from->parent_fd)) {
		par = dup_fd(par);
		if (par < 0) {
			close(cur);
			return par;
		}
	}
	if (t->u.walk.newfid == t->u.walk.fid) {
		fid_close_open(s, from);
		close(from->fd);
		if (from->parent_fd >= 0)
			close(from->parent_fd);
		nf = from;
	} else {
		ret = fid_new(s, t->u.walk.newfid, &nf);
		if (ret) {
			close(cur);
			if (par >= 0)
				close(par);
			return ret;
		}
	}
	nf->fd = cur;
	nf->parent_fd = par;
	memcpy(nf->name, last, sizeof(last));
	nf->type = st.st_mode & S_IFMT;
	p9_put_u16(o, (uint16_t)n);
	for (unsigned int i = 0; i < n; i++)
		p9_put_qid(o, &qids[i]);
	return 0;
}

static int op_getattr(struct p9_server *s, const struct p9_tmsg *t,
		      struct p9_out *o)
{
	struct p9_fid *f = fid_get(s, t->u.getattr.fid);
	struct p9_qid q;
	struct stat st;
	int ret;

	if (!f)
		return -EBADF;
	ret = fstat_fd(f->fd, &st);
	if (ret)
		return ret;
	qid_of(&st, &q);
	p9_put_u64(o, P9_GETATTR_BASIC);
	p9_put_qid(o, &q);
	p9_put_u32(o, st.st_mode);
	p9_put_u32(o, st.st_uid);
	p9_put_u32(o, st.st_gid);
	p9_put_u64(o, st.st_nlink);
	p9_put_u64(o, st.st_rdev);
	p9_put_u64(o, (uint64_t)st.st_size);
	p9_put_u64(o, (uint64_t)st.st_blksize);
	p9_put_u64(o, (uint64_t)st.st_blocks);
	p9_put_u64(o, (uint64_t)st.st_atim.tv_sec);
	p9_put_u64(o, (uint64_t)st.st_atim.tv_nsec);
	p9_put_u64(o, (uint64_t)st.st_mtim.tv_sec);
	p9_put_u64(o, (uint64_t)st.st_mtim.tv_nsec);
	p9_put_u64(o, (uint64_t)st.st_ctim.tv_sec);
	p9_put_u64(o, (uint64_t)st.st_ctim.tv_nsec);
	for (int i = 0; i < 4; i++)
		p9_put_u64(o, 0); /* btime, gen, data_version */
	return 0;
}

static int op_setattr(struct p9_server *s, const struct p9_tmsg *t,
		      struct p9_out *o)
{
	struct p9_fid *f = fid_get(s, t->u.setattr.fid);
	uint32_t v = t->u.setattr.valid;
	char name[16];
	int ret;

	(void)o;
	if (!f)
		return -EBADF;
	if (s->read_only)
		return -EROFS;
	proc_name(f->fd, name);
	/* Through /proc only for files and directories (see reopen()). */
	if ((v & (P9_SETATTR_MODE | P9_SETATTR_SIZE | P9_SETATTR_ATIME |
		  P9_SETATTR_MTIME)) &&
	    !S_ISREG(f->type) && !S_ISDIR(f->type))
		return -EOPNOTSUPP;
	if (v & P9_SETATTR_MODE) {
		if (fchmodat(s->proc_fd, name, t->u.setattr.mode & 07777, 0))
			return -errno;
	}
	if (v & (P9_SETATTR_UID | P9_SETATTR_GID)) {
		uid_t uid = v & P9_SETATTR_UID ? t->u.setattr.uid : (uid_t)-1;
		gid_t gid = v & P9_SETATTR_GID ? t->u.setattr.gid : (gid_t)-1;

		if (fchownat(f->fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -errno;
	}
	if (v & P9_SETATTR_SIZE) {
		int fd;

		if (!S_ISREG(f->type))
			return -EISDIR;
		if (t->u.setattr.size > (uint64_t)INT64_MAX)
			return -EFBIG;
		fd = reopen(s, f, O_WRONLY);
		if (fd < 0)
			return fd;
		ret = ftruncate(fd, (off_t)t->u.setattr.size) ? -errno : 0;
		close(fd);
		if (ret)
			return ret;
	}
	if (v & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT },
					  { .tv_nsec = UTIME_OMIT } };

		if (v & P9_SETATTR_ATIME) {
			ts[0].tv_nsec = UTIME_NOW;
			if (v & P9_SETATTR_ATIME_SET) {
				if (t->u.setattr.atime_nsec >= 1000000000ULL)
					return -EINVAL;
				ts[0].tv_sec = (time_t)t->u.setattr.atime_sec;
				ts[0].tv_nsec = (long)t->u.setattr.atime_nsec;
			}
		}
		if (v & P9_SETATTR_MTIME) {
			ts[1].tv_nsec = UTIME_NOW;
			if (v & P9_SETATTR_MTIME_SET) {
				if (t->u.setattr.mtime_nsec >= 1000000000ULL)
					return -EINVAL;
				ts[1].tv_sec = (time_t)t->u.setattr.mtime_sec;
				ts[1].tv_nsec = (long)t->u.setattr.mtime_nsec;
			}
		}
		if (utimensat(s->proc_fd, name, ts, 0))
			return -errno;
	}
	return 0;
}

static int op_lopen(struct p9_server *s, const struct p9_tmsg *t,
		    struct p9_out *o)
{
	struct p9_fid *f = fid_get(s, t->u.lopen.fid);
	uint32_t fl = t->u.lopen.flags & ~P9_DOTL_CREATE;
	struct p9_qid q;
	struct stat st;
	int fd, flags, ret;

	if (!f)
		return -EBADF;
	if (f->open_fd >= 0)
		return -EBUSY;
	if (s->read_only && writes(fl))
		return -EROFS;
	if (s->nr_open >= P9_MAX_OPEN)
		return -ENFILE;
	flags = host_flags(fl) & ~O_EXCL;
	if (S_ISDIR(f->type)) {
		if ((flags & O_ACCMODE) != O_RDONLY)
			return -EISDIR;
		flags = O_RDONLY | O_DIRECTORY;
	}
	/* The file is already there: the worker never blocks on a FIFO
	 * (reopen() refuses them) and never follows a link. */
	fd = reopen(s, f, flags);
	if (fd < 0)
		return fd;
	ret = fstat_fd(fd, &st);
	if (ret) {
		close(fd);
		return ret;
	}
	f->open_fd = fd;
	s->nr_open++;
	qid_of(&st, &q);
	p9_put_qid(o, &q);
	p9_put_u32(o, 0); /* iounit: msize decides */
	return 0;
}

static int op_lcreate(struct p9_server *s, const struct p9_tmsg *t,
		      struct p9_out *o)
{
	char name[NAME_MAX + 1];
	struct p9_fid *d;
	struct p9_qid q;
	struct stat st;
	int fd, flags, ret;

	ret = dir_and_name(s, t->u.lcreate.fid, &t->u.lcreate.name, &d, name);
	if (ret)
		return ret;
	if (d->open_fd >= 0)
		return -EBUSY;
	if (s->read_only)
		return -EROFS;
	if (s->nr_open >= P9_MAX_OPEN)
		return -ENFILE;
	flags = host_flags(t->u.lcreate.flags);
	/* Created here, or (without O_EXCL) an existing regular file,
	 * reopened as Tlopen does: never a FIFO or device opened. */
	fd = openat2_confined(d->fd, name,
			      (uint64_t)(flags | O_CREAT | O_EXCL | O_NOFOLLOW |
					 O_CLOEXEC | O_NOCTTY),
			      t->u.lcreate.mode & 07777);
	if (fd == -EEXIST && !(flags & O_EXCL)) {
		struct p9_fid tmp = { .open_fd = -1 };

		tmp.fd = openat2_confined(d->fd, name,
					  O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
		if (tmp.fd < 0)
			return tmp.fd;
		ret = fstat_fd(tmp.fd, &st);
		if (!ret && !S_ISREG(st.st_mode))
			ret = S_ISDIR(st.st_mode) ? -EISDIR : -EEXIST;
		tmp.type = S_IFREG;
		fd = ret ? ret : reopen(s, &tmp, flags);
		close(tmp.fd);
	}
	if (fd < 0)
		return fd;
	ret = fstat_fd(fd, &st);
	if (ret || !S_ISREG(st.st_mode)) {
		close(fd);
		return ret ? ret : -EEXIST;
	}
	/* The fid now names the new file, open, found in the directory. */
	if (d->parent_fd >= 0)
		close(d->parent_fd);
	d->parent_fd = d->fd;
	memcpy(d->name, name, sizeof(name));
	d->fd = fd;
	d->open_fd = fd;
	d->type = S_IFREG;
	s->nr_open++;
	qid_of(&st, &q);
	p9_put_qid(o, &q);
	p9_put_u32(o, 0);
	return 0;
}

static int op_read(struct p9_server *s, const struct p9_tmsg *t,
		   struct p9_out *o)
{
	struct p9_fid *f;
	size_t count = t->u.read.count;
	uint8_t *data;
	ssize_t n;
	int ret = open_fid(s, t->u.read.fid, &f);

	if (!ret)
		ret = read_room(o, t->u.read.offset, &count);
	if (ret)
		return ret;
	p9_put_u32(o, 0);
	data = o->p + o->off;
	n = pread(f->open_fd, data, count, (off_t)t->u.read.offset);
	if (n < 0)
		return -errno;
	le_put(data - 4, 4, (uint64_t)n);
	o->off += (size_t)n;
	STAT_ADD(s, read_bytes, n);
	return 0;
}

static int op_write(struct p9_server *s, const struct p9_tmsg *t,
		    struct p9_out *o)
{
	struct p9_fid *f = fid_get(s, t->u.write.fid);
	ssize_t n;

	if (!f)
		return -EBADF;
	if (s->read_only)
		return -EROFS;
	if (f->open_fd < 0)
		return -EBADF;
	if (t->u.write.offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	n = pwrite(f->open_fd, t->u.write.data, t->u.write.count,
		   (off_t)t->u.write.offset);
	if (n < 0)
		return -errno;
	STAT_ADD(s, written_bytes, n);
	p9_put_u32(o, (uint32_t)n);
	return 0;
}

/* What getdents64() fills in. */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int op_readdir(struct p9_server *s, const struct p9_tmsg *t,
		      struct p9_out *o)
{
	struct p9_fid *f;
	size_t count = t->u.read.count, used = 0;
	uint8_t *countp;
	char buf[8192] __attribute__((aligned(8)));
	bool full = false;
	int ret = open_fid(s, t->u.read.fid, &f);

	if (!ret && !S_ISDIR(f->type))
		ret = -EBADF;
	if (!ret)
		ret = read_room(o, t->u.read.offset, &count);
	if (ret)
		return ret;
	if (lseek(f->open_fd, (off_t)t->u.read.offset, SEEK_SET) < 0)
		return -errno;
	countp = p9_put_reserve(o, 4);
	while (!full) {
		ssize_t n = getdents64(f->open_fd, buf, sizeof(buf));

		if (n < 0) {
			if (!used)
				return -errno;
			break;
		}
		if (!n)
			break;
		for (ssize_t pos = 0; pos < n;) {
			const struct linux_dirent64 *e =
				(const struct linux_dirent64 *)(buf + pos);
			size_t len = strlen(e->d_name);
			struct p9_qid q = {
				.type = e->d_type == DT_DIR   ? P9_QTDIR
					: e->d_type == DT_LNK ? P9_QTSYMLINK
							      : P9_QTFILE,
				.path = e->d_ino,
			};

			if (used + P9_DIRENT_SIZE(len) > count) {
				full = true;
				break;
			}
			p9_put_qid(o, &q);
			p9_put_u64(o, (uint64_t)e->d_off);
			p9_put_u8(o, e->d_type);
			p9_put_str(o, e->d_name, len);
			used += P9_DIRENT_SIZE(len);
			pos += e->d_reclen;
		}
	}
	le_put(countp, 4, used);
	return 0;
}

static int op_mkdir(struct p9_server *s, const struct p9_tmsg *t,
		    struct p9_out *o)
{
	char name[NAME_MAX + 1];
	struct p9_fid *d;
	int ret;

	ret = dir_and_name(s, t->u.mkdir.dfid, &t->u.mkdir.name, &d, name);
	if (ret)
		return ret;
	if (s->read_only)
		return -EROFS;
	if (mkdirat(d->fd, name, t->u.mkdir.mode & 07777))
		return -errno;
	return put_qid_at(o, d->fd, name);
}

static int op_symlink(struct p9_server *s, const struct p9_tmsg *t,
		      struct p9_out *o)
{
	char name[NAME_MAX + 1], *target;
	struct p9_fid *d;
	int ret;

	ret = dir_and_name(s, t->u.symlink.dfid, &t->u.symlink.name, &d, name);
	if (ret)
		return ret;
	if (s->read_only)
		return -EROFS;
	if (!t->u.symlink.target.len)
		return -ENOENT;
	if (t->u.symlink.target.len >= PATH_MAX)
		return -ENAMETOOLONG;
	/* Any target: the host never follows it (see p9_server.h). */
	target = strndup(t->u.symlink.target.s, t->u.symlink.target.len);
	if (!target)
		return -ENOMEM;
	ret = symlinkat(target, d->fd, name) ? -errno : 0;
	free(target);
	return ret ? ret : put_qid_at(o, d->fd, name);
}

static int op_readlink(struct p9_server *s, const struct p9_tmsg *t,
		       struct p9_out *o)
{
	struct p9_fid *f = fid_get(s, t->u.fid.fid);
	char buf[PATH_MAX];
	ssize_t n;

	if (!f)
		return -EBADF;
	if (!S_ISLNK(f->type))
		return -EINVAL;
	n = readlinkat(f->fd, "", buf, sizeof(buf));
	if (n < 0)
		return -errno;
	p9_put_str(o, buf, (size_t)n);
	return 0;
}

static int op_link(struct p9_server *s, const struct p9_tmsg *t,
		   struct p9_out *o)
{
	char name[NAME_MAX + 1], src[16];
	struct p9_fid *d, *f;
	int ret;

	(void)o;
	ret = dir_and_name(s, t->u.link.dfid, &t->u.link.name, &d, name);
	if (ret)
		return ret;
	f = fid_get(s, t->u.link.fid);
	if (!f)
		return -EBADF;
	if (s->read_only)
		return -EROFS;
	if (S_ISDIR(f->type))
		return -EPERM;
	if (S_ISLNK(f->type)) {
		/* The link itself (needs CAP_DAC_READ_SEARCH). */
		if (linkat(f->fd, "", d->fd, name, AT_EMPTY_PATH))
			return -errno;
		return 0;
	}
	/* The inode the fid holds (its /proc magic link), not a path. */
	proc_name(f->fd, src);
	if (linkat(s->proc_fd, src, d->fd, name, AT_SYMLINK_FOLLOW))
		return -errno;
	return 0;
}

static int op_unlinkat(struct p9_server *s, const struct p9_tmsg *t,
		       struct p9_out *o)
{
	char name[NAME_MAX + 1];
	struct p9_fid *d;
	int ret;

	(void)o;
	ret = dir_and_name(s, t->u.unlinkat.dfid, &t->u.unlinkat.name, &d,
			   name);
	if (ret)
		return ret;
	if (s->read_only)
		return -EROFS;
	if (unlinkat(d->fd, name,
		     t->u.unlinkat.flags & P9_DOTL_AT_REMOVEDIR ? AT_REMOVEDIR
								: 0))
		return -errno;
	return 0;
}

static int op_renameat(struct p9_server *s, const struct p9_tmsg *t,
		       struct p9_out *o)
{
	char oldname[NAME_MAX + 1], newname[NAME_MAX + 1];
	struct p9_fid *od, *nd;
	int ret;

	(void)o;
	ret = dir_fid(s, t->u.renameat.olddfid, &od);
	if (!ret)
		ret = dir_fid(s, t->u.renameat.newdfid, &nd);
	if (!ret)
		ret = name_of(&t->u.renameat.oldname, oldname);
	if (!ret)
		ret = name_of(&t->u.renameat.newname, newname);
	if (ret)
		return ret;
	if (s->read_only)
		return -EROFS;
	if (renameat(od->fd, oldname, nd->fd, newname))
		return -errno;
	return 0;
}

static int op_statfs(struct p9_server *s, const struct p9_tmsg *t,
		     struct p9_out *o)
{
	struct p9_fid *f = fid_get(s, t->u.fid.fid);
	struct statfs sf;

	if (!f)
		return -EBADF;
	if (fstatfs(f->fd, &sf))
		return -errno;
	p9_put_u32(o, (uint32_t)sf.f_type);
	p9_put_u32(o, (uint32_t)sf.f_bsize);
	p9_put_u64(o, sf.f_blocks);
	p9_put_u64(o, sf.f_bfree);
	p9_put_u64(o, sf.f_bavail);
	p9_put_u64(o, sf.f_files);
	p9_put_u64(o, sf.f_ffree);
	p9_put_u64(o, (uint64_t)(uint32_t)sf.f_fsid.__val[0] |
			      (uint64_t)(uint32_t)sf.f_fsid.__val[1] << 32);
	p9_put_u32(o, (uint32_t)sf.f_namelen);
	return 0;
}

static int op_fsync(struct p9_server *s, const struct p9_tmsg *t,
		    struct p9_out *o)
{
	struct p9_fid *f;
	int ret = open_fid(s, t->u.fid.fid, &f);

	(void)o;
	if (ret)
		return ret;
	if (t->u.fid.datasync ? fdatasync(f->open_fd) : fsync(f->open_fd))
		return -errno;
	return 0;
}

static int op_lock(struct p9_server *s, const struct p9_tmsg *t,
		   struct p9_out *o)
{
	if (!fid_get(s, t->u.lock.fid))
		return -EBADF;
	if (t->u.lock.type > P9_LOCK_TYPE_UNLCK)
		return -EINVAL;
	if (t->type == P9_TLOCK) {
		p9_put_u8(o, P9_LOCK_SUCCESS);
		return 0;
	}
	p9_put_u8(o, P9_LOCK_TYPE_UNLCK);
	p9_put_u64(o, t->u.lock.start);
	p9_put_u64(o, t->u.lock.length);
	p9_put_u32(o, t->u.lock.proc_id);
	p9_put_str(o, t->u.lock.client_id.s, t->u.lock.client_id.len);
	return 0;
}

static int op_clunk(struct p9_server *s, const struct p9_tmsg *t,
		    struct p9_out *o)
{
	struct p9_fid *f = fid_get(s, t->u.fid.fid);

	(void)o;
	if (!f)
		return -EBADF;
	fid_free(s, f);
	return 0;
}

/* Does fid @f's name in its directory still name its file? (A rename
 * by name may have moved it: the name is then stale.) */
static int still_named(const struct p9_fid *f)
{
	struct stat a, b;
	int ret;

	if (f->parent_fd < 0)
		return -EBUSY; /* the root */
	if (fstatat(f->parent_fd, f->name, &a, AT_SYMLINK_NOFOLLOW))
		return -errno;
	ret = fstat_fd(f->fd, &b);
	if (ret)
		return ret;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino ? 0 : -ENOENT;
}

/* Trename: fid's file to @dfid/@name; the fid follows it. */
static int op_rename(struct p9_server *s, const struct p9_tmsg *t,
		     struct p9_out *o)
{
	struct p9_fid *f = fid_get(s, t->u.rename.fid), *d;
	char name[NAME_MAX + 1];
	int ret, np;

	(void)o;
	if (!f)
		return -EBADF;
	ret = dir_and_name(s, t->u.rename.dfid, &t->u.rename.name, &d, name);
	if (ret)
		return ret;
	if (s->read_only)
		return -EROFS;
	ret = still_named(f);
	if (ret)
		return ret;
	np = dup_fd(d->fd);
	if (np < 0)
		return np;
	/* Single names in directories reached confined: nothing followed. */
	if (renameat(f->parent_fd, f->name, d->fd, name)) {
		ret = -errno;
		close(np);
		return ret;
	}
	close(f->parent_fd);
	f->parent_fd = np;
	memcpy(f->name, name, sizeof(name));
	return 0;
}

static int op_remove(struct p9_server *s, const struct p9_tmsg *t,
		     struct p9_out *o)
{
	struct p9_fid *f = fid_get(s, t->u.fid.fid);
	int ret;

	(void)o;
	if (!f)
		return -EBADF;
	ret = s->read_only ? -EROFS : still_named(f);
	if (!ret && unlinkat(f->parent_fd, f->name,
			     S_ISDIR(f->type) ? AT_REMOVEDIR : 0))
		ret = -errno;
	/* Clunked whatever happened (the protocol says so). */
	fid_free(s, f);
	return ret;
}

static int op_refused(struct p9_server *s, const struct p9_tmsg *t,
		      struct p9_out *o)
{
	(void)o;
	switch (t->type) {
	case P9_TMKNOD:
		return s->read_only ? -EROFS : -EPERM;
	case P9_TXATTRCREATE:
		return s->read_only ? -EROFS : -EOPNOTSUPP;
	default:
		return -EOPNOTSUPP; /* Tauth, Txattrwalk */
	}
}

static int op_flush(struct p9_server *s, const struct p9_tmsg *t,
		    struct p9_out *o)
{
	/* Every request is answered before the next is read: nothing is
	 * in flight to cancel. */
	(void)s;
	(void)t;
	(void)o;
	return 0;
}

typedef int (*p9_op)(struct p9_server *s, const struct p9_tmsg *t,
		     struct p9_out *o);

static p9_op op_for(uint8_t type)
{
	switch (type) {
	case P9_TVERSION:
		return op_version;
	case P9_TATTACH:
		return op_attach;
	case P9_TWALK:
		return op_walk;
	case P9_TGETATTR:
		return op_getattr;
	case P9_TSETATTR:
		return op_setattr;
	case P9_TLOPEN:
		return op_lopen;
	case P9_TLCREATE:
		return op_lcreate;
	case P9_TREAD:
		return op_read;
	case P9_TWRITE:
		return op_write;
	case P9_TREADDIR:
		return op_readdir;
	case P9_TMKDIR:
		return op_mkdir;
	case P9_TSYMLINK:
		return op_symlink;
	case P9_TREADLINK:
		return op_readlink;
	case P9_TLINK:
		return op_link;
	case P9_TUNLINKAT:
		return op_unlinkat;
	case P9_TRENAMEAT:
		return op_renameat;
	case P9_TSTATFS:
		return op_statfs;
	case P9_TFSYNC:
		return op_fsync;
	case P9_TLOCK:
	case P9_TGETLOCK:
		return op_lock;
	case P9_TCLUNK:
		return op_clunk;
	case P9_TREMOVE:
		return op_remove;
	case P9_TRENAME:
		return op_rename;
	case P9_TFLUSH:
		return op_flush;
	default:
		return op_refused;
	}
}

size_t p9_server_handle(struct p9_server *s, const uint8_t *req, size_t len,
			uint8_t *resp, size_t cap)
{
	struct p9_tmsg t;
	struct p9_out o;
	size_t n;
	int ret;

	ret = p9_parse(req, len, &t);
	if (ret == -EBADMSG)
		return 0;
	STAT_ADD(s, requests, 1);
	if (s->msize && cap > s->msize)
		cap = s->msize;
	if (ret)
		goto fail;
	if (s->msize && t.size > s->msize) {
		ret = -EMSGSIZE;
		goto fail;
	}
	if (!s->msize && t.type != P9_TVERSION) {
		ret = -EPROTO; /* Tversion first */
		goto fail;
	}
	p9_out_begin(&o, resp, cap, (uint8_t)(t.type + 1), t.tag);
	ret = op_for(t.type)(s, &t, &o);
	if (ret)
		goto fail;
	n = p9_out_finish(&o);
	if (n)
		return n;
	ret = -ENOBUFS; /* the guest offered too little room */
fail:
	STAT_ADD(s, errors, 1);
	return p9_put_lerror(resp, cap, t.tag, (uint32_t)-ret);
}
