/*
 * Unit tests for virtio-9p: the 9P2000.L parser (short, lying and
 * malformed messages), the server's operations on a real directory, its
 * confinement (crafted walks, symlinks to /etc and out of the share, ".."
 * at the root, a directory renamed under a walk), ro=on, the fid and
 * open-file bounds, and the device through its virtqueue. No /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest_mem.h"
#include "p9_client.h"
#include "unit.h"
#include "util.h"
#include "virtio/p9.h"
#include "virtio/p9_proto.h"
#include "virtio/p9_server.h"
#include "virtio_driver.h"

#define HELLO "hello from the host\n"

static char top[PATH_MAX / 2], share[PATH_MAX];
static struct p9_server srv;
static struct p9c c;
static uint8_t resp[P9_MSIZE_MAX];
static char err[256];

static void put_file(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX * 2];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void in_share(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", share, name);
}

/*
 * top/outside/secret, and the share top/share with hello.txt,
 * sub/inner.txt, etc -> /etc, up -> .., secret -> ../outside/secret,
 * proc -> /proc/self/root.
 */
static void make_tree(void)
{
	const char *tmp = getenv("TMPDIR");
	char p[PATH_MAX * 2];

	snprintf(top, sizeof(top), "%s/p9test.XXXXXX", tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(share, sizeof(share), "%s/share", top);
	snprintf(p, sizeof(p), "%s/outside", top);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	put_file(p, "secret", "SECRET\n");
	ck_assert_int_eq(mkdir(share, 0755), 0);
	put_file(share, "hello.txt", HELLO);
	in_share(p, sizeof(p), "sub");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	put_file(p, "inner.txt", "inner\n");
	in_share(p, sizeof(p), "etc");
	ck_assert_int_eq(symlink("/etc", p), 0);
	in_share(p, sizeof(p), "up");
	ck_assert_int_eq(symlink("..", p), 0);
	in_share(p, sizeof(p), "secret");
	ck_assert_int_eq(symlink("../outside/secret", p), 0);
	in_share(p, sizeof(p), "proc");
	ck_assert_int_eq(symlink("/proc/self/root", p), 0);
}

static void rm_tree(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
}

/* Send c's message; the reply's length. */
static size_t rpc_cap(size_t len, size_t cap)
{
	memset(resp, 0xa5, 64);
	return p9_server_handle(&srv, c.buf, len, resp, cap);
}

static size_t rpc(size_t len)
{
	return rpc_cap(len, sizeof(resp));
}

/* Expect Rlerror @e. */
static void expect_err(size_t len, uint32_t e)
{
	size_t n = rpc(len);

	ck_assert_uint_eq(n, 11);
	ck_assert_uint_eq(p9r_type(resp), P9_RLERROR);
	ck_assert_uint_eq(p9r_ecode(resp), e);
}

/* Expect reply type @type; its length. */
static size_t expect_ok(size_t len, uint8_t type)
{
	size_t n = rpc(len);

	ck_assert_uint_ge(n, 7);
	ck_assert_msg(p9r_type(resp) == type, "reply %u (error %u), want %u",
		      p9r_type(resp), p9r_ecode(resp), type);
	ck_assert_uint_eq(le_get(resp, 4), n);
	return n;
}

/* A session: version and attach as fid 0. */
static void up(bool ro)
{
	make_tree();
	ck_assert_int_eq(p9_server_init(&srv, share, ro, err, sizeof(err)), 0);
	expect_ok(p9c_version(&c, 65536, "9P2000.L"), P9_RVERSION);
	ck_assert_uint_eq(le_get(resp + 7, 4), 65536);
	expect_ok(p9c_attach(&c, 0), P9_RATTACH);
	ck_assert_uint_eq(resp[7], P9_QTDIR);
}

static void down(void)
{
	p9_server_destroy(&srv);
	rm_tree();
}

/* Walk fid 0 to @newfid through "a/b/c" (split here); Rwalk's count. */
static unsigned int walk(uint32_t newfid, const char *path)
{
	char copy[256], *save = NULL;
	const char *names[P9_MAXWELEM];
	unsigned int n = 0;
	size_t len;

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *t = strtok_r(copy, "/", &save); t;
	     t = strtok_r(NULL, "/", &save))
		names[n++] = t;
	len = p9c_walk(&c, 0, newfid, n, names);
	if (rpc(len) && p9r_type(resp) == P9_RWALK)
		return (unsigned int)le_get(resp + 7, 2);
	return 0;
}

static bool fid_exists(uint32_t fid)
{
	return rpc(p9c_getattr(&c, fid)) && p9r_type(resp) == P9_RGETATTR;
}

/* Read all of fid's file (opened) into @buf. */
static size_t read_all(uint32_t fid, char *buf, size_t len)
{
	size_t n = expect_ok(p9c_read(&c, P9_TREAD, fid, 0, (uint32_t)len),
			     P9_RREAD);
	uint32_t count = (uint32_t)le_get(resp + 7, 4);

	ck_assert_uint_eq(n, 11 + count);
	memcpy(buf, resp + 11, count);
	return count;
}

/* ---- the parser ---- */

