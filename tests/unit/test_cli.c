/* Command-line parsing. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "unit.h"

#define ARGV(...) ((char *const[]){ "kvmlite", __VA_ARGS__, NULL })
#define ARGC(...)                                                              \
	((int)(sizeof((char *[]){ "kvmlite", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, err, ...)                                                     \
	cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), o, err, sizeof(err))

START_TEST(run_full)
{
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz", "--initrd=i",
			       "--cmdline", "console=ttyS0 quiet", "--cpus",
			       "2", "--memory", "512M", "--serial",
			       "file:/tmp/x", "--boot-timing=json"),
			 0);
	ck_assert_int_eq(o.command, CLI_RUN);
	ck_assert_str_eq(o.kernel, "bz");
	ck_assert_str_eq(o.initrd, "i");
	ck_assert_str_eq(o.cmdline, "console=ttyS0 quiet");
	ck_assert_uint_eq(o.cpus, 2);
	ck_assert_uint_eq(o.memory, 512ULL << 20);
	ck_assert_int_eq(o.serial, CLI_SERIAL_FILE);
	ck_assert_str_eq(o.serial_path, "/tmp/x");
	ck_assert_int_eq(o.timing, CLI_TIMING_JSON);
}
END_TEST

START_TEST(api_socket)
{
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz"), 0);
	ck_assert_ptr_null(o.api_socket);
	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz", "--api-socket",
			       "/run/user/0/vm.sock"),
			 0);
	ck_assert_str_eq(o.api_socket, "/run/user/0/vm.sock");
	ck_assert_int_eq(
		PARSE(&o, err, "run", "--kernel", "bz", "--api-socket=s"), 0);
	ck_assert_str_eq(o.api_socket, "s");
	ck_assert_int_eq(
		PARSE(&o, err, "run", "--kernel", "bz", "--api-socket="),
		-EINVAL);
	ck_assert_str_eq(err, "--api-socket: empty path");
	ck_assert_int_eq(
		PARSE(&o, err, "run", "--kernel", "bz", "--api-socket"),
		-EINVAL);
	ck_assert_str_eq(err, "--api-socket needs a value");
	ck_assert(strstr(cli_usage, "--api-socket PATH"));
}
END_TEST

/* --memory without a unit is MiB; a byte count now needs "B" and says so
 * when it is out of range. */
START_TEST(memory_units)
{
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(
		PARSE(&o, err, "run", "--kernel", "bz", "--memory", "512"), 0);
	ck_assert_uint_eq(o.memory, 512ULL << 20);
	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz", "--memory",
			       "268435456B"),
			 0);
	ck_assert_uint_eq(o.memory, 256ULL << 20);
	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz", "--memory",
			       "268435456"),
			 -EINVAL);
	ck_assert_str_eq(err, "--memory '268435456': must be from 16M to 1T "
			      "(a number without a unit is MiB)");
	ck_assert_int_eq(
		PARSE(&o, err, "run", "--kernel", "bz", "--memory", "8"),
		-EINVAL);
	ck_assert_str_eq(err, "--memory '8': must be from 16M to 1T (a number "
			      "without a unit is MiB)");
	ck_assert_int_eq(
		PARSE(&o, err, "run", "--kernel", "bz", "--memory", "8M"),
		-EINVAL);
	ck_assert_str_eq(err, "--memory '8M': must be from 16M to 1T");
}
END_TEST

