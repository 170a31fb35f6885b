/* JSON configuration files: good files and every kind of mistake. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "kvmlite.h"
#include "unit.h"

static char dir[] = "/tmp/kvmlite-config-XXXXXX";
static char path[256];

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.json", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
	strcpy(dir, "/tmp/kvmlite-config-XXXXXX");
}

START_TEST(full_file)
{
	struct kvmlite_config c;
	char err[512] = "", want[300];

	write_file("{\n"
		   "  \"name\": \"vm1\",\n"
		   "  \"kernel\": \"bzImage\",\n"
		   "  \"initrd\": \"/abs/initrd.gz\",\n"
		   "  \"cmdline\": \"console=ttyS0 quiet\",\n"
		   "  \"cpus\": 4,\n"
		   "  \"memory\": \"1G\",\n"
		   "  \"serial\": \"file:console.log\",\n"
		   "  \"boot_timing\": \"json\",\n"
		   "  \"snapshot_dir\": \"snaps\",\n"
		   "  \"disks\": [ {\"path\": \"a.img\", \"overlay\": true},\n"
		   "             {\"path\": \"/b.img\", \"ro\": true, "
		   "\"serial\": \"bee\"} ],\n"
		   "  \"nets\": [ {\"tap\": \"tap0\", \"mac\": "
		   "\"52:54:00:00:00:01\"} ]\n"
		   "}\n");
	ck_assert_int_eq(kvmlite_config_load(path, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.name, "vm1");
	snprintf(want, sizeof(want), "%s/bzImage", dir);
	ck_assert_str_eq(c.kernel_path, want);
	ck_assert_str_eq(c.initrd_path, "/abs/initrd.gz");
	ck_assert_str_eq(c.cmdline, "console=ttyS0 quiet");
	ck_assert_uint_eq(c.cpus, 4);
	ck_assert_uint_eq(c.memory, 1ULL << 30);
	snprintf(want, sizeof(want), "file:%s/console.log", dir);
	ck_assert_str_eq(c.serial, want);
	ck_assert_str_eq(c.boot_timing, "json");
	ck_assert_uint_eq(c.nr_disks, 2);
	snprintf(want, sizeof(want), "%s/a.img", dir);
	ck_assert_str_eq(c.disks[0].path, want);
	ck_assert_int_eq(c.disks[0].read_only, 0);
	ck_assert_int_eq(c.disks[0].overlay, 1);
	ck_assert_int_eq(c.disks[1].overlay, 0);
	snprintf(want, sizeof(want), "%s/snaps", dir);
	ck_assert_str_eq(c.snapshot_dir, want);
	ck_assert_str_eq(c.disks[1].path, "/b.img");
	ck_assert_int_eq(c.disks[1].read_only, 1);
	ck_assert_str_eq(c.disks[1].serial, "bee");
	ck_assert_uint_eq(c.nr_nets, 1);
	ck_assert_str_eq(c.nets[0].tap, "tap0");
	ck_assert_str_eq(c.nets[0].mac, "52:54:00:00:00:01");
	kvmlite_config_release(&c);
	ck_assert_ptr_null(c.storage);
}
END_TEST

/* A size string without a unit is MiB, as on the command line; a JSON
 * number stays a number of bytes. */