START_TEST(parse_short_and_lying)
{
	struct p9_tmsg t;
	size_t len;

	/* Fewer bytes than a header: nothing to answer. */
	ck_assert_int_eq(p9_parse((const uint8_t *)"\x07\0\0\0d", 5, &t),
			 -EBADMSG);
	len = p9c_version(&c, 8192, "9P2000.L");
	ck_assert_int_eq(p9_parse(c.buf, len, &t), 0);
	ck_assert_uint_eq(t.u.version.msize, 8192);
	ck_assert(p9_str_eq(&t.u.version.version, "9P2000.L"));
	/* The size says more than came, or less than a header. */
	ck_assert_int_eq(p9_parse(c.buf, len - 1, &t), -EINVAL);
	ck_assert_uint_eq(t.tag, P9_NOTAG);
	le_put(c.buf, 4, 6);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), -EINVAL);
	/* A size cutting the string short. */
	le_put(c.buf, 4, len - 2);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), -EINVAL);
	/* A string's length beyond the message. */
	len = p9c_version(&c, 8192, "9P2000.L");
	le_put(c.buf + 11, 2, 200);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), -EINVAL);
	/* Bytes after the last field are another client's extension. */
	len = p9c_fid(&c, P9_TCLUNK, 5);
	c.buf[len] = 1;
	le_put(c.buf, 4, len + 1);
	ck_assert_int_eq(p9_parse(c.buf, len + 1, &t), 0);
	ck_assert_uint_eq(t.u.fid.fid, 5);
}
END_TEST

START_TEST(parse_fields)
{
	const char *names[P9_MAXWELEM + 1];
	struct p9_tmsg t;
	size_t len;

	for (int i = 0; i <= P9_MAXWELEM; i++)
		names[i] = "x";
	len = p9c_walk(&c, 1, 2, P9_MAXWELEM, names);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), 0);
	ck_assert_uint_eq(t.u.walk.nwname, P9_MAXWELEM);
	len = p9c_walk(&c, 1, 2, P9_MAXWELEM + 1, names);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), -EINVAL);
	/* A NUL inside a name. */
	len = p9c_walk(&c, 1, 2, 1, (const char *[]){ "ab" });
	c.buf[len - 1] = '\0';
	ck_assert_int_eq(p9_parse(c.buf, len, &t), -EINVAL);
	/* Twrite's count beyond the data that came. */
	len = p9c_write(&c, 1, 0, "abcd", 4);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), 0);
	ck_assert_uint_eq(t.u.write.count, 4);
	ck_assert_int_eq(memcmp(t.u.write.data, "abcd", 4), 0);
	le_put(c.buf + 7 + 12, 4, 5);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), -EINVAL);
	le_put(c.buf + 7 + 12, 4, 0xffffffffu);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), -EINVAL);
	/* Tfsync with and without datasync. */
	len = p9c_fsync(&c, 3);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), 0);
	len = p9c_fid(&c, P9_TFSYNC, 3);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), 0);
	ck_assert_uint_eq(t.u.fid.fid, 3);
	/* Unknown types, and R-messages, are not requests. */
	p9c_begin(&c, 200, 1);
	ck_assert_int_eq(p9_parse(c.buf, p9c_end(&c), &t), -EOPNOTSUPP);
	p9c_begin(&c, P9_RREAD, 1);
	ck_assert_int_eq(p9_parse(c.buf, p9c_end(&c), &t), -EOPNOTSUPP);
	/* Tlock and Tgetlock. */
	len = p9c_lock(&c, P9_TLOCK, 9);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), 0);
	ck_assert_uint_eq(t.u.lock.proc_id, 42);
	ck_assert(p9_str_eq(&t.u.lock.client_id, "guest"));
	len = p9c_lock(&c, P9_TGETLOCK, 9);
	ck_assert_int_eq(p9_parse(c.buf, len, &t), 0);
	ck_assert_uint_eq(t.u.lock.length, 100);
}
END_TEST

/* ---- the server ---- */

START_TEST(version_and_msize)
{
	make_tree();
	ck_assert_int_eq(p9_server_init(&srv, share, false, err, sizeof(err)),
			 0);
	/* Nothing before Tversion. */
	expect_err(p9c_attach(&c, 0), EPROTO);
	expect_ok(p9c_version(&c, 1u << 30, "9P2000.L"), P9_RVERSION);
	ck_assert_uint_eq(le_get(resp + 7, 4), P9_MSIZE_MAX);
	expect_ok(p9c_version(&c, 8192, "9P2000.u"), P9_RVERSION);
	ck_assert_int_eq(memcmp(resp + 13, "unknown", 7), 0);
	expect_err(p9c_attach(&c, 0), EPROTO);
	expect_err(p9c_version(&c, 100, "9P2000.L"), EINVAL);
	expect_ok(p9c_version(&c, 8192, "9P2000.L"), P9_RVERSION);
	expect_ok(p9c_attach(&c, 0), P9_RATTACH);
	/* A message larger than msize. */
	p9c_begin(&c, P9_TCLUNK, 1);
	p9c_u32(&c, 0);
	c.o.off = 9000;
	expect_err(p9c_end(&c), EMSGSIZE);
	/* A read never overflows the room given, nor msize. */
	ck_assert_uint_eq(walk(1, "hello.txt"), 1);
	expect_ok(p9c_lopen(&c, 1, P9_DOTL_RDONLY), P9_RLOPEN);
	ck_assert_uint_eq(rpc_cap(p9c_read(&c, P9_TREAD, 1, 0, 1u << 20), 15),
			  15);
	ck_assert_uint_eq(le_get(resp + 7, 4), 4);
	ck_assert_int_eq(memcmp(resp + 11, "hell", 4), 0);
	/* No room even for Rlerror: no reply. */
	ck_assert_uint_eq(rpc_cap(p9c_fid(&c, P9_TCLUNK, 77), 10), 0);
	/* Room for Rlerror, not for Rgetattr. */
	ck_assert_uint_eq(rpc_cap(p9c_getattr(&c, 1), 40), 11);
	ck_assert_uint_eq(p9r_ecode(resp), ENOBUFS);
	down();
}
END_TEST