/* --memory SIZE,hugepages=on|off; errors quote the whole value. */
START_TEST(memory_hugepages)
{
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz", "--memory",
			       "2G,hugepages=on"),
			 0);
	ck_assert_uint_eq(o.memory, 2ULL << 30);
	ck_assert_int_eq(o.hugepages, 1);
	ck_assert(o.set & CLI_SET_HUGEPAGES);
	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz", "--memory",
			       "512,hugepages=off"),
			 0);
	ck_assert_uint_eq(o.memory, 512ULL << 20);
	ck_assert_int_eq(o.hugepages, 0);
	ck_assert(o.set & CLI_SET_HUGEPAGES);
	ck_assert_int_eq(
		PARSE(&o, err, "run", "--kernel", "bz", "--memory", "512M"), 0);
	ck_assert(!(o.set & CLI_SET_HUGEPAGES));
	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz", "--memory",
			       "17M,hugepages=on"),
			 -EINVAL);
	ck_assert_str_eq(err, "--memory '17M': with hugepages=on it must be a "
			      "multiple of 2M");
	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz", "--memory",
			       "2G,hugepages=yes please"),
			 -EINVAL);
	ck_assert_str_eq(err, "--memory '2G,hugepages=yes please': hugepages= "
			      "wants on or off");
	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz", "--memory",
			       "2G,thp=on"),
			 -EINVAL);
	ck_assert_str_eq(err, "--memory '2G,thp=on': unknown option 'thp=on' "
			      "(hugepages=on|off)");
	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz", "--memory",
			       ",hugepages=on"),
			 -EINVAL);
	ck_assert_str_eq(err, "--memory '': not a size (e.g. 512M, 2G)");
}
END_TEST

START_TEST(run_defaults)
{
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz"), 0);
	ck_assert_uint_eq(o.cpus, 1);
	ck_assert_uint_eq(o.memory, 256ULL << 20);
	ck_assert_int_eq(o.serial, CLI_SERIAL_STDIO);
	ck_assert_ptr_null(o.initrd);
	ck_assert_ptr_null(o.cmdline);
	ck_assert_int_eq(o.timing, CLI_TIMING_OFF);
	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz",
			       "--boot-timing", "--serial", "none"),
			 0);
	ck_assert_int_eq(o.timing, CLI_TIMING_TEXT);
	ck_assert_int_eq(o.serial, CLI_SERIAL_NONE);
}
END_TEST

START_TEST(disks)
{
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "k", "--disk",
			       "path=/a.img", "--disk",
			       "path=/b.img,ro=on,serial=disk-b"),
			 0);
	ck_assert_uint_eq(o.nr_disks, 2);
	ck_assert_str_eq(o.disks[0].path, "/a.img");
	ck_assert_int_eq(o.disks[0].read_only, 0);
	ck_assert_ptr_null(o.disks[0].serial);
	ck_assert_str_eq(o.disks[1].path, "/b.img");
	ck_assert_int_eq(o.disks[1].read_only, 1);
	ck_assert_str_eq(o.disks[1].serial, "disk-b");
	cli_free(&o);

	/* The seventeenth disk is one too many. */
	{
		char *argv[40] = { "kvmlite", "run", "--kernel", "k" };
		int argc = 4;

		for (int i = 0; i < 17; i++) {
			argv[argc++] = "--disk";
			argv[argc++] = "path=x";
		}
		ck_assert_int_eq(cli_parse(argc, argv, &o, err, sizeof(err)),
				 -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "at most 16"));
		cli_free(&o);
	}
}
END_TEST

START_TEST(help_version)
{
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(PARSE(&o, err, "--help"), 0);
	ck_assert_int_eq(o.command, CLI_HELP);
	ck_assert_int_eq(PARSE(&o, err, "--version"), 0);
	ck_assert_int_eq(o.command, CLI_VERSION);
	ck_assert_int_eq(PARSE(&o, err, "run", "--help"), 0);
	ck_assert_int_eq(o.command, CLI_HELP);
}
END_TEST

