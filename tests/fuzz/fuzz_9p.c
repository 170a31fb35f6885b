/*
 * Fuzz the 9P2000.L parser and server on a real directory. An input is
 * records of cap[2] len[2] then len bytes: each record's bytes are one
 * message as the guest put it in a chain (its size field may lie, be
 * short or long), and cap the room its device-writable part offered. A
 * session (Tversion, Tattach as fid 0) comes first, so that the fuzzer
 * starts from a tree it can walk: hello.txt, sub/, links to /etc, ..,
 * and a file outside the share. Nothing may crash, leak or hang; a reply
 * never exceeds its room and its size field says its length; the fid and
 * open-file bounds hold; nothing outside the share changes (the secret
 * beside it keeps its bytes, no new name appears next to the share).
 * Every 256 inputs the share is laid anew, so that what the fuzzer
 * creates stays small.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/limits.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "virtio/p9_proto.h"
#include "virtio/p9_server.h"

#include "../unit/p9_client.h"

static char top[PATH_MAX / 2], share[PATH_MAX];
static struct p9_server srv;
static bool ready;
static unsigned long runs;
static uint8_t resp[P9_MSIZE_MAX];
static struct p9c c;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_9p: %s\n", what);
	abort();
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die("fopen");
	fputs(text, f);
	fclose(f);
}

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level)
		remove(p);
	return 0;
}

/* The share's contents, laid anew. */
static void lay_share(void)
{
	char p[PATH_MAX * 2];

	nftw(share, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	chmod(share, 0755);
	snprintf(p, sizeof(p), "%s/hello.txt", share);
	put(p, "hello\n");
	snprintf(p, sizeof(p), "%s/sub", share);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/inner.txt", share);
	put(p, "inner\n");
	snprintf(p, sizeof(p), "%s/etc", share);
	symlink("/etc", p);
	snprintf(p, sizeof(p), "%s/up", share);
	symlink("..", p);
	snprintf(p, sizeof(p), "%s/secret", share);
	symlink("../outside/secret", p);
}

static int rm_any(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

/* At exit (libFuzzer's too): the tree goes. */
static void cleanup(void)
{
	p9_server_destroy(&srv);
	nftw(top, rm_any, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char p[PATH_MAX * 2], err[256];

	snprintf(top, sizeof(top), "%s/fuzz9p.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(top))
		die("mkdtemp");
	snprintf(share, sizeof(share), "%s/share", top);
	snprintf(p, sizeof(p), "%s/outside", top);
	if (mkdir(p, 0755) || mkdir(share, 0755))
		die("mkdir");
	snprintf(p, sizeof(p), "%s/outside/secret", top);
	put(p, "SECRET\n");
	lay_share();
	if (p9_server_init(&srv, share, false, err, sizeof(err)))
		die(err);
	ready = true;
	atexit(cleanup);
}

/* Nothing outside the share changed. */
static void check_outside(void)
{
	char p[PATH_MAX * 2], buf[16];
	unsigned int names = 0;
	struct dirent *e;
	DIR *d;
	int fd;

	snprintf(p, sizeof(p), "%s/outside/secret", top);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 7 ||
	    memcmp(buf, "SECRET\n", 7))
		die("the file outside the share changed");
	close(fd);
	d = opendir(top);
	if (!d)
		die("opendir");
	while ((e = readdir(d)))
		names++;
	closedir(d);
	if (names != 4) /* . .. share outside */
		die("a name appeared beside the share");
}

static void send(const uint8_t *msg, size_t len, size_t cap)
{
	size_t n = p9_server_handle(&srv, msg, len, resp, cap);

	if (n > cap)
		die("reply beyond its room");
	if (n && (n < 7 || le_get(resp, 4) != n))
		die("reply size field wrong");
	if (srv.msize && n > srv.msize)
		die("reply beyond msize");
	if (srv.nr_fids > P9_MAX_FIDS || srv.nr_open > P9_MAX_OPEN ||
	    srv.nr_open > srv.nr_fids)
		die("bounds broken");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	send(c.buf, p9c_version(&c, 65536, "9P2000.L"), sizeof(resp));
	send(c.buf, p9c_attach(&c, 0), sizeof(resp));
	while (size >= 4) {
		size_t cap = le_get(data, 2), len = le_get(data + 2, 2);

		data += 4;
		size -= 4;
		if (len > size)
			len = size;
		/* A private copy: the server must not read past len. */
		uint8_t *msg = malloc(len ? len : 1);

		if (!msg)
			die("malloc");
		memcpy(msg, data, len);
		send(msg, len, cap);
		free(msg);
		data += len;
		size -= len;
	}
	p9_server_reset(&srv);
	if (srv.nr_fids || srv.nr_open)
		die("reset left fids");
	check_outside();
	if (++runs % 256 == 0)
		lay_share();
	return 0;
}