START_TEST(files_and_dirs)
{
	char buf[256], p[PATH_MAX * 2];
	struct stat st;
	size_t n;
	bool seen_hello = false, seen_sub = false;

	up(false);
	/* Read a file. */
	ck_assert_uint_eq(walk(1, "hello.txt"), 1);
	expect_ok(p9c_lopen(&c, 1, P9_DOTL_RDONLY), P9_RLOPEN);
	n = read_all(1, buf, sizeof(buf));
	ck_assert_uint_eq(n, strlen(HELLO));
	ck_assert_int_eq(memcmp(buf, HELLO, n), 0);
	expect_ok(p9c_getattr(&c, 1), P9_RGETATTR);
	ck_assert_uint_eq(le_get(resp + 7 + 8 + 13 + 4 + 4 + 4 + 8 + 8, 8),
			  strlen(HELLO));
	expect_ok(p9c_fsync(&c, 1), P9_RFSYNC);
	expect_ok(p9c_fid(&c, P9_TCLUNK, 1), P9_RCLUNK);
	expect_err(p9c_fid(&c, P9_TCLUNK, 1), EBADF);

	/* Create and write one. */
	ck_assert_uint_eq(walk(2, "sub"), 1);
	expect_ok(p9c_lcreate(&c, 2, "new.txt", P9_DOTL_RDWR, 0644),
		  P9_RLCREATE);
	expect_ok(p9c_write(&c, 2, 0, "written", 7), P9_RWRITE);
	ck_assert_uint_eq(le_get(resp + 7, 4), 7);
	expect_ok(p9c_fid(&c, P9_TCLUNK, 2), P9_RCLUNK);
	in_share(p, sizeof(p), "sub/new.txt");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_size, 7);
	/* Truncate and chmod it by fid. */
	ck_assert_uint_eq(walk(3, "sub/new.txt"), 2);
	expect_ok(
		p9c_setattr(&c, 3, P9_SETATTR_SIZE | P9_SETATTR_MODE, 0600, 3),
		P9_RSETATTR);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_size, 3);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	expect_ok(p9c_fid(&c, P9_TCLUNK, 3), P9_RCLUNK);

	/* mkdir, rename, link, symlink, readlink, unlink. */
	expect_ok(p9c_mkdir(&c, 0, "made"), P9_RMKDIR);
	ck_assert_uint_eq(resp[7], P9_QTDIR);
	ck_assert_uint_eq(walk(4, "sub"), 1);
	expect_ok(p9c_renameat(&c, 4, "new.txt", 0, "moved.txt"), P9_RRENAMEAT);
	in_share(p, sizeof(p), "moved.txt");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(walk(5, "moved.txt"), 1);
	expect_ok(p9c_link(&c, 4, 5, "hard.txt"), P9_RLINK);
	in_share(p, sizeof(p), "sub/hard.txt");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 2);
	expect_ok(p9c_symlink(&c, 4, "sl", "../hello.txt"), P9_RSYMLINK);
	ck_assert_uint_eq(resp[7], P9_QTSYMLINK);
	ck_assert_uint_eq(walk(6, "sub/sl"), 2);
	n = expect_ok(p9c_fid(&c, P9_TREADLINK, 6), P9_RREADLINK);
	ck_assert_uint_eq(le_get(resp + 7, 2), strlen("../hello.txt"));
	ck_assert_int_eq(memcmp(resp + 9, "../hello.txt", 12), 0);
	expect_ok(p9c_unlinkat(&c, 4, "hard.txt", 0), P9_RUNLINKAT);
	expect_ok(p9c_unlinkat(&c, 0, "made", P9_DOTL_AT_REMOVEDIR),
		  P9_RUNLINKAT);
	expect_err(p9c_unlinkat(&c, 0, "made", P9_DOTL_AT_REMOVEDIR), ENOENT);

	/* Readdir the root. */
	ck_assert_uint_eq(walk(7, ""), 0);
	expect_ok(p9c_lopen(&c, 7, P9_DOTL_RDONLY), P9_RLOPEN);
	n = expect_ok(p9c_read(&c, P9_TREADDIR, 7, 0, 8192), P9_RREADDIR);
	for (size_t off = 11; off < n;) {
		size_t len = le_get(resp + off + 22, 2);

		if (len == 9 && !memcmp(resp + off + 24, "hello.txt", 9))
			seen_hello = true;
		if (len == 3 && !memcmp(resp + off + 24, "sub", 3))
			seen_sub = true;
		off += P9_DIRENT_SIZE(len);
	}
	ck_assert(seen_hello && seen_sub);
	/* A count too small for any entry: none, not a torn one. */
	expect_ok(p9c_read(&c, P9_TREADDIR, 7, 0, 10), P9_RREADDIR);
	ck_assert_uint_eq(le_get(resp + 7, 4), 0);

	/* statfs, locks, flush, refusals. */
	expect_ok(p9c_fid(&c, P9_TSTATFS, 0), P9_RSTATFS);
	expect_ok(p9c_lock(&c, P9_TLOCK, 7), P9_RLOCK);
	ck_assert_uint_eq(resp[7], P9_LOCK_SUCCESS);
	expect_ok(p9c_lock(&c, P9_TGETLOCK, 7), P9_RGETLOCK);
	ck_assert_uint_eq(resp[7], P9_LOCK_TYPE_UNLCK);
	expect_ok(p9c_flush(&c, 3), P9_RFLUSH);
	expect_err(p9c_mknod(&c, 0, "fifo"), EPERM);
	in_share(p, sizeof(p), "fifo");
	ck_assert_int_ne(lstat(p, &st), 0);
	expect_err(p9c_xattrwalk(&c, 0, 30, "user.x"), EOPNOTSUPP);
	ck_assert(!fid_exists(30));
	expect_err(p9c_xattrcreate(&c, 5, "user.x"), EOPNOTSUPP);
	down();
}
END_TEST

