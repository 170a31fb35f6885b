/* kvmlite exec: the cpio writer, the modules resolver, the plan, the
 * console split, the checks on kvmlite_exec and the exec command line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "exec/exec.h"
#include "exec/exec_protocol.h"
#include "exec/modules.h"
#include "loader/initramfs.h"
#include "unit.h"

START_TEST(cpio_round_trip)
{
	struct cpio c;
	struct cpio_entry e;
	uint8_t big[5000];
	long off = 0;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	cpio_init(&c);
	ck_assert_int_eq(cpio_add_dir(&c, "dev"), 0);
	ck_assert_int_eq(
		cpio_add(&c, "dev/ttyS0", S_IFCHR | 0600, NULL, 0, 4, 64), 0);
	ck_assert_int_eq(cpio_add_file(&c, "init", 0755, big, sizeof(big)), 0);
	ck_assert_int_eq(cpio_add_file(&c, "a", 0644, "xyz", 3), 0);
	ck_assert_int_eq(cpio_finish(&c), 0);
	ck_assert_uint_eq(c.len % 4, 0);

	off = cpio_parse(c.buf, c.len, 0, &e);
	ck_assert_int_gt(off, 0);
	ck_assert_str_eq(e.name, "dev");
	ck_assert(S_ISDIR(e.mode));
	off = cpio_parse(c.buf, c.len, (size_t)off, &e);
	ck_assert_str_eq(e.name, "dev/ttyS0");
	ck_assert(S_ISCHR(e.mode));
	ck_assert_uint_eq(e.major, 4);
	ck_assert_uint_eq(e.minor, 64);
	off = cpio_parse(c.buf, c.len, (size_t)off, &e);
	ck_assert_str_eq(e.name, "init");
	ck_assert_uint_eq(e.mode, S_IFREG | 0755);
	ck_assert_uint_eq(e.len, sizeof(big));
	ck_assert_mem_eq(e.data, big, sizeof(big));
	off = cpio_parse(c.buf, c.len, (size_t)off, &e);
	ck_assert_str_eq(e.name, "a");
	ck_assert_mem_eq(e.data, "xyz", 3);
	off = cpio_parse(c.buf, c.len, (size_t)off, &e);
	ck_assert_int_eq(off, 0); /* the trailer */
	ck_assert_str_eq(e.name, "TRAILER!!!");

	/* Truncated anywhere: refused, never read past the end. */
	for (size_t cut = 0; cut < 200; cut++) {
		long o = 0;

		for (int i = 0; i < 5 && o >= 0; i++) {
			o = cpio_parse(c.buf, cut, (size_t)o, &e);
			if (o == 0)
				break;
		}
		ck_assert_int_lt(o, 1);
	}
	cpio_free(&c);
}
END_TEST

static char tmpdir[256];

