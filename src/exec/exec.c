/*
 * kvmlite exec: the initramfs the library builds for one command (its
 * init, the modules, the plan), the checks on kvmlite_exec, and the split
 * of the init's framed console into stdout and stderr.
 */
#include "exec/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "exec/exec_protocol.h"
#include "exec/modules.h"

_Static_assert(EXEC_STATUS_SETUP == KVMLITE_EXEC_SETUP, "exec statuses");
_Static_assert(EXEC_STATUS_CANNOT_RUN == KVMLITE_EXEC_CANNOT_RUN,
	       "exec statuses");
_Static_assert(EXEC_STATUS_NOT_FOUND == KVMLITE_EXEC_NOT_FOUND,
	       "exec statuses");

#define EXEC_MODULE_MAX_SIZE (64u << 20)
#define EXEC_PLAN_MAX (1u << 20)
#define EXEC_ARGS_MAX 4096

/* virtio_mmio finds kvmlite's devices; the rest mount the root. */
const char *const exec_wanted_modules[] = { "virtio_mmio", "9pnet_virtio", "9p",
					    "overlay" };
const size_t exec_nr_wanted_modules =
	sizeof(exec_wanted_modules) / sizeof(exec_wanted_modules[0]);

/* Absolute, no "." or ".." component, not "/" itself. */
static bool guest_path_ok(const char *p, bool root_ok)
{
	if (!p || p[0] != '/' || strlen(p) > 1024)
		return false;
	if (!p[1])
		return root_ok;
	for (const char *c = p; *c;) {
		const char *n;
		size_t len;

		while (*c == '/')
			c++;
		n = strchr(c, '/');
		len = n ? (size_t)(n - c) : strlen(c);
		if ((len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += len;
	}
	return true;
}

int exec_validate(const struct kvmlite_config *c, char *err, size_t errlen)
{
	const struct kvmlite_exec *e = &c->exec;
	size_t n = 0;

#if !defined(__x86_64__)
	if (e->argv)
		return err_fmt(err, errlen, -ENOTSUP,
			       "exec: x86 only for now (the guest's init "
			       "reports through I/O ports)");
#endif
	if (!e->argv) {
		if (e->cwd || e->root || e->modules_dir || e->mounts ||
		    e->stderr_fd >= 0)
			return err_fmt(err, errlen, -EINVAL,
				       "exec: cwd, root, modules, mounts or "
				       "stderr_fd given without a command");
		return 0;
	}
	for (; e->argv[n]; n++)
		if (n >= EXEC_ARGS_MAX)
			return err_fmt(err, errlen, -EINVAL,
				       "exec: more than %d arguments",
				       EXEC_ARGS_MAX);
	if (!n || !e->argv[0][0])
		return err_fmt(err, errlen, -EINVAL, "exec: no command given");
	if (c->initrd_path)
		return err_fmt(err, errlen, -EINVAL,
			       "exec: an initrd given too (exec builds its "
			       "own)");
	if (c->snapshot_dir)
		return err_fmt(err, errlen, -EINVAL,
			       "exec: no snapshots of an exec VM "
			       "(snapshot_dir given)");
	if (e->cwd && !guest_path_ok(e->cwd, true))
		return err_fmt(err, errlen, -EINVAL,
			       "exec: cwd '%s' is not an absolute path "
			       "without . or ..",
			       e->cwd);
	if (e->root && !e->root[0])
		return err_fmt(err, errlen, -EINVAL, "exec: empty root path");
	if (e->modules_dir && !e->modules_dir[0])
		return err_fmt(err, errlen, -EINVAL,
			       "exec: empty modules path");
	if (c->nr_fs > KVMLITE_MAX_FS - 1)
		return err_fmt(err, errlen, -EINVAL,
			       "exec: %u shares: at most %d beside the root",
			       c->nr_fs, KVMLITE_MAX_FS - 1);
	if (c->nr_disks + c->nr_nets + (c->rng != 0) + (c->vsock.cid != 0) +
		    c->nr_fs + 1 >
	    KVMLITE_MAX_DEVICES)
		return err_fmt(err, errlen, -EINVAL,
			       "exec: the root share is one virtio device "
			       "more than the %d there is room for",
			       KVMLITE_MAX_DEVICES);
	for (unsigned int i = 0; c->fs && i < c->nr_fs; i++) {
		const char *m = e->mounts ? e->mounts[i] : NULL;

		if (c->fs[i].tag &&
		    !strcmp(c->fs[i].tag, KVMLITE_EXEC_ROOT_TAG))
			return err_fmt(err, errlen, -EINVAL,
				       "exec: share %s: the tag %s is the "
				       "root's",
				       c->fs[i].path ? c->fs[i].path : "?",
				       KVMLITE_EXEC_ROOT_TAG);
		if (m && !guest_path_ok(m, false))
			return err_fmt(err, errlen, -EINVAL,
				       "exec: share %s: mount point '%s' is "
				       "not an absolute path (not /) without "
				       ". or ..",
				       c->fs[i].path ? c->fs[i].path : "?", m);
	}
	return 0;
}

struct plan {
	char *buf;
	size_t len, cap;
	int error;
};

static void plan_put(struct plan *p, const char *s)
{
	size_t n = strlen(s) + 1;

	if (p->error)
		return;
	if (n > EXEC_PLAN_MAX - p->len) {
		p->error = -E2BIG;
		return;
	}
	if (p->len + n > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		char *b;

		while (cap < p->len + n)
			cap *= 2;
		b = realloc(p->buf, cap);
		if (!b) {
			p->error = -ENOMEM;
			return;
		}
		p->buf = b;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
}

int exec_build_plan(const struct kvmlite_config *c,
		    const char *const *module_names, size_t nr_modules,
		    char **out, size_t *len)
{
	const struct kvmlite_exec *e = &c->exec;
	struct plan p = { 0 };
	char path[300];

	plan_put(&p, "root");
	plan_put(&p, KVMLITE_EXEC_ROOT_TAG);
	plan_put(&p, "cwd");
	plan_put(&p, e->cwd ? e->cwd : "/");
	for (size_t i = 0; i < nr_modules; i++) {
		snprintf(path, sizeof(path), "/modules/%s", module_names[i]);
		plan_put(&p, "module");
		plan_put(&p, path);
	}
	for (unsigned int i = 0; c->fs && i < c->nr_fs; i++) {
		if (!e->mounts || !e->mounts[i])
			continue;
		plan_put(&p, "share");
		plan_put(&p, c->fs[i].tag);
		plan_put(&p, e->mounts[i]);
		plan_put(&p, c->fs[i].read_only ? "1" : "0");
	}
	for (size_t i = 0; e->argv[i]; i++) {
		plan_put(&p, "arg");
		plan_put(&p, e->argv[i]);
	}
	if (p.error) {
		free(p.buf);
		return p.error;
	}
	*out = p.buf;
	*len = p.len;
	return 0;
}

/* A module file, whole. */
static int read_module(const char *path, uint8_t **data, size_t *len, char *err,
		       size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), ret = 0;
	size_t got = 0;

	if (fd < 0)
		return err_fmt(err, errlen, -EINVAL, "module %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > EXEC_MODULE_MAX_SIZE) {
		ret = err_fmt(err, errlen, -EINVAL,
			      "module %s: not a regular file of 1 byte to "
			      "64 MiB",
			      path);
		goto out;
	}
	*data = malloc((size_t)st.st_size);
	if (!*data) {
		ret = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, *data + got, (size_t)st.st_size - got);

		if (n <= 0) {
			ret = err_fmt(err, errlen, -EINVAL,
				      "module %s: cannot read it: %s", path,
				      n ? strerror(errno) : "file shrank");
			free(*data);
			*data = NULL;
			goto out;
		}
		got += (size_t)n;
	}
	*len = got;
out:
	close(fd);
	return ret;
}

int exec_build_initramfs(const struct kvmlite_config *c, struct cpio *out,
			 char *err, size_t errlen)
{
	const char *names[EXEC_MODULES_MAX];
	struct exec_modules mods = { .nr = 0 };
	const char *root = c->exec.root ? c->exec.root : "/";
	struct stat st;
	char *plan = NULL;
	size_t plan_len = 0;
	int ret;

	cpio_init(out);
	if (stat(root, &st))
		return err_fmt(err, errlen, -EINVAL, "exec root %s: %s", root,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_fmt(err, errlen, -EINVAL,
			       "exec root %s: not a directory", root);
	if (c->exec.modules_dir) {
		ret = exec_modules_resolve(
			c->exec.modules_dir, exec_wanted_modules,
			exec_nr_wanted_modules, &mods, err, errlen);
		if (ret)
			return ret;
	}
	cpio_add_dir(out, "dev");
	cpio_add(out, "dev/console", S_IFCHR | 0600, NULL, 0, 5, 1);
	cpio_add(out, "dev/ttyS0", S_IFCHR | 0600, NULL, 0, 4, 64);
	cpio_add(out, "dev/null", S_IFCHR | 0666, NULL, 0, 1, 3);
	cpio_add_dir(out, "proc");
	cpio_add_dir(out, "sys");
	cpio_add_dir(out, "mnt");
	cpio_add_dir(out, "modules");
	cpio_add_file(out, "init", 0755, exec_init_image,
		      (size_t)(exec_init_image_end - exec_init_image));
	for (size_t i = 0; i < mods.nr; i++) {
		const char *base = strrchr(mods.paths[i], '/');
		char name[300];
		uint8_t *data = NULL;
		size_t len = 0;

		names[i] = base ? base + 1 : mods.paths[i];
		ret = read_module(mods.paths[i], &data, &len, err, errlen);
		if (ret)
			goto out;
		snprintf(name, sizeof(name), "modules/%s", names[i]);
		cpio_add_file(out, name, 0644, data, len);
		free(data);
	}
	ret = exec_build_plan(c, names, mods.nr, &plan, &plan_len);
	if (!ret) {
		cpio_add_file(out, &EXEC_PLAN_PATH[1], 0644, plan, plan_len);
		ret = cpio_finish(out);
	}
	if (ret)
		ret = err_fmt(err, errlen, ret, "exec initramfs: %s",
			      strerror(-ret));
out:
	free(plan);
	exec_modules_free(&mods);
	if (ret)
		cpio_free(out);
	return ret;
}

enum {
	DEMUX_TEXT,
	DEMUX_TYPE,
	DEMUX_LEN0,
	DEMUX_LEN1,
	DEMUX_DATA,
};

enum exec_sink exec_demux_route(const struct exec_demux *d, uint8_t byte)
{
	switch (d->state) {
	case DEMUX_TEXT:
		return byte == EXEC_FRAME_START ? EXEC_SINK_NONE
						: EXEC_SINK_STDERR;
	case DEMUX_DATA:
		if (d->type == EXEC_FRAME_STDOUT)
			return EXEC_SINK_STDOUT;
		return d->type == EXEC_FRAME_STDERR ? EXEC_SINK_STDERR
						    : EXEC_SINK_NONE;
	default:
		return EXEC_SINK_NONE;
	}
}

static void keep_line(struct exec_demux *d, uint8_t byte)
{
	if (d->line_done) {
		d->line_len = 0;
		d->line_done = false;
	}
	if (byte == '\n')
		d->line_done = true;
	else if (byte && d->line_len < sizeof(d->line) - 1) /* a C string */
		d->line[d->line_len++] = (char)byte;
	d->line[d->line_len] = '\0';
}

void exec_demux_took(struct exec_demux *d, uint8_t byte)
{
	switch (d->state) {
	case DEMUX_TEXT:
		if (byte == EXEC_FRAME_START)
			d->state = DEMUX_TYPE;
		else
			keep_line(d, byte);
		break;
	case DEMUX_TYPE:
		d->type = byte;
		d->state = DEMUX_LEN0;
		break;
	case DEMUX_LEN0:
		d->left = byte;
		d->state = DEMUX_LEN1;
		break;
	case DEMUX_LEN1:
		d->left |= (uint32_t)byte << 8;
		d->state = d->left ? DEMUX_DATA : DEMUX_TEXT;
		break;
	default:
		if (d->type == EXEC_FRAME_STDERR)
			keep_line(d, byte);
		if (--d->left == 0)
			d->state = DEMUX_TEXT;
		break;
	}
}