/* ---- confinement ---- */

START_TEST(walks_stay_inside)
{
	const char *names[3];

	up(false);
	/* ".." at the root, ".", '/' in a name, an empty name. */
	names[0] = "..";
	expect_err(p9c_walk(&c, 0, 1, 1, names), EINVAL);
	names[0] = ".";
	expect_err(p9c_walk(&c, 0, 1, 1, names), EINVAL);
	names[0] = "sub/../..";
	expect_err(p9c_walk(&c, 0, 1, 1, names), EINVAL);
	names[0] = "";
	expect_err(p9c_walk(&c, 0, 1, 1, names), EINVAL);
	/* ".." below the root too: Linux never sends it. */
	names[0] = "sub";
	names[1] = "..";
	names[2] = "..";
	ck_assert_uint_eq(rpc(p9c_walk(&c, 0, 1, 3, names)), 9 + 13);
	ck_assert_uint_eq(p9r_type(resp), P9_RWALK);
	ck_assert_uint_eq(le_get(resp + 7, 2), 1);
	ck_assert(!fid_exists(1));

	/* Symlinks are walked to, never through. */
	ck_assert_uint_eq(walk(2, "etc/passwd"), 1);
	ck_assert(!fid_exists(2));
	ck_assert_uint_eq(walk(2, "up/outside/secret"), 1);
	ck_assert(!fid_exists(2));
	ck_assert_uint_eq(walk(2, "proc/etc"), 1);
	ck_assert(!fid_exists(2));
	/* The link itself is a fid: a symlink qid, and opening it follows
	 * nothing. */
	ck_assert_uint_eq(walk(3, "secret"), 1);
	ck_assert_uint_eq(resp[9], P9_QTSYMLINK);
	expect_err(p9c_lopen(&c, 3, P9_DOTL_RDONLY), ELOOP);
	expect_err(p9c_setattr(&c, 3, P9_SETATTR_SIZE, 0, 0), EOPNOTSUPP);
	ck_assert_uint_eq(walk(4, "etc"), 1);
	names[0] = "passwd";
	expect_err(p9c_walk(&c, 4, 5, 1, names), ENOTDIR);
	expect_err(p9c_lcreate(&c, 4, "x", P9_DOTL_RDWR, 0644), ENOTDIR);
	expect_err(p9c_mkdir(&c, 4, "x"), ENOTDIR);
	down();
}
END_TEST

START_TEST(guest_symlinks_stay_inside)
{
	char p[PATH_MAX * 2], buf[64];
	struct stat st;
	ssize_t n;

	up(false);
	/* A guest's own links, absolute and climbing, lead nowhere on the
	 * host. */
	expect_ok(p9c_symlink(&c, 0, "abs", "/etc/passwd"), P9_RSYMLINK);
	expect_ok(p9c_symlink(&c, 0, "climb", "../outside/secret"),
		  P9_RSYMLINK);
	ck_assert_uint_eq(walk(1, "abs"), 1);
	expect_err(p9c_lopen(&c, 1, P9_DOTL_RDONLY), ELOOP);
	ck_assert_uint_eq(walk(2, "climb"), 1);
	expect_err(p9c_lopen(&c, 2, P9_DOTL_RDWR), ELOOP);
	/* Creating through a link: refused, never followed. */
	expect_err(p9c_lcreate(&c, 0, "climb", P9_DOTL_RDWR, 0644), EEXIST);
	expect_err(p9c_lcreate(&c, 0, "secret", P9_DOTL_WRONLY | P9_DOTL_TRUNC,
			       0644),
		   EEXIST);
	snprintf(p, sizeof(p), "%s/outside/secret", top);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_size, 7);
	/* A hard link of a link is the link, not its target. */
	if (rpc(p9c_link(&c, 0, 2, "hard")) == 7) {
		in_share(p, sizeof(p), "hard");
		ck_assert_int_eq(lstat(p, &st), 0);
		ck_assert(S_ISLNK(st.st_mode));
		n = readlink(p, buf, sizeof(buf));
		ck_assert_int_eq(n, strlen("../outside/secret"));
	} else {
		/* Without CAP_DAC_READ_SEARCH: refused. */
		ck_assert_uint_eq(p9r_type(resp), P9_RLERROR);
	}
	/* Renames of a link's target name elsewhere: single names only. */
	expect_err(p9c_renameat(&c, 0, "../outside/secret", 0, "got"), EINVAL);
	expect_err(p9c_renameat(&c, 0, "hello.txt", 0, "../stolen"), EINVAL);
	expect_err(p9c_unlinkat(&c, 0, "../outside/secret", 0), EINVAL);
	expect_err(p9c_unlinkat(&c, 0, "..", P9_DOTL_AT_REMOVEDIR), EINVAL);
	snprintf(p, sizeof(p), "%s/outside/secret", top);
	ck_assert_int_eq(stat(p, &st), 0);
	down();
}
END_TEST