static void write_file(const char *rel, const void *data, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	for (char *p = path + strlen(tmpdir) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void write_str(const char *rel, const char *text)
{
	write_file(rel, text, strlen(text));
}

static void make_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_exec.XXXXXX", t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The module at @i ends in @name. */
static void ck_module(const struct exec_modules *m, size_t i, const char *name)
{
	const char *p;

	ck_assert_uint_lt(i, m->nr);
	p = m->paths[i] + strlen(m->paths[i]) - strlen(name);
	ck_assert_msg(p >= m->paths[i] && !strcmp(p, name) && p[-1] == '/',
		      "module %zu is %s, not .../%s", i, m->paths[i], name);
}

static const char *const wanted[] = { "virtio_mmio", "9pnet_virtio", "9p",
				      "overlay" };

START_TEST(modules_dep)
{
	static const char dep[] =
		"kernel/drivers/virtio/virtio_mmio.ko:\n"
		"kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko.xz\n"
		"kernel/fs/9p/9p.ko.xz: kernel/fs/netfs/netfs.ko.xz "
		"kernel/net/9p/9pnet.ko.xz kernel/fs/fscache/fscache.ko.xz\n"
		"kernel/fs/fscache/fscache.ko.xz: kernel/fs/netfs/netfs.ko.xz\n"
		"kernel/fs/netfs/netfs.ko.xz:\n"
		"kernel/net/9p/9pnet.ko.xz:\n"
		"kernel/fs/overlayfs/overlay.ko.xz:\n";
	struct exec_modules m;
	char err[256];

	make_tmpdir();
	write_file("modules.dep", dep, sizeof(dep) - 1);
	ck_assert_int_eq(
		exec_modules_resolve(tmpdir, wanted, 4, &m, err, sizeof(err)),
		0);
	ck_assert_uint_eq(m.nr, 7);
	ck_module(&m, 0, "virtio_mmio.ko");
	ck_module(&m, 1, "9pnet.ko.xz");
	ck_module(&m, 2, "9pnet_virtio.ko.xz");
	ck_module(&m, 3, "netfs.ko.xz");
	ck_module(&m, 4, "fscache.ko.xz");
	ck_module(&m, 5, "9p.ko.xz");
	ck_module(&m, 6, "overlay.ko.xz");
	ck_assert_ptr_nonnull(strstr(m.paths[0], tmpdir));
	exec_modules_free(&m);

	/* Built in: skipped. Nowhere: one line naming it. */
	write_str("modules.builtin", "kernel/drivers/virtio/virtio_mmio.ko\n"
				     "kernel/fs/overlayfs/overlay.ko\n");
	ck_assert_int_eq(
		exec_modules_resolve(tmpdir, wanted, 4, &m, err, sizeof(err)),
		0);
	ck_assert_uint_eq(m.nr, 5);
	ck_module(&m, 0, "9pnet.ko.xz");
	exec_modules_free(&m);
	{
		static const char *const none[] = { "nosuch" };

		ck_assert_int_eq(exec_modules_resolve(tmpdir, none, 1, &m, err,
						      sizeof(err)),
				 -ENOENT);
		ck_assert_ptr_nonnull(strstr(err, "module nosuch: not in"));
		ck_assert_uint_eq(m.nr, 0);
	}
	/* A dependency missing: named, with who needs it. */
	write_str("modules.dep", "kernel/a.ko: kernel/b.ko\n");
	{
		static const char *const a[] = { "a" };

		ck_assert_int_eq(exec_modules_resolve(tmpdir, a, 1, &m, err,
						      sizeof(err)),
				 -ENOENT);
		ck_assert_ptr_nonnull(strstr(err, "module b (needed by a)"));
	}
	/* A loop: refused, not followed forever. */
	write_str("modules.dep",
		  "kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\n");
	{
		static const char *const a[] = { "a" };

		ck_assert_int_eq(exec_modules_resolve(tmpdir, a, 1, &m, err,
						      sizeof(err)),
				 -ELOOP);
	}
	/* No such directory. */
	ck_assert_int_lt(exec_modules_resolve("/nonexistent-kvmlite", wanted, 4,
					      &m, err, sizeof(err)),
			 0);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-kvmlite"));
	rm_tmpdir();
}
END_TEST

/* A package's tree before depmod: the modules' own depends= fields. */
START_TEST(modules_scan)
{
	static const char ko_9p[] = "\x7f"
				    "ELF...\0license=GPL\0depends=9pnet,netfs\0"
				    "vermagic=6.1";
	static const char ko_9pnet[] = "\x7f"
				       "ELF\0depends=\0";
	static const char ko_netfs[] = "\x7f"
				       "ELF\0depends=\0";
	static const char ko_virtio[] = "\x7f"
					"ELF\0depends=9pnet\0";
	static const char *const two[] = { "9pnet_virtio", "9p" };
	struct exec_modules m;
	char err[256];

	make_tmpdir();
	write_file("kernel/fs/9p/9p.ko", ko_9p, sizeof(ko_9p));
	write_file("kernel/net/9p/9pnet.ko", ko_9pnet, sizeof(ko_9pnet));
	write_file("kernel/fs/netfs/netfs.ko", ko_netfs, sizeof(ko_netfs));
	write_file("kernel/net/9p/9pnet_virtio.ko", ko_virtio,
		   sizeof(ko_virtio));
	ck_assert_int_eq(
		exec_modules_resolve(tmpdir, two, 2, &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(m.nr, 4);
	ck_module(&m, 0, "9pnet.ko");
	ck_module(&m, 1, "9pnet_virtio.ko");
	ck_module(&m, 2, "netfs.ko");
	ck_module(&m, 3, "9p.ko");
	exec_modules_free(&m);
	rm_tmpdir();
}
END_TEST

START_TEST(plan)
{
	static const char *const argv[] = { "sh", "-c", "echo hi", NULL };
	static const char *const mounts[] = { "/mnt/a", NULL };
	static const char *const mods[] = { "9p.ko" };
	struct kvmlite_fs fs[2] = { { "/host/a", "share0", 1 },
				    { "/host/b", "share1", 0 } };
	struct kvmlite_config c;
	static const char want[] = "root\0kvmlite-root\0cwd\0/w\0"
				   "module\0/modules/9p.ko\0"
				   "share\0share0\0/mnt/a\0"
				   "1\0"
				   "arg\0sh\0arg\0-c\0arg\0echo hi";
	char *p = NULL;
	size_t len = 0;

	kvmlite_config_init(&c);
	c.exec.argv = argv;
	c.exec.cwd = "/w";
	c.exec.mounts = mounts;
	c.fs = fs;
	c.nr_fs = 2;
	ck_assert_int_eq(exec_build_plan(&c, mods, 1, &p, &len), 0);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(p, want, sizeof(want));
	free(p);
}
END_TEST

/* Feed @in through the split; a sink that refuses every @refuse-th
 * byte once must change nothing. */
static void demux(const uint8_t *in, size_t len, char *out, size_t *olen,
		  char *errs, size_t *elen, struct exec_demux *d)
{
	unsigned int n = 0;

	*olen = *elen = 0;
	for (size_t i = 0; i < len;) {
		enum exec_sink s = exec_demux_route(d, in[i]);

		if (s != EXEC_SINK_NONE && ++n % 3 == 0)
			continue; /* refused: offered again */
		if (s == EXEC_SINK_STDOUT)
			out[(*olen)++] = (char)in[i];
		else if (s == EXEC_SINK_STDERR)
			errs[(*elen)++] = (char)in[i];
		exec_demux_took(d, in[i]);
		i++;
	}
}

START_TEST(demux_frames)
{
	static const uint8_t in[] = {
		'K', 'P', '\n', /* the kernel's, between frames */
		0,   'o', 3,	0, 'a', 0,   'b', /* stdout "a\0b" */
		0,   'e', 4,	0, 'e', 'r', 'r', '\n', 0,    'o',
		1,   0,	  '\0', 0, 'x', 2,   0,	  'z',	'z', /* an unknown type:
								dropped */
		0,   'o', 0,	0,			     /* empty */
		0,   'e', 5,	0, 'l', 'a', 's', 't',	'\n',
	};
	struct exec_demux d = { 0 };
	char out[64], errs[64];
	size_t olen, elen;

	demux(in, sizeof(in), out, &olen, errs, &elen, &d);
	ck_assert_uint_eq(olen, 4);
	ck_assert_mem_eq(out, "a\0b\0", 4);
	ck_assert_uint_eq(elen, 12);
	ck_assert_mem_eq(errs, "KP\nerr\nlast\n", 12);
	ck_assert_str_eq(d.line, "last");
}
END_TEST

START_TEST(validate)
{
	static const char *const argv[] = { "true", NULL };
	static const char *const empty[] = { "", NULL };
	static const char *const bad_mount[] = { "/a/../b" };
	static const char *const root_mount[] = { "/" };
	struct kvmlite_fs fs = { "/tmp", "share0", 0 };
	struct kvmlite_fs root_tag = { "/tmp", KVMLITE_EXEC_ROOT_TAG, 0 };
	struct kvmlite_config c;
	char err[256];

	kvmlite_config_init(&c);
	ck_assert_int_eq(c.exec.stderr_fd, -1);
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), 0);
	c.exec.cwd = "/x";
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "without a command"));
	c.exec.cwd = NULL;
	c.exec.argv = argv;
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), 0);
	c.exec.argv = empty;
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), -EINVAL);
	c.exec.argv = argv;
	c.initrd_path = "/boot/initrd";
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "initrd"));
	c.initrd_path = NULL;
	c.snapshot_dir = "/tmp/s";
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), -EINVAL);
	c.snapshot_dir = NULL;
	c.exec.cwd = "relative";
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), -EINVAL);
	c.exec.cwd = "/a/./b";
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), -EINVAL);
	c.exec.cwd = "/";
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), 0);
	c.fs = &fs;
	c.nr_fs = 1;
	c.exec.mounts = bad_mount;
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "mount point"));
	c.exec.mounts = root_mount;
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), -EINVAL);
	c.exec.mounts = NULL;
	c.fs = &root_tag;
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "root's"));
	c.fs = &fs;
	c.nr_fs = KVMLITE_MAX_FS;
	ck_assert_int_eq(exec_validate(&c, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(cli_exec)
{
	char *ok[] = { "kvmlite",
		       "exec",
		       "--kernel",
		       "/k",
		       "--modules",
		       "/m",
		       "--share",
		       "/h/a:/mnt/a",
		       "--share=/h:b:/mnt/b:ro",
		       "--memory",
		       "512M",
		       "--cpus",
		       "2",
		       "--",
		       "sh",
		       "-c",
		       "exit 3 --help",
		       NULL };
	struct cli_opts o;
	char err[256];
	int argc = (int)(sizeof(ok) / sizeof(ok[0])) - 1;

	ck_assert_int_eq(cli_parse(argc, ok, &o, err, sizeof(err)), 0);
	ck_assert_int_eq(o.command, CLI_EXEC);
	ck_assert_str_eq(o.kernel, "/k");
	ck_assert_str_eq(o.modules, "/m");
	ck_assert_uint_eq(o.nr_shares, 2);
	ck_assert_str_eq(o.shares[0].path, "/h/a");
	ck_assert_str_eq(o.share_mounts[0], "/mnt/a");
	ck_assert_int_eq(o.shares[0].read_only, 0);
	ck_assert_str_eq(o.shares[0].tag, "share0");
	ck_assert_str_eq(o.shares[1].path, "/h:b");
	ck_assert_str_eq(o.share_mounts[1], "/mnt/b");
	ck_assert_int_eq(o.shares[1].read_only, 1);
	ck_assert_str_eq(o.shares[1].tag, "share1");
	ck_assert_uint_eq(o.memory, 512ULL << 20);
	ck_assert_uint_eq(o.cpus, 2);
	ck_assert_str_eq(o.exec_argv[0], "sh");
	ck_assert_str_eq(o.exec_argv[2], "exit 3 --help");
	ck_assert_ptr_null(o.exec_argv[3]);
	cli_free(&o);

	{
		char *help[] = { "kvmlite", "exec", "--help", NULL };

		ck_assert_int_eq(cli_parse(3, help, &o, err, sizeof(err)), 0);
		ck_assert_int_eq(o.command, CLI_HELP);
		cli_free(&o);
	}
	{
		static const struct {
			const char *args[6];
			const char *why;
		} bad[] = {
			{ { "--kernel", "/k", NULL }, "no command" },
			{ { "--kernel", "/k", "--", NULL }, "no command" },
			{ { "--", "true", NULL }, "--kernel PATH is required" },
			{ { "--kernel", "/k", "true", NULL }, "after \"--\"" },
			{ { "--kernel", "/k", "--share", "/h", "--", "true" },
			  "HOST:GUEST" },
			{ { "--kernel", "/k", "--share", "/h:rel", "--",
			    "true" },
			  "must be absolute" },
			{ { "--kernel", "/k", "--share", ":/g", "--", "true" },
			  "empty host" },
			{ { "--kernel", "/k", "--bogus", "--", "true" },
			  "unknown option" },
			{ { "--kernel", "/k", "--memory", "1K", "--", "true" },
			  "--memory" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *argv[9] = { "kvmlite", "exec" };
			int n = 2;

			for (int j = 0; j < 6 && bad[i].args[j]; j++)
				argv[n++] = (char *)bad[i].args[j];
			argv[n] = NULL;
			ck_assert_int_eq(
				cli_parse(n, argv, &o, err, sizeof(err)),
				-EINVAL);
			ck_assert_msg(strstr(err, bad[i].why),
				      "case %zu: '%s' lacks '%s'", i, err,
				      bad[i].why);
			cli_free(&o);
		}
	}
}
END_TEST

/* The library refuses a bad exec before anything else. */
START_TEST(create_refuses)
{
	static const char *const argv[] = { "true", NULL };
	struct kvmlite_config c;
	struct kvmlite_vm *vm = NULL;
	char err[256];

	kvmlite_config_init(&c);
	c.kernel_path = "/nonexistent-kernel";
	c.exec.argv = argv;
	c.exec.root = "/nonexistent-kvmlite-root";
	ck_assert_int_eq(kvmlite_vm_create(&c, &vm, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "exec root /nonexistent"));
	ck_assert_ptr_null(vm);
	c.exec.root = NULL;
	c.exec.modules_dir = "/nonexistent-kvmlite-modules";
	ck_assert_int_lt(kvmlite_vm_create(&c, &vm, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-kvmlite-modules"));
}
END_TEST

START_TEST(init_embedded)
{
	/* A static ELF executable. */
	ck_assert_uint_gt(exec_init_image_end - exec_init_image, 4096);
	ck_assert_mem_eq(exec_init_image,
			 "\x7f"
			 "ELF",
			 4);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exec");
	TCase *tc = tcase_create("exec");

	tcase_add_test(tc, cpio_round_trip);
	tcase_add_test(tc, modules_dep);
	tcase_add_test(tc, modules_scan);
	tcase_add_test(tc, plan);
	tcase_add_test(tc, demux_frames);
	tcase_add_test(tc, validate);
	tcase_add_test(tc, cli_exec);
	tcase_add_test(tc, create_refuses);
	tcase_add_test(tc, init_embedded);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
