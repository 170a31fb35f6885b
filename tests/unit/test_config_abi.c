/*
 * The config ABI rule (kvmlite.h): the library reads a caller's structs as
 * far as the sizes it was built with, refuses fields it does not know, and
 * fills output structs no further than the caller's size.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

/* A caller built against a newer header: bigger structs. */
struct big_config {
	struct kvmlite_config cfg;
	uint64_t newer_field;
};
struct big_disk {
	struct kvmlite_disk d;
	int newer_flag;
};

START_TEST(init_records_sizes)
{
	struct kvmlite_config c;

	memset(&c, 0xa5, sizeof(c));
	kvmlite_config_init(&c);
	ck_assert_uint_eq(c.struct_size, sizeof(c));
	ck_assert_uint_eq(c.disk_size, sizeof(struct kvmlite_disk));
	ck_assert_uint_eq(c.net_size, sizeof(struct kvmlite_net));
	ck_assert_uint_eq(c.cpus, 1);
	ck_assert_int_eq(c.console_in_fd, -1);
	ck_assert_int_eq(c.console_escapes, 0);
}
END_TEST

START_TEST(bigger_caller)
{
	struct big_config b;
	struct big_disk disks[2];
	struct config_native n;
	char err[256];

	memset(&b, 0xa5, sizeof(b));
	kvmlite_config_init_sized(&b.cfg, sizeof(b), sizeof(disks[0]),
				  sizeof(struct kvmlite_net));
	ck_assert_uint_eq(b.newer_field, 0); /* zeroed, not left as is */
	memset(disks, 0, sizeof(disks));
	disks[0].d.path = "a.img";
	disks[1].d.path = "b.img";
	disks[1].d.read_only = 1;
	b.cfg.kernel_path = "k";
	b.cfg.disks = &disks[0].d;
	b.cfg.nr_disks = 2;
	/* Fields we do not know, left zero: read with the caller's stride. */
	ck_assert_int_eq(config_import(&b.cfg, &n, err, sizeof(err)), 0);
	ck_assert_str_eq(n.cfg.disks[1].path, "b.img");
	ck_assert_int_eq(n.cfg.disks[1].read_only, 1);
	ck_assert_int_eq(config_validate(&n.cfg, err, sizeof(err)), 0);
	/* Set: refused, not ignored. */
	b.newer_field = 1;
	ck_assert_int_eq(config_import(&b.cfg, &n, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "does not know"));
	b.newer_field = 0;
	disks[1].newer_flag = 1;
	ck_assert_int_eq(config_import(&b.cfg, &n, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "disk 1 sets fields"));
}
END_TEST

START_TEST(not_initialized)
{
	struct kvmlite_config c;
	struct config_native n;
	char err[256];

	memset(&c, 0, sizeof(c));
	c.kernel_path = "k";
	ck_assert_int_eq(config_import(&c, &n, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "kvmlite_config_init()"));
}
END_TEST

/* A config file loaded for a caller whose disks are bigger: the array it
 * gets has its stride. */
START_TEST(load_repacks)
{
	char path[] = "/tmp/kvmlite-abi-XXXXXX", err[256];
	static const char text[] =
		"{\"kernel\": \"/k\", \"disks\": [{\"path\": \"/a\"}, "
		"{\"path\": \"/b\", \"ro\": true}]}";
	struct big_config b;
	const struct big_disk *d;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1),
			 (ssize_t)sizeof(text) - 1);
	close(fd);
	ck_assert_int_eq(kvmlite_config_load_sized(path, &b.cfg, sizeof(b),
						   sizeof(struct big_disk),
						   sizeof(struct kvmlite_net),
						   err, sizeof(err)),
			 0);
	ck_assert_uint_eq(b.cfg.struct_size, sizeof(b));
	ck_assert_uint_eq(b.cfg.disk_size, sizeof(struct big_disk));
	ck_assert_uint_eq(b.cfg.nr_disks, 2);
	d = (const struct big_disk *)b.cfg.disks;
	ck_assert_str_eq(d[1].d.path, "/b");
	ck_assert_int_eq(d[1].d.read_only, 1);
	ck_assert_int_eq(d[1].newer_flag, 0);
	ck_assert_uint_eq(b.newer_field, 0);
	kvmlite_config_release(&b.cfg);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config_abi");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, init_records_sizes);
	tcase_add_test(tc, bigger_caller);
	tcase_add_test(tc, not_initialized);
	tcase_add_test(tc, load_repacks);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