START_TEST(rename_during_walk)
{
	char p[PATH_MAX * 2], q[PATH_MAX * 2], buf[64];
	const char *names[1] = { "inner.txt" };
	size_t n;

	up(false);
	/* A fid on sub; sub then moves away and a link to /etc takes its
	 * name. The fid still names the same directory; new walks of the
	 * name stop at the link. */
	ck_assert_uint_eq(walk(1, "sub"), 1);
	in_share(p, sizeof(p), "sub");
	in_share(q, sizeof(q), "moved");
	ck_assert_int_eq(rename(p, q), 0);
	ck_assert_int_eq(symlink("/etc", p), 0);
	expect_ok(p9c_walk(&c, 1, 2, 1, names), P9_RWALK);
	expect_ok(p9c_lopen(&c, 2, P9_DOTL_RDONLY), P9_RLOPEN);
	n = read_all(2, buf, sizeof(buf));
	ck_assert_uint_eq(n, 6);
	ck_assert_int_eq(memcmp(buf, "inner\n", 6), 0);
	ck_assert_uint_eq(walk(3, "sub/passwd"), 1);
	ck_assert(!fid_exists(3));
	/* The same through the guest's own rename, and a create in the
	 * renamed directory lands in it. */
	expect_ok(p9c_renameat(&c, 0, "moved", 0, "again"), P9_RRENAMEAT);
	expect_ok(p9c_lcreate(&c, 1, "later.txt", P9_DOTL_WRONLY, 0644),
		  P9_RLCREATE);
	in_share(p, sizeof(p), "again/later.txt");
	ck_assert_int_eq(access(p, F_OK), 0);
	down();
}
END_TEST

/* Trename and Tremove act on the name the walk found, once it is seen to
 * still name the fid's file. */
START_TEST(rename_and_remove_by_fid)
{
	char p[PATH_MAX * 2];
	const char *names[1] = { "x" };

	up(false);
	ck_assert_uint_eq(walk(1, "sub/inner.txt"), 2);
	ck_assert_uint_eq(walk(2, "sub"), 1);
	expect_ok(p9c_rename(&c, 1, 0, "top.txt"), P9_RRENAME);
	in_share(p, sizeof(p), "top.txt");
	ck_assert_int_eq(access(p, F_OK), 0);
	/* The fid followed: again, into sub. */
	expect_ok(p9c_rename(&c, 1, 2, "back.txt"), P9_RRENAME);
	in_share(p, sizeof(p), "sub/back.txt");
	ck_assert_int_eq(access(p, F_OK), 0);
	/* A clone keeps the place too. */
	expect_ok(p9c_walk(&c, 1, 3, 0, NULL), P9_RWALK);
	expect_err(p9c_rename(&c, 3, 0, "../out"), EINVAL);
	expect_err(p9c_rename(&c, 3, 0, ".."), EINVAL);
	expect_err(p9c_rename(&c, 3, 1, "x"), ENOTDIR);
	expect_ok(p9c_fid(&c, P9_TREMOVE, 3), P9_RREMOVE);
	ck_assert_int_ne(access(p, F_OK), 0);
	ck_assert(!fid_exists(3));
	/* The name went stale (renamed by name): refused, nothing moved. */
	ck_assert_uint_eq(walk(4, "hello.txt"), 1);
	expect_ok(p9c_renameat(&c, 0, "hello.txt", 0, "h2.txt"), P9_RRENAMEAT);
	in_share(p, sizeof(p), "sub/x");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	in_share(p, sizeof(p), "hello.txt");
	put_file(share, "hello.txt", "another file\n");
	expect_err(p9c_rename(&c, 4, 2, "stolen"), ENOENT);
	expect_err(p9c_fid(&c, P9_TREMOVE, 4), ENOENT);
	ck_assert_int_eq(access(p, F_OK), 0);
	ck_assert(!fid_exists(4));
	/* A directory, and the root. */
	expect_ok(p9c_walk(&c, 2, 5, 1, names), P9_RWALK);
	expect_ok(p9c_fid(&c, P9_TREMOVE, 5), P9_RREMOVE);
	in_share(p, sizeof(p), "sub/x");
	ck_assert_int_ne(access(p, F_OK), 0);
	expect_ok(p9c_walk(&c, 0, 6, 0, NULL), P9_RWALK);
	expect_err(p9c_rename(&c, 6, 2, "root"), EBUSY);
	expect_err(p9c_fid(&c, P9_TREMOVE, 6), EBUSY);
	/* A created file's fid knows its place. */
	expect_ok(p9c_walk(&c, 2, 7, 0, NULL), P9_RWALK);
	expect_ok(p9c_lcreate(&c, 7, "made.txt", P9_DOTL_WRONLY, 0644),
		  P9_RLCREATE);
	expect_ok(p9c_rename(&c, 7, 0, "made2.txt"), P9_RRENAME);
	in_share(p, sizeof(p), "made2.txt");
	ck_assert_int_eq(access(p, F_OK), 0);
	down();
}
END_TEST

START_TEST(read_only)
{
	char p[PATH_MAX * 2], buf[64];
	struct stat st;

	up(true);
	ck_assert_uint_eq(walk(1, "hello.txt"), 1);
	expect_err(p9c_lopen(&c, 1, P9_DOTL_WRONLY), EROFS);
	expect_err(p9c_lopen(&c, 1, P9_DOTL_RDWR), EROFS);
	expect_err(p9c_lopen(&c, 1, P9_DOTL_RDONLY | P9_DOTL_TRUNC), EROFS);
	expect_err(p9c_setattr(&c, 1, P9_SETATTR_SIZE, 0, 0), EROFS);
	expect_err(p9c_setattr(&c, 1, P9_SETATTR_MODE, 0777, 0), EROFS);
	expect_ok(p9c_lopen(&c, 1, P9_DOTL_RDONLY), P9_RLOPEN);
	ck_assert_uint_eq(read_all(1, buf, sizeof(buf)), strlen(HELLO));
	expect_err(p9c_write(&c, 1, 0, "x", 1), EROFS);
	expect_err(p9c_lcreate(&c, 0, "n", P9_DOTL_RDWR, 0644), EROFS);
	expect_err(p9c_mkdir(&c, 0, "d"), EROFS);
	expect_err(p9c_symlink(&c, 0, "s", "hello.txt"), EROFS);
	expect_err(p9c_link(&c, 0, 1, "h"), EROFS);
	expect_err(p9c_unlinkat(&c, 0, "hello.txt", 0), EROFS);
	expect_err(p9c_renameat(&c, 0, "hello.txt", 0, "r"), EROFS);
	expect_err(p9c_mknod(&c, 0, "f"), EROFS);
	expect_err(p9c_xattrcreate(&c, 1, "user.x"), EROFS);
	expect_err(p9c_rename(&c, 1, 0, "r"), EROFS);
	expect_err(p9c_fid(&c, P9_TREMOVE, 1), EROFS);
	in_share(p, sizeof(p), "hello.txt");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_size, strlen(HELLO));
	down();
}
END_TEST