/* --rng, --vsock and --net passt (0.4), and their mistakes. */
START_TEST(devices_0_4)
{
	static const struct {
		const char *argv[8];
		const char *needle;
	} bad[] = {
		{ { "run", "--kernel", "k", "--vsock", "cid=2,uds=/v" },
		  "--vsock: cid=2: need a whole number from 3 to 4294967294" },
		{ { "run", "--kernel", "k", "--vsock",
		    "cid=4294967295,uds=/v" },
		  "cid=4294967295" },
		{ { "run", "--kernel", "k", "--vsock", "cid=3x,uds=/v" },
		  "cid=3x" },
		{ { "run", "--kernel", "k", "--vsock", "uds=/v" },
		  "--vsock: cid=N is required" },
		{ { "run", "--kernel", "k", "--vsock", "cid=3" },
		  "--vsock: uds=PATH is required" },
		{ { "run", "--kernel", "k", "--vsock", "cid=3,uds=" },
		  "--vsock: empty uds path" },
		{ { "run", "--kernel", "k", "--vsock", "cid=3,uds=/a",
		    "--vsock", "cid=4,uds=/b" },
		  "--vsock: given twice" },
		{ { "run", "--kernel", "k", "--vsock", "cid=3,port=1,uds=/a" },
		  "--vsock: unknown key 'port' (cid, uds)" },
		{ { "run", "--kernel", "k", "--net", "passt,tap=t" },
		  "--net: tap and passt: give one of them" },
		{ { "run", "--kernel", "k", "--net", "passt=" },
		  "--net: empty passt" },
		{ { "run", "--kernel", "k", "--net", "mac=52:54:00:00:00:01" },
		  "--net: tap=NAME or passt is required" },
		{ { "run", "--kernel", "k", "--net", "tap" },
		  "--net: 'tap' is not key=value" },
	};
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "k", "--rng",
			       "--vsock", "cid=3,uds=/tmp/v.sock", "--net",
			       "passt", "--net",
			       "passt=/run/p.sock,mac=52:54:00:00:00:09"),
			 0);
	ck_assert(o.set & CLI_SET_RNG);
	ck_assert(o.set & CLI_SET_VSOCK);
	ck_assert_uint_eq(o.vsock.cid, 3);
	ck_assert_str_eq(o.vsock.uds, "/tmp/v.sock");
	ck_assert_uint_eq(o.nr_nets, 2);
	ck_assert_ptr_null(o.nets[0].tap);
	ck_assert_str_eq(o.nets[0].passt, "");
	ck_assert_str_eq(o.nets[1].passt, "/run/p.sock");
	ck_assert_str_eq(o.nets[1].mac, "52:54:00:00:00:09");
	cli_free(&o);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 0;

		while (argc < 8 && bad[i].argv[argc])
			argc++;
		{
			char *argv[10] = { "kvmlite" };

			for (int j = 0; j < argc; j++)
				argv[j + 1] = (char *)bad[i].argv[j];
			ck_assert_msg(cli_parse(argc + 1, argv, &o, err,
						sizeof(err)) == -EINVAL,
				      "case %zu accepted", i);
		}
		ck_assert_msg(strstr(err, bad[i].needle),
			      "case %zu: got '%s', want '%s'", i, err,
			      bad[i].needle);
		cli_free(&o);
	}
}
END_TEST