START_TEST(memory_units)
{
	struct kvmlite_config c;
	char err[512];

	write_file("{\"kernel\": \"k\", \"memory\": \"512\"}");
	ck_assert_int_eq(kvmlite_config_load(path, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.memory, 512ULL << 20);
	kvmlite_config_release(&c);
	write_file("{\"kernel\": \"k\", \"memory\": \"67108864B\"}");
	ck_assert_int_eq(kvmlite_config_load(path, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.memory, 64ULL << 20);
	kvmlite_config_release(&c);
	write_file("{\"kernel\": \"k\", \"memory\": \"67108864\"}");
	ck_assert_int_eq(kvmlite_config_load(path, &c, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "1:17: memory: must be a multiple of "
					  "4K from 16M to 1T (a number "
					  "without a unit is MiB)"));
	kvmlite_config_release(&c);
}
END_TEST

/* "hugepages": guest RAM from the hugetlb pool; off by default. */
START_TEST(hugepages_key)
{
	struct kvmlite_config c;
	char err[512];

	write_file("{\"kernel\": \"k\", \"memory\": \"64M\", "
		   "\"hugepages\": true}");
	ck_assert_int_eq(kvmlite_config_load(path, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.hugepages, 1);
	kvmlite_config_release(&c);
	write_file("{\"kernel\": \"k\"}");
	ck_assert_int_eq(kvmlite_config_load(path, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.hugepages, 0);
	kvmlite_config_release(&c);
}
END_TEST

START_TEST(defaults)
{
	struct kvmlite_config c;
	char err[512];

	write_file("{\"kernel\": \"k\", \"memory\": 67108864, "
		   "\"boot_timing\": true}");
	ck_assert_int_eq(kvmlite_config_load(path, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.cpus, 1);
	ck_assert_uint_eq(c.memory, 64ULL << 20);
	ck_assert_str_eq(c.boot_timing, "text");
	ck_assert_ptr_null(c.initrd_path);
	ck_assert_uint_eq(c.nr_disks, 0);
	kvmlite_config_release(&c);
}
END_TEST

/* Each mistake: the message names file:line:col, the key, the problem. */
START_TEST(mistakes)
{
	static const struct {
		const char *text;
		const char *want; /* after "PATH:" */
	} cases[] = {
		{ "{\n  \"kernel\": \"k\",\n  \"cpu\": 2\n}",
		  "3:3: cpu: unknown key" },
		{ "{\"kernel\": \"k\", \"cpus\": 0}",
		  "1:17: cpus: expected a whole number from 1 to 255" },
		{ "{\"kernel\": \"k\", \"cpus\": \"2\"}",
		  "1:17: cpus: expected" },
		{ "{\"kernel\": \"k\", \"cpus\": 2.5}",
		  "1:17: cpus: expected" },
		{ "{\"kernel\": \"k\", \"memory\": \"lots\"}",
		  "1:17: memory: expected a size" },
		{ "{\"kernel\": \"k\", \"memory\": \"1M\"}",
		  "1:17: memory: must be a multiple of 4K from 16M to 1T" },
		{ "{\"kernel\": \"k\", \"memory\": -5}", "memory: expected" },
		{ "{\"kernel\": \"k\", \"hugepages\": \"on\"}",
		  "1:17: hugepages: expected true or false" },
		{ "{\"kernel\": \"k\", \"memory\": \"17M\", \"hugepages\": "
		  "true}",
		  "1:34: hugepages: needs \"memory\" to be a multiple of 2M" },
		{ "{\"kernel\": 5}", "1:2: kernel: expected a string" },
		{ "{\"kernel\": \"\"}", "1:2: kernel: must not be empty" },
		{ "{\"kernel\": \"k\", \"serial\": \"tcp:1\"}",
		  "serial: expected \"stdio\", \"file:PATH\" or \"none\"" },
		{ "{\"kernel\": \"k\", \"boot_timing\": \"xml\"}",
		  "boot_timing: expected" },
		{ "{\"kernel\": \"k\",\n \"disks\": {\"path\": \"a\"}}",
		  "2:2: disks: expected a list" },
		{ "{\"kernel\": \"k\",\n \"disks\": [\"a.img\"]}",
		  "2:12: disks[0]: expected an object" },
		{ "{\"kernel\": \"k\",\n \"disks\": [{\"path\": \"a\"},\n"
		  "   {\"path\": \"b\", \"ro\": \"yes\"}]}",
		  "3:18: disks[1].ro: expected true or false" },
		{ "{\"kernel\": \"k\", \"disks\": [{\"ro\": true}]}",
		  "disks[0].path: missing" },
		{ "{\"kernel\": \"k\", \"disks\": [{\"path\": \"a\", "
		  "\"serial\": \"123456789012345678901\"}]}",
		  "disks[0].serial: longer than 20 bytes" },
		{ "{\"kernel\": \"k\", \"disks\": [{\"path\": \"a\", "
		  "\"size\": 5}]}",
		  "disks[0].size: unknown key" },
		{ "{\"kernel\": \"k\", \"nets\": [{\"mac\": \"x\"}]}",
		  "nets[0].tap: missing" },
		{ "{\"kernel\": \"k\", \"nets\": [{\"tap\": \"t\", "
		  "\"vhost\": true}]}",
		  "nets[0].vhost: unknown key" },
		{ "{\"kernel\": \"k\", \"kernel\": \"j\"}",
		  "duplicate object key" },
		{ "{\"kernel\": \"k\",}", "1:16:" },
		{ "[1, 2]", "1:1: the top level must be an object" },
		{ "", "1:0:" },
		{ "{\"kernel\": \"k\", \"name\": \"a\\u0000b\"}",
		  "1:34: \\u0000 is not allowed" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kvmlite_config c;
		char err[512] = "", want[600];

		write_file(cases[i].text);
		ck_assert_msg(kvmlite_config_load(path, &c, err, sizeof(err)) ==
				      -EINVAL,
			      "case %zu accepted", i);
		snprintf(want, sizeof(want), "%s:%s", path, cases[i].want);
		ck_assert_msg(strstr(err, cases[i].want) &&
				      !strncmp(err, path, strlen(path)),
			      "case %zu: got '%s', want '%s'", i, err, want);
		ck_assert_ptr_null(strchr(err, '\n'));
		kvmlite_config_release(&c);
	}
}
END_TEST

/* "rng", "vsock" and "nets": [{"passt": ...}] (0.4), and the checks
 * every configuration passes (config_validate, through create). */
START_TEST(devices_0_4)
{
	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
		{ "{\"kernel\": \"k\", \"rng\": 1}",
		  "rng: expected true or false" },
		{ "{\"kernel\": \"k\", \"vsock\": [3]}",
		  "vsock: expected an object" },
		{ "{\"kernel\": \"k\", \"vsock\": {\"cid\": 2, \"uds\": "
		  "\"v\"}}",
		  "vsock.cid: expected a whole number from 3 to 4294967294" },
		{ "{\"kernel\": \"k\", \"vsock\": {\"cid\": \"3\", \"uds\": "
		  "\"v\"}}",
		  "vsock.cid: expected a whole number" },
		{ "{\"kernel\": \"k\", \"vsock\": {\"cid\": 3}}",
		  "vsock.uds: missing" },
		{ "{\"kernel\": \"k\", \"vsock\": {\"cid\": 3, \"uds\": \"v\", "
		  "\"port\": 1}}",
		  "vsock.port: unknown key" },
		{ "{\"kernel\": \"k\", \"nets\": [{\"tap\": \"t\", \"passt\": "
		  "true}]}",
		  "nets[0].tap: not together with \"passt\"" },
		{ "{\"kernel\": \"k\", \"nets\": [{\"passt\": 1}]}",
		  "nets[0].passt: expected a string" },
		{ "{\"kernel\": \"k\", \"nets\": [{\"passt\": false}]}",
		  "nets[0].tap: missing (or \"passt\")" },
	};
	struct kvmlite_config c;
	struct kvmlite_vm *vm = NULL;
	char err[512] = "", want[300];

	write_file("{\"kernel\": \"k\", \"rng\": true,\n"
		   " \"vsock\": {\"cid\": 42, \"uds\": \"v.sock\"},\n"
		   " \"nets\": [{\"passt\": true}, {\"passt\": \"p.sock\"},\n"
		   "   {\"tap\": \"t0\", \"passt\": false}]}");
	ck_assert_int_eq(kvmlite_config_load(path, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.rng, 1);
	ck_assert_uint_eq(c.vsock.cid, 42);
	snprintf(want, sizeof(want), "%s/v.sock", dir);
	ck_assert_str_eq(c.vsock.uds, want);
	ck_assert_uint_eq(c.nr_nets, 3);
	ck_assert_str_eq(c.nets[0].passt, "");
	ck_assert_ptr_null(c.nets[0].tap);
	snprintf(want, sizeof(want), "%s/p.sock", dir);
	ck_assert_str_eq(c.nets[1].passt, want);
	ck_assert_str_eq(c.nets[2].tap, "t0");
	ck_assert_ptr_null(c.nets[2].passt);
	kvmlite_config_release(&c);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(bad[i].text);
		ck_assert_msg(kvmlite_config_load(path, &c, err, sizeof(err)) ==
				      -EINVAL,
			      "case %zu accepted", i);
		ck_assert_msg(strstr(err, bad[i].want), "case %zu: got '%s'", i,
			      err);
		kvmlite_config_release(&c);
	}

	/* What only the library's checks see. */
	kvmlite_config_init(&c);
	c.kernel_path = "k";
	c.vsock.cid = 3;
	ck_assert_int_eq(kvmlite_vm_create(&c, &vm, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "vsock: no uds=PATH given");
	c.vsock.uds = "/tmp/a-very-long-path-that-goes-on-and-on-and-on-"
		      "and-on-and-on-and-on-and-on-and-on-and-on-and-on.sock";
	ck_assert_int_eq(kvmlite_vm_create(&c, &vm, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "vsock: uds path longer than 96 bytes");
	c.vsock.cid = 0;
	ck_assert_int_eq(kvmlite_vm_create(&c, &vm, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "vsock: uds given without a cid");
	c.vsock.uds = NULL;
	c.vsock.cid = 1;
	ck_assert_int_eq(kvmlite_vm_create(&c, &vm, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "vsock: cid 1: need a whole number from 3 to "
			      "4294967294");
	ck_assert_ptr_null(vm);

	/* Saved since 2026-12-01: a snapshot directory with them is fine. */
	c.vsock.cid = 0;
	c.rng = 1;
	c.snapshot_dir = "/tmp/snaps";
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), 0);
	c.rng = 0;
	c.vsock.cid = 3;
	c.vsock.uds = "/tmp/v.sock";
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), 0);
}
END_TEST

/* "fs" (0.5): the list, its mistakes, and the library's checks (a
 * directory, tag length, tags unique, the device count). */
START_TEST(shares_0_5)
{
	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
		{ "{\"kernel\": \"k\", \"fs\": {\"path\": \"d\"}}",
		  "fs: expected a list" },
		{ "{\"kernel\": \"k\", \"fs\": [{\"path\": \"d\"}]}",
		  "fs[0].tag: missing" },
		{ "{\"kernel\": \"k\", \"fs\": [{\"tag\": \"t\"}]}",
		  "fs[0].path: missing" },
		{ "{\"kernel\": \"k\", \"fs\": [{\"path\": \"d\", \"tag\": "
		  "\"t\", \"ro\": 1}]}",
		  "fs[0].ro: expected true or false" },
		{ "{\"kernel\": \"k\", \"fs\": [{\"path\": \"d\", \"tag\": "
		  "\"012345678901234567890123456789012\"}]}",
		  "fs[0].tag: longer than 32" },
		{ "{\"kernel\": \"k\", \"fs\": [{\"path\": \"d\", \"tag\": "
		  "\"t\", \"cache\": true}]}",
		  "fs[0].cache: unknown key" },
	};
	struct kvmlite_fs fs[KVMLITE_MAX_FS + 1];
	struct kvmlite_config c;
	char err[512] = "", want[300];

	write_file("{\"kernel\": \"k\", \"fs\": [\n"
		   "  {\"path\": \"shared\", \"tag\": \"share0\"},\n"
		   "  {\"path\": \"/srv\", \"tag\": \"data\", \"ro\": true}]}");
	ck_assert_int_eq(kvmlite_config_load(path, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.nr_fs, 2);
	snprintf(want, sizeof(want), "%s/shared", dir);
	ck_assert_str_eq(c.fs[0].path, want);
	ck_assert_str_eq(c.fs[0].tag, "share0");
	ck_assert_int_eq(c.fs[0].read_only, 0);
	ck_assert_str_eq(c.fs[1].path, "/srv");
	ck_assert_int_eq(c.fs[1].read_only, 1);
	kvmlite_config_release(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(bad[i].text);
		ck_assert_msg(kvmlite_config_load(path, &c, err, sizeof(err)) ==
				      -EINVAL,
			      "case %zu accepted", i);
		ck_assert_msg(strstr(err, bad[i].want), "case %zu: got '%s'", i,
			      err);
		kvmlite_config_release(&c);
	}

	kvmlite_config_init(&c);
	c.kernel_path = "k";
	c.fs = fs;
	c.nr_fs = 1;
	fs[0] = (struct kvmlite_fs){ .path = dir, .tag = "a" };
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), 0);
	fs[0].path = path; /* vm.json: not a directory */
	write_file("{}");
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
	fs[0].path = "/nonexistent/share";
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "fs /nonexistent/share: No such file or "
			      "directory");
	fs[0].path = dir;
	fs[0].tag = "";
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no tag given"));
	fs[0].tag = "012345678901234567890123456789012";
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "tag longer than 32 bytes"));
	fs[0].tag = "a";
	fs[1] = fs[0];
	c.nr_fs = 2;
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "tag 'a' given twice"));
	for (int i = 0; i <= KVMLITE_MAX_FS; i++)
		fs[i] = (struct kvmlite_fs){ .path = dir,
					     .tag = (const char *[]){
						     "0", "1", "2", "3", "4",
						     "5", "6", "7", "8" }[i] };
	c.nr_fs = KVMLITE_MAX_FS + 1;
	ck_assert_int_eq(config_validate(&c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "9 shares: at most 8");
	/* 8 shares and 12 disks: 20 devices, one over. */
	{
		struct kvmlite_disk d[12];

		for (int i = 0; i < 12; i++)
			d[i] = (struct kvmlite_disk){ .path = "x.img" };
		c.nr_fs = KVMLITE_MAX_FS;
		c.disks = d;
		c.nr_disks = 12;
		ck_assert_int_eq(config_validate(&c, err, sizeof(err)),
				 -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "at most 19 virtio"));
	}
	unlink(path);
}
END_TEST

START_TEST(missing_file)
{
	struct kvmlite_config c;
	char err[512];

	ck_assert_int_eq(kvmlite_config_load("/nonexistent/vm.json", &c, err,
					     sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/vm.json"));
	kvmlite_config_release(&c);
}
END_TEST

/* Special files are refused without blocking: a FIFO nobody writes to
 * would hang a plain open() (Check's timeout catches that). */
START_TEST(special_files)
{
	static const char *const paths[] = { NULL, "/dev/null", "/dev/zero" };
	struct kvmlite_config c;
	char fifo[300], err[512], want[400];

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *p = paths[i] ? paths[i] : fifo;

		ck_assert_int_eq(kvmlite_config_load(p, &c, err, sizeof(err)),
				 -EINVAL);
		snprintf(want, sizeof(want), "%s: not a regular file", p);
		ck_assert_str_eq(err, want);
		kvmlite_config_release(&c);
	}
	unlink(fifo);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, full_file);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, memory_units);
	tcase_add_test(tc, hugepages_key);
	tcase_add_test(tc, mistakes);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, devices_0_4);
	tcase_add_test(tc, shares_0_5);
	tcase_add_test(tc, special_files);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