START_TEST(bounds)
{
	unsigned int i;

	up(false);
	/* fid 0 is the root: P9_MAX_FIDS - 1 more, then EMFILE. */
	for (i = 1; i < P9_MAX_FIDS; i++)
		ck_assert_uint_eq(rpc(p9c_walk(&c, 0, i, 0, NULL)), 9);
	expect_err(p9c_walk(&c, 0, i, 0, NULL), EMFILE);
	expect_err(p9c_attach(&c, i), EMFILE);
	/* A fid in use, or NOFID, is never a new one. */
	expect_err(p9c_walk(&c, 0, 5, 0, NULL), EBADF);
	for (i = 1; i < P9_MAX_FIDS; i++)
		expect_ok(p9c_fid(&c, P9_TCLUNK, i), P9_RCLUNK);
	expect_err(p9c_walk(&c, 0, P9_NOFID, 0, NULL), EBADF);
	ck_assert_uint_eq(walk(5, "hello.txt"), 1);
	expect_err(p9c_walk(&c, 0, 5, 0, NULL), EBADF);
	expect_ok(p9c_fid(&c, P9_TCLUNK, 5), P9_RCLUNK);
	/* P9_MAX_OPEN open files, then ENFILE. */
	for (i = 1; i <= P9_MAX_OPEN + 1; i++) {
		ck_assert_uint_eq(walk(i, "hello.txt"), 1);
		if (i <= P9_MAX_OPEN)
			expect_ok(p9c_lopen(&c, i, P9_DOTL_RDONLY), P9_RLOPEN);
		else
			expect_err(p9c_lopen(&c, i, P9_DOTL_RDONLY), ENFILE);
	}
	expect_ok(p9c_fid(&c, P9_TCLUNK, 1), P9_RCLUNK);
	expect_ok(p9c_lopen(&c, P9_MAX_OPEN + 1, P9_DOTL_RDONLY), P9_RLOPEN);
	/* Tversion starts over: every fid gone. */
	expect_ok(p9c_version(&c, 8192, "9P2000.L"), P9_RVERSION);
	ck_assert_uint_eq(srv.nr_fids, 0);
	ck_assert_uint_eq(srv.nr_open, 0);
	down();
}
END_TEST

/* ---- through the virtqueue ---- */

#define QSIZE 16
#define REQ_GPA 0x100000ULL
#define RESP_GPA 0x200000ULL

START_TEST(device_queue)
{
	struct virtio_p9_opts o = { .tag = "share0" };
	struct virtio_drv_queue q = { .size = QSIZE,
				      .desc = 0x10000,
				      .avail = 0x11000,
				      .used = 0x12000 };
	struct guest_mem mem;
	struct virtio_p9 *p;
	struct virtio_mmio_dev *dev;
	struct virtq_used_elem e;
	uint8_t cfg[8], r[64];
	uint32_t st;
	size_t len;

	make_tree();
	o.path = share;
	ck_assert_int_eq(guest_mem_init(&mem, MiB(16)), 0);
	ck_assert_int_eq(virtio_p9_create(&p, &o, &mem, err, sizeof(err)), 0);
	dev = virtio_p9_transport(p);
	ck_assert_uint_eq(virtio_drv_read32(dev, VIRTIO_MMIO_DEVICE_ID),
			  VIRTIO_ID_9P);
	ck_assert(virtio_drv_device_features(dev) &
		  1ULL << VIRTIO_9P_MOUNT_TAG);
	for (unsigned int i = 0; i < sizeof(cfg); i++)
		virtio_mmio_io(dev, VIRTIO_MMIO_CONFIG + i, &cfg[i], 1, false);
	ck_assert_uint_eq(le_get(cfg, 2), 6);
	ck_assert_int_eq(memcmp(cfg + 2, "share0", 6), 0);
	st = virtio_drv_negotiate(dev, 1ULL << VIRTIO_F_VERSION_1 |
					       1ULL << VIRTIO_9P_MOUNT_TAG);
	virtio_drv_setup_queue(dev, 0, QSIZE, q.desc, q.avail, q.used);
	ck_assert_uint_eq(virtio_drv_driver_ok(dev, st),
			  st | VIRTIO_STATUS_DRIVER_OK);

	/* Tversion, its reply in two device-writable pieces. */
	len = p9c_version(&c, 1u << 20, "9P2000.L");
	gmem_write(&mem, REQ_GPA, c.buf, len);
	virtio_drv_submit(
		&mem, &q,
		(struct virtio_drv_seg[]){ { REQ_GPA, (uint32_t)len, false },
					   { RESP_GPA, 5, true },
					   { RESP_GPA + 100, 4091, true } },
		3);
	ck_assert_int_eq(virtio_p9_process(p), 1);
	e = virtio_drv_take_used(&mem, &q);
	ck_assert_uint_eq(e.len, 7 + 4 + 2 + 8);
	gmem_read(&mem, RESP_GPA, r, 5);
	gmem_read(&mem, RESP_GPA + 100, r + 5, 16);
	ck_assert_uint_eq(r[4], P9_RVERSION);
	/* msize is bounded by the device's own maximum. */
	ck_assert_uint_eq(le_get(r + 7, 4), P9_MSIZE_MAX);

	/* A request shorter than a header: used, with nothing written. */
	virtio_drv_submit(&mem, &q,
			  (struct virtio_drv_seg[]){ { REQ_GPA, 3, false },
						     { RESP_GPA, 64, true } },
			  2);
	ck_assert_int_eq(virtio_p9_process(p), 1);
	ck_assert_uint_eq(virtio_drv_take_used(&mem, &q).len, 0);
	/* A lying size: Rlerror. */
	len = p9c_attach(&c, 0);
	le_put(c.buf, 4, 4000);
	gmem_write(&mem, REQ_GPA, c.buf, len);
	virtio_drv_submit(
		&mem, &q,
		(struct virtio_drv_seg[]){ { REQ_GPA, (uint32_t)len, false },
					   { RESP_GPA, 64, true } },
		2);
	ck_assert_int_eq(virtio_p9_process(p), 1);
	ck_assert_uint_eq(virtio_drv_take_used(&mem, &q).len, 11);
	gmem_read(&mem, RESP_GPA, r, 11);
	ck_assert_uint_eq(r[4], P9_RLERROR);
	ck_assert_uint_eq(le_get(r + 7, 4), EINVAL);
	/* No device-writable part: no reply. */
	len = p9c_attach(&c, 0);
	gmem_write(&mem, REQ_GPA, c.buf, len);
	virtio_drv_submit(
		&mem, &q,
		(struct virtio_drv_seg[]){ { REQ_GPA, (uint32_t)len, false } },
		1);
	ck_assert_int_eq(virtio_p9_process(p), 1);
	ck_assert_uint_eq(virtio_drv_take_used(&mem, &q).len, 0);
	/* A descriptor outside RAM: the device needs a reset. */
	virtio_drv_submit(&mem, &q,
			  (struct virtio_drv_seg[]){ { GiB(64), 16, false } },
			  1);
	ck_assert_int_lt(virtio_p9_process(p), 0);
	ck_assert(virtio_drv_needs_reset(dev));
	/* A reset clunks every fid. */
	virtio_drv_reset(dev);
	virtio_p9_destroy(p);
	guest_mem_free(&mem);
	rm_tree();
}
END_TEST