/* --fs (0.5), repeatable, and its mistakes. */
START_TEST(shares_0_5)
{
	static const struct {
		const char *argv[8];
		const char *needle;
	} bad[] = {
		{ { "run", "--kernel", "k", "--fs", "path=/d" },
		  "--fs: tag=TAG is required" },
		{ { "run", "--kernel", "k", "--fs", "tag=t" },
		  "--fs: path=DIR is required" },
		{ { "run", "--kernel", "k", "--fs", "path=/d,tag=" },
		  "--fs: empty tag" },
		{ { "run", "--kernel", "k", "--fs", "path=/d,tag=t,ro=maybe" },
		  "--fs: ro=maybe: expected on or off" },
		{ { "run", "--kernel", "k", "--fs",
		    "path=/d,tag=012345678901234567890123456789012" },
		  "is longer than 32 bytes" },
		{ { "run", "--kernel", "k", "--fs", "path=/d,tag=t,cache=1" },
		  "--fs: unknown key 'cache' (path, tag, ro)" },
		{ { "run", "--kernel", "k", "--fs" }, "--fs needs a value" },
	};
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "k", "--fs",
			       "path=/srv/a,tag=a", "--fs=path=/b,tag=b,ro=on"),
			 0);
	ck_assert_uint_eq(o.nr_fs, 2);
	ck_assert_str_eq(o.fs[0].path, "/srv/a");
	ck_assert_str_eq(o.fs[0].tag, "a");
	ck_assert_int_eq(o.fs[0].read_only, 0);
	ck_assert_str_eq(o.fs[1].path, "/b");
	ck_assert_int_eq(o.fs[1].read_only, 1);
	cli_free(&o);
	ck_assert_int_ne(PARSE(&o, err, "run", "--kernel", "k", "--fs",
			       "path=/0,tag=0", "--fs", "path=/1,tag=1", "--fs",
			       "path=/2,tag=2", "--fs", "path=/3,tag=3", "--fs",
			       "path=/4,tag=4", "--fs", "path=/5,tag=5", "--fs",
			       "path=/6,tag=6", "--fs", "path=/7,tag=7", "--fs",
			       "path=/8,tag=8"),
			 0);
	ck_assert_str_eq(err, "--fs: at most 8 shares");
	cli_free(&o);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 0;

		while (argc < 8 && bad[i].argv[argc])
			argc++;
		{
			char *argv[10] = { "kvmlite" };

			for (int j = 0; j < argc; j++)
				argv[j + 1] = (char *)bad[i].argv[j];
			ck_assert_msg(cli_parse(argc + 1, argv, &o, err,
						sizeof(err)) == -EINVAL,
				      "case %zu accepted", i);
		}
		ck_assert_msg(strstr(err, bad[i].needle),
			      "case %zu: got '%s', want '%s'", i, err,
			      bad[i].needle);
		cli_free(&o);
	}
}
END_TEST