/* The worker with its seccomp allow-list on, driven through the queue:
 * every operation a Linux guest uses must pass the filter (a forbidden
 * call would kill this test with SIGSYS). */
static struct guest_mem smem;
static struct virtio_drv_queue sq = {
	.size = QSIZE, .desc = 0x10000, .avail = 0x11000, .used = 0x12000
};
static struct virtio_mmio_dev *sdev;

static size_t worker_rpc(size_t len)
{
	uint16_t want;
	struct virtq_used_elem e;

	gmem_write(&smem, REQ_GPA, c.buf, len);
	want = (uint16_t)(virtio_drv_used_idx(&smem, &sq) + 1);
	virtio_drv_submit(
		&smem, &sq,
		(struct virtio_drv_seg[]){ { REQ_GPA, (uint32_t)len, false },
					   { RESP_GPA, 65536, true } },
		2);
	ck_assert_int_eq(eventfd_write(virtio_mmio_kick_fd(sdev, 0), 1), 0);
	for (int i = 0; i < 5000 && virtio_drv_used_idx(&smem, &sq) != want;
	     i++)
		usleep(1000);
	ck_assert_uint_eq(virtio_drv_used_idx(&smem, &sq), want);
	e = virtio_drv_take_used(&smem, &sq);
	ck_assert_uint_ge(e.len, 7);
	gmem_read(&smem, RESP_GPA, resp, e.len);
	return e.len;
}

/* The reply must be @type. */
static void worker_ok(size_t len, uint8_t type)
{
	worker_rpc(len);
	ck_assert_msg(p9r_type(resp) == type, "reply %u (error %u), want %u",
		      p9r_type(resp), p9r_ecode(resp), type);
}