/* Every bad command line gets -EINVAL and a message naming the culprit. */
START_TEST(bad_arguments)
{
	static const struct {
		const char *argv[8];
		const char *needle;
	} cases[] = {
		{ { "frobnicate" }, "frobnicate" },
		{ { "run" }, "--kernel" },
		{ { "run", "--kernel" }, "--kernel needs a value" },
		{ { "run", "--kernel", "" }, "--kernel" },
		{ { "run", "--kernel", "k", "--cpus", "0" }, "--cpus '0'" },
		{ { "run", "--kernel", "k", "--cpus", "256" }, "--cpus '256'" },
		{ { "run", "--kernel", "k", "--cpus", "two" }, "--cpus 'two'" },
		{ { "run", "--kernel", "k", "--memory", "lots" },
		  "--memory 'lots'" },
		{ { "run", "--kernel", "k", "--memory", "1M" },
		  "--memory '1M'" },
		{ { "run", "--kernel", "k", "--memory", "2T" },
		  "--memory '2T'" },
		{ { "run", "--kernel", "k", "--memory", "100000001B" },
		  "multiple of 4K" },
		{ { "run", "--kernel", "k", "--memory",
		    "99999999999999999999999" },
		  "too large" },
		{ { "run", "--kernel", "k", "--serial", "tcp:1" },
		  "--serial 'tcp:1'" },
		{ { "run", "--kernel", "k", "--serial", "file:" },
		  "--serial 'file:'" },
		{ { "run", "--kernel", "k", "--bogus" }, "--bogus" },
		{ { "run", "--kernel", "k", "stray" }, "stray" },
		{ { "run", "--kernel", "k", "--boot-timing=xml" }, "xml" },
		{ { "run", "--kernelx", "k" }, "--kernelx" },
		{ { "run", "--kernel", "k", "--cpus" },
		  "--cpus needs a value" },
		{ { "run", "--kernel", "k", "--disk", "ro=on" },
		  "path=FILE is required" },
		{ { "run", "--kernel", "k", "--disk", "path=" }, "empty path" },
		{ { "run", "--kernel", "k", "--disk", "file=x" },
		  "unknown key 'file'" },
		{ { "run", "--kernel", "k", "--disk", "path=x,ro=maybe" },
		  "ro=maybe" },
		{ { "run", "--kernel", "k", "--disk", "path=x,junk" },
		  "'junk' is not key=value" },
		{ { "run", "--kernel", "k", "--disk",
		    "path=x,serial=123456789012345678901" },
		  "longer than 20" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[10] = { "kvmlite" };
		struct cli_opts o;
		char err[256] = "";
		int argc = 1;

		for (int k = 0; cases[i].argv[k]; k++)
			argv[argc++] = (char *)cases[i].argv[k];
		ck_assert_int_eq(cli_parse(argc, argv, &o, err, sizeof(err)),
				 -EINVAL);
		ck_assert_msg(strstr(err, cases[i].needle),
			      "case %zu: '%s' lacks '%s'", i, err,
			      cases[i].needle);
		ck_assert_ptr_null(strchr(err, '\n'));
		cli_free(&o);
	}
	{
		char *argv[] = { "kvmlite", NULL };
		struct cli_opts o;
		char err[256];

		ck_assert_int_eq(cli_parse(1, argv, &o, err, sizeof(err)),
				 -EINVAL);
	}
}
END_TEST

START_TEST(snapshots)
{
	struct cli_opts o;
	char err[256];

	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz",
			       "--snapshot-dir", "snaps", "--disk",
			       "path=a.img,overlay=on"),
			 0);
	ck_assert_str_eq(o.snapshot_dir, "snaps");
	ck_assert_int_eq(o.disks[0].overlay, 1);
	cli_free(&o);
	ck_assert_int_eq(PARSE(&o, err, "run", "--kernel", "bz", "--disk",
			       "path=a.img,overlay=maybe"),
			 -EINVAL);
	ck_assert_str_eq(err, "--disk: overlay=maybe: expected on or off");
	cli_free(&o);
	ck_assert_int_eq(PARSE(&o, err, "restore", "snaps", "--serial", "none",
			       "--boot-timing=json", "--no-seccomp"),
			 0);
	ck_assert_int_eq(o.command, CLI_RESTORE);
	ck_assert_str_eq(o.restore_dir, "snaps");
	ck_assert_int_eq(o.serial, CLI_SERIAL_NONE);
	ck_assert_int_eq(o.timing, CLI_TIMING_JSON);
	ck_assert(o.set & CLI_SET_NO_SECCOMP);
	ck_assert_int_eq(PARSE(&o, err, "restore", "--serial=file:/tmp/c", "d"),
			 0);
	ck_assert_str_eq(o.serial_path, "/tmp/c");
	ck_assert_int_eq(PARSE(&o, err, "restore", "d", "--help"), 0);
	ck_assert_int_eq(o.command, CLI_HELP);
	ck_assert_int_eq(PARSE(&o, err, "restore"), -EINVAL);
	ck_assert_str_eq(err, "restore: the snapshot's directory is required");
	ck_assert_int_eq(PARSE(&o, err, "restore", "d", "--memory", "1G"),
			 -EINVAL);
	ck_assert_str_eq(err, "restore: unknown option '--memory' (restore "
			      "takes --serial, --boot-timing, --no-seccomp)");
	ck_assert_int_eq(PARSE(&o, err, "restore", "d", "e"), -EINVAL);
	ck_assert_int_eq(PARSE(&o, err, "restore", "d", "--serial", "tty"),
			 -EINVAL);
	ck_assert_int_eq(PARSE(&o, err, "restore", "d", "--serial"), -EINVAL);
	ck_assert_str_eq(err, "--serial needs a value");
	ck_assert_int_eq(
		PARSE(&o, err, "run", "--kernel", "bz", "--snapshot-dir"),
		-EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, run_full);
	tcase_add_test(tc, memory_units);
	tcase_add_test(tc, memory_hugepages);
	tcase_add_test(tc, run_defaults);
	tcase_add_test(tc, help_version);
	tcase_add_test(tc, disks);
	tcase_add_test(tc, api_socket);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, snapshots);
	tcase_add_test(tc, devices_0_4);
	tcase_add_test(tc, shares_0_5);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