START_TEST(seccomp_worker)
{
	struct virtio_p9_opts o = { .tag = "s", .seccomp = true };
	const char *sub[1] = { "sub" }, *hello[1] = { "hello.txt" };
	const char *lnk[1] = { "sl" };
	struct virtio_p9 *p;
	uint32_t st;

	make_tree();
	o.path = share;
	ck_assert_int_eq(guest_mem_init(&smem, MiB(16)), 0);
	ck_assert_int_eq(virtio_p9_create(&p, &o, &smem, err, sizeof(err)), 0);
	sdev = virtio_p9_transport(p);
	st = virtio_drv_negotiate(sdev, 1ULL << VIRTIO_F_VERSION_1 |
						1ULL << VIRTIO_9P_MOUNT_TAG);
	virtio_drv_setup_queue(sdev, 0, QSIZE, sq.desc, sq.avail, sq.used);
	ck_assert_uint_eq(virtio_drv_driver_ok(sdev, st),
			  st | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_int_eq(virtio_p9_start(p), 0);

	worker_ok(p9c_version(&c, 65536, "9P2000.L"), P9_RVERSION);
	worker_ok(p9c_attach(&c, 0), P9_RATTACH);
	worker_ok(p9c_walk(&c, 0, 1, 1, hello), P9_RWALK);
	worker_ok(p9c_getattr(&c, 1), P9_RGETATTR);
	worker_ok(p9c_fid(&c, P9_TSTATFS, 1), P9_RSTATFS);
	worker_ok(p9c_lopen(&c, 1, P9_DOTL_RDWR), P9_RLOPEN);
	worker_ok(p9c_read(&c, P9_TREAD, 1, 0, 4096), P9_RREAD);
	worker_ok(p9c_write(&c, 1, 0, "H", 1), P9_RWRITE);
	worker_ok(p9c_fsync(&c, 1), P9_RFSYNC);
	worker_ok(p9c_fid(&c, P9_TFSYNC, 1), P9_RFSYNC);
	worker_ok(p9c_lock(&c, P9_TLOCK, 1), P9_RLOCK);
	worker_ok(p9c_setattr(&c, 1,
			      P9_SETATTR_MODE | P9_SETATTR_SIZE |
				      P9_SETATTR_ATIME | P9_SETATTR_MTIME,
			      0640, 5),
		  P9_RSETATTR);
	/* chown to who owns it already: allowed for anyone. */
	p9c_begin(&c, P9_TSETATTR, 1);
	p9c_u32(&c, 1);
	p9c_u32(&c, P9_SETATTR_UID | P9_SETATTR_GID);
	p9c_u32(&c, 0);
	p9c_u32(&c, (uint32_t)getuid());
	p9c_u32(&c, (uint32_t)getgid());
	for (int i = 0; i < 5; i++)
		p9c_u64(&c, 0);
	worker_ok(p9c_end(&c), P9_RSETATTR);
	worker_ok(p9c_walk(&c, 0, 2, 1, sub), P9_RWALK);
	worker_ok(p9c_lcreate(&c, 2, "n.txt", P9_DOTL_WRONLY, 0644),
		  P9_RLCREATE);
	worker_ok(p9c_lcreate(&c, 0, "hello.txt", P9_DOTL_RDONLY, 0644),
		  P9_RLCREATE); /* the root fid is now that file: fine here */
	worker_ok(p9c_attach(&c, 10), P9_RATTACH);
	worker_ok(p9c_walk(&c, 10, 3, 1, sub), P9_RWALK);
	worker_ok(p9c_mkdir(&c, 3, "d"), P9_RMKDIR);
	worker_ok(p9c_symlink(&c, 3, "sl", "n.txt"), P9_RSYMLINK);
	worker_ok(p9c_walk(&c, 3, 4, 1, lnk), P9_RWALK);
	worker_ok(p9c_fid(&c, P9_TREADLINK, 4), P9_RREADLINK);
	worker_ok(p9c_walk(&c, 10, 5, 1, hello), P9_RWALK);
	worker_ok(p9c_link(&c, 3, 5, "hard"), P9_RLINK);
	worker_rpc(p9c_link(&c, 3, 4, "hardsl")); /* needs a capability */
	worker_ok(p9c_renameat(&c, 3, "hard", 10, "hard2"), P9_RRENAMEAT);
	worker_ok(p9c_unlinkat(&c, 10, "hard2", 0), P9_RUNLINKAT);
	worker_ok(p9c_unlinkat(&c, 3, "d", P9_DOTL_AT_REMOVEDIR), P9_RUNLINKAT);
	worker_ok(p9c_walk(&c, 10, 6, 0, NULL), P9_RWALK);
	worker_ok(p9c_lopen(&c, 6, P9_DOTL_RDONLY), P9_RLOPEN);
	worker_ok(p9c_read(&c, P9_TREADDIR, 6, 0, 8192), P9_RREADDIR);
	worker_ok(p9c_mknod(&c, 3, "f"), P9_RLERROR);
	worker_ok(p9c_xattrwalk(&c, 3, 7, "user.x"), P9_RLERROR);
	worker_ok(p9c_rename(&c, 4, 10, "sl2"), P9_RRENAME);
	worker_ok(p9c_fid(&c, P9_TREMOVE, 4), P9_RREMOVE);
	worker_ok(p9c_fid(&c, P9_TCLUNK, 6), P9_RCLUNK);
	/* A reset under the worker, then a new session. */
	virtio_drv_reset(sdev);
	virtio_p9_destroy(p);
	guest_mem_free(&smem);
	rm_tree();
}
END_TEST

START_TEST(create_errors)
{
	struct virtio_p9_opts o = { .tag = "t" };
	struct guest_mem mem;
	struct virtio_p9 *p;
	char path[PATH_MAX * 2];

	make_tree();
	ck_assert_int_eq(guest_mem_init(&mem, MiB(16)), 0);
	in_share(path, sizeof(path), "hello.txt");
	o.path = path;
	ck_assert_int_eq(virtio_p9_create(&p, &o, &mem, err, sizeof(err)),
			 -ENOTDIR);
	ck_assert_ptr_nonnull(strstr(err, "hello.txt"));
	in_share(path, sizeof(path), "nowhere");
	ck_assert_int_eq(virtio_p9_create(&p, &o, &mem, err, sizeof(err)),
			 -ENOENT);
	o.path = share;
	o.tag = "";
	ck_assert_int_eq(virtio_p9_create(&p, &o, &mem, err, sizeof(err)),
			 -EINVAL);
	o.tag = "0123456789012345678901234567890123";
	ck_assert_int_eq(virtio_p9_create(&p, &o, &mem, err, sizeof(err)),
			 -EINVAL);
	guest_mem_free(&mem);
	rm_tree();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_9p");
	TCase *tc = tcase_create("9p");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, parse_short_and_lying);
	tcase_add_test(tc, parse_fields);
	tcase_add_test(tc, version_and_msize);
	tcase_add_test(tc, files_and_dirs);
	tcase_add_test(tc, walks_stay_inside);
	tcase_add_test(tc, guest_symlinks_stay_inside);
	tcase_add_test(tc, rename_during_walk);
	tcase_add_test(tc, rename_and_remove_by_fid);
	tcase_add_test(tc, read_only);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, device_queue);
	tcase_add_test(tc, create_errors);
	tcase_add_test(tc, seccomp_worker);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
