#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_opts.h"
#include "kvmlite.h"
#include "limits.h"
#include "util.h"

const char cli_usage[] =
	"Usage: kvmlite run --kernel PATH [options]\n"
	"       kvmlite run --config FILE [options]\n"
	"       kvmlite restore DIR [--serial MODE] [--boot-timing[=json]]\n"
	"                           [--no-seccomp]\n"
	"       kvmlite exec --kernel PATH [--modules DIR] [--root DIR]\n"
	"                    [--share HOST:GUEST[:ro]]... [--cpus N] "
	"[--memory SIZE]\n"
	"                    [--cmdline STR] [--no-seccomp] -- CMD [ARG]...\n"
	"       kvmlite --help | --version\n"
	"\n"
	"Boot a Linux guest (bzImage or ELF vmlinux) in a KVM virtual "
	"machine.\n"
	"\n"
	"Options for run:\n"
	"  --kernel PATH        guest kernel: bzImage or ELF vmlinux (PVH)\n"
	"  --initrd PATH        initial ramdisk\n"
	"  --cmdline STR        kernel command line (default: "
	"\"" KVMLITE_DEFAULT_CMDLINE "\")\n"
	"  --cpus N             number of vCPUs, 1-255 (default 1)\n"
	"  --memory SIZE[,hugepages=on]\n"
	"                       guest RAM, e.g. 512M, 2G (default 256M); a "
	"number\n"
	"                       without a unit is MiB (512 = 512M); "
	"hugepages=on\n"
	"                       takes it from the host's hugetlb pool (a "
	"multiple\n"
	"                       of 2M); else it gets transparent huge pages\n"
	"  --serial MODE        console: stdio (default), file:PATH, none\n"
	"                       (a FIFO as PATH needs its reader first)\n"
	"  --disk path=FILE[,ro=on][,serial=STR][,overlay=on]\n"
	"                       a virtio-blk disk (raw image or block "
	"device);\n"
	"                       repeat for more (vda, vdb, ...); overlay=on "
	"keeps\n"
	"                       the guest's writes in a private overlay, "
	"discarded\n"
	"                       at exit (the image is never written)\n"
	"  --net tap=NAME[,mac=MAC]\n"
	"                       a virtio-net device on TAP interface NAME\n"
	"                       (created if missing); repeatable\n"
	"  --net passt[=SOCKET][,mac=MAC]\n"
	"                       a virtio-net device on user-mode networking:\n"
	"                       starts passt (or attaches to one listening on\n"
	"                       SOCKET); no privileges needed\n"
	"  --vsock cid=N,uds=PATH\n"
	"                       a virtio-vsock device with guest CID N (3 and\n"
	"                       up), Firecracker's hybrid vsock on Unix "
	"socket\n"
	"                       PATH: connect and write \"CONNECT "
	"<port>\\n\";\n"
	"                       the guest's connections to CID 2 port P go "
	"to\n"
	"                       PATH_P\n"
	"  --fs path=DIR,tag=TAG[,ro=on]\n"
	"                       share host directory DIR over virtio-9p; the "
	"guest\n"
	"                       mounts it with mount -t 9p -o "
	"trans=virtio TAG /mnt;\n"
	"                       nothing outside DIR is reachable; ro=on "
	"refuses\n"
	"                       every write (EROFS); repeatable (up to 8)\n"
	"  --rng                a virtio-rng device (the guest's /dev/hwrng)\n"
	"  --name NAME          name of the VM (messages, default MACs)\n"
	"  --config FILE        a JSON configuration file (see README.md);\n"
	"                       options given here override it\n"
	"  --boot-timing[=json] print boot phase timings to stderr on exit\n"
	"  --no-seccomp         run without the seccomp system-call filters\n"
	"  --api-socket PATH    serve the HTTP API (Cloud Hypervisor's "
	"endpoints:\n"
	"                       vmm.ping, vm.info, vm.pause, vm.resume, ...) "
	"on a\n"
	"                       Unix socket, mode 0600, in a directory you "
	"own\n"
	"  --snapshot-dir DIR   a guest write to I/O port 0xf6 pauses the VM, "
	"writes\n"
	"                       a snapshot into DIR and resumes it; the API's\n"
	"                       vm.snapshot writes there too (only there)\n"
	"\n"
	"exec runs CMD in a fresh guest and exits with CMD's status: the "
	"guest's root\n"
	"is DIR (default /) read-only over 9p with a tmpfs over it for "
	"writes; each\n"
	"--share is mounted at GUEST (read-write unless :ro); CMD runs in "
	"your working\n"
	"directory (when the guest has it, else /), its stdout and stderr "
	"come back\n"
	"as kvmlite's, byte for byte. --modules DIR is the kernel's "
	"lib/modules/VER\n"
	"when virtio_mmio, 9p and overlay are modules (they are loaded from "
	"there).\n"
	"  125    exec: the guest's init could not set up (a module, a mount): "
	"one line\n"
	"         on stderr says why\n"
	"  126    exec: CMD cannot be run (not executable)\n"
	"  127    exec: CMD not found\n"
	"  (others as below; 80: the kernel panicked, e.g. a module "
	"missing)\n"
	"\n"
	"restore DIR resumes the snapshot in DIR (see README.md) and runs it "
	"to its\n"
	"end; a read of port 0xf6 then returns 1 (0 in a VM that booted).\n"
	"\n"
	"On a terminal, type Ctrl-A x to stop the VM, Ctrl-A p to press the "
	"guest's\n"
	"power button (as SIGPWR does), Ctrl-A Ctrl-A for a literal Ctrl-A.\n"
	"SIGUSR1 prints the VM's state (vCPUs, interrupts, virtqueues) to "
	"stderr,\n"
	"each line starting \"kvmlite: dump: \"; the VM runs on.\n"
	"\n"
	"Exit status:\n"
	"  0      guest powered off\n"
	"  V      guest wrote V to the test-exit port 0xf4\n"
	"  64     usage or configuration error\n"
	"  65     kernel or initrd image missing, unreadable, invalid or "
	"unsupported;\n"
	"         a snapshot that cannot be used (truncated, corrupt, another "
	"version\n"
	"         or CPU, a disk changed)\n"
	"  69     /dev/kvm unusable or lacking a required capability\n"
	"  70     internal VMM failure\n"
	"  80     guest rebooted\n"
	"  81     guest crashed (triple fault, KVM internal error); registers\n"
	"         and the state dump are printed\n"
	"  71     a kvmlite thread made a system call its seccomp filter "
	"forbids\n"
	"  82     stopped by a signal, Ctrl-A x or the API's vmm.shutdown\n";

/* "--opt=value" or "--opt value"; returns the value or NULL. */
static const char *opt_value(int argc, char *const argv[], int *i,
			     const char *name, bool *matched)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	*matched = false;
	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=') {
		*matched = true;
		return a + n + 1;
	}
	if (a[n] != '\0')
		return NULL;
	*matched = true;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(err, errlen, __VA_ARGS__);                            \
		return -EINVAL;                                                \
	} while (0)

/* "key=value,..." for one list option, as its table says. */
static int parse_spec(const struct device_opt_spec *sp, char *spec, void *out,
		      char *err, size_t errlen)
{
	const char *opt = sp->cli;
	char *save = NULL, *kv, keys[128];

	memset(out, 0, sp->size);
	for (kv = strtok_r(spec, ",", &save); kv;
	     kv = strtok_r(NULL, ",", &save)) {
		const struct device_opt_key *k;
		char *v = strchr(kv, '=');

		if (v)
			*v++ = '\0';
		k = device_opts_find(sp, kv);
		if (!k && !v)
			FAIL("%s: '%s' is not key=value", opt, kv);
		if (!k) {
			device_opts_key_list(sp, keys, sizeof(keys));
			FAIL("%s: unknown key '%s' (%s)", opt, kv, keys);
		}
		if (!v && k->type != DEVICE_OPT_FLAG_PATH)
			FAIL("%s: '%s' is not key=value", opt, kv);
		if (!v)
			v = kv + strlen(kv); /* the key alone: "" */
		else if ((k->required || k->type == DEVICE_OPT_FLAG_PATH) &&
			 !*v)
			FAIL("%s: empty %s", opt, k->noun ? k->noun : k->name);
		if (k->max_len && strlen(v) > k->max_len)
			FAIL("%s: %s '%s' is longer than %zu bytes", opt,
			     k->name, v, k->max_len);
		if (k->type == DEVICE_OPT_BOOL) {
			if (parse_bool(v, device_opt_field(out, k)))
				FAIL("%s: %s=%s: expected on or off", opt,
				     k->name, v);
		} else if (k->type == DEVICE_OPT_U32) {
			unsigned long long n;
			char *end;

			errno = 0;
			n = strtoull(v, &end, 10);
			if (!isdigit((unsigned char)*v) || *end || errno ||
			    n < k->min || n > k->max)
				FAIL("%s: %s=%s: need a whole number from %u "
				     "to %u",
				     opt, k->name, v, k->min, k->max);
			*(uint32_t *)device_opt_field(out, k) = (uint32_t)n;
		} else {
			*(const char **)device_opt_field(out, k) = v;
		}
	}
	for (size_t i = 0; i < sp->nr_keys; i++) {
		const struct device_opt_key *k = &sp->keys[i], *a = NULL;
		bool have, alt = false;

		if (!k->required && !k->alt)
			continue;
		have = k->type == DEVICE_OPT_U32
			       ? *(uint32_t *)device_opt_field(out, k) != 0
			       : *(const char **)device_opt_field(out, k) !=
					 NULL;
		if (k->alt) {
			a = device_opts_find(sp, k->alt);
			alt = a && *(const char **)device_opt_field(out, a);
		}
		if (have && alt)
			FAIL("%s: %s and %s: give one of them", opt, k->name,
			     a->name);
		if (k->required && !have && !alt)
			FAIL("%s: %s=%s%s%s is required", opt, k->name,
			     k->metavar, a ? " or " : "", a ? a->name : "");
	}
	return 0;
}

int cli_parse_disk(char *spec, struct kvmlite_disk *d, char *err, size_t errlen)
{
	return parse_spec(&device_opts_disk, spec, d, err, errlen);
}

int cli_parse_net(char *spec, struct kvmlite_net *n, char *err, size_t errlen)
{
	return parse_spec(&device_opts_net, spec, n, err, errlen);
}

int cli_parse_fs(char *spec, struct kvmlite_fs *f, char *err, size_t errlen)
{
	return parse_spec(&device_opts_fs, spec, f, err, errlen);
}

int cli_parse_vsock(char *spec, struct kvmlite_vsock *v, char *err,
		    size_t errlen)
{
	return parse_spec(&device_opts_vsock, spec, v, err, errlen);
}

void cli_free(struct cli_opts *o)
{
	for (unsigned int i = 0; i < o->nr_specs; i++)
		free(o->specs[i]);
	o->nr_specs = 0;
}

/* A private, splittable copy of an option's value. */
static char *cli_spec(struct cli_opts *o, const char *v)
{
	char *s;

	if (o->nr_specs >= sizeof(o->specs) / sizeof(o->specs[0]))
		return NULL;
	s = strdup(v);
	if (s)
		o->specs[o->nr_specs++] = s;
	return s;
}

/* One more --disk, --net or --fs: a private copy of @v, split by the table. */
static int add_spec(struct cli_opts *o, const struct device_opt_spec *sp,
		    const char *v, void *list, unsigned int *nr,
		    const char *plural, char *err, size_t errlen)
{
	char *spec;

	if (*nr >= sp->max)
		FAIL("%s: at most %u %s", sp->cli, sp->max, plural);
	spec = cli_spec(o, v);
	if (!spec)
		FAIL("out of memory");
	if (parse_spec(sp, spec, (char *)list + *nr * sp->size, err, errlen))
		return -EINVAL;
	(*nr)++;
	return 0;
}

/* --serial MODE, shared by run and restore. */
static int parse_serial(const char *v, struct cli_opts *o, char *err,
			size_t errlen)
{
	o->set |= CLI_SET_SERIAL;
	if (!strcmp(v, "stdio")) {
		o->serial = CLI_SERIAL_STDIO;
	} else if (!strcmp(v, "none")) {
		o->serial = CLI_SERIAL_NONE;
	} else if (!strncmp(v, "file:", 5) && v[5]) {
		o->serial = CLI_SERIAL_FILE;
		o->serial_path = v + 5;
	} else {
		FAIL("--serial '%s': expected stdio, file:PATH or none", v);
	}
	return 0;
}

/* --memory SIZE[,hugepages=on|off], shared by run and exec. */
static int parse_memory(const char *v, struct cli_opts *o, char *err,
			size_t errlen)
{
	char size[64];
	const char *opts = strchr(v, ',');
	size_t n = opts ? (size_t)(opts - v) : strlen(v);
	int r;

	/* SIZE[,hugepages=on|off]: the size first. */
	if (n >= sizeof(size))
		FAIL("--memory '%s': not a size (e.g. 512M, "
		     "2G)",
		     v);
	memcpy(size, v, n);
	size[n] = '\0';
	if (opts) {
		if (strncmp(opts + 1, "hugepages=", 10))
			FAIL("--memory '%s': unknown option "
			     "'%s' (hugepages=on|off)",
			     v, opts + 1);
		if (parse_bool(opts + 11, &o->hugepages))
			FAIL("--memory '%s': hugepages= wants "
			     "on or off",
			     v);
		o->set |= CLI_SET_HUGEPAGES;
	}
	v = size;
	r = parse_size(v, &o->memory);
	if (r)
		FAIL("--memory '%s': %s", v,
		     r == -ERANGE ? "too large" : "not a size (e.g. 512M, 2G)");
	if (o->memory < KVMLITE_MIN_MEMORY || o->memory > KVMLITE_MAX_MEMORY)
		FAIL("--memory '%s': must be from 16M to 1T%s", v,
		     size_has_unit(v) ? ""
				      : " (a number without "
					"a unit is MiB)");
	if (o->memory % KVMLITE_MEMORY_ALIGN)
		FAIL("--memory '%s': must be a multiple of 4K", v);
	if (o->hugepages && !limits_hugepage_memory_ok(o->memory))
		FAIL("--memory '%s': with hugepages=on it must "
		     "be a multiple of 2M",
		     v);
	o->set |= CLI_SET_MEMORY;
	return 0;
}

int cli_parse_share(char *spec, struct kvmlite_fs *fs, const char **mount,
		    char *err, size_t errlen)
{
	size_t n = strlen(spec);
	char *colon;

	fs->read_only = 0;
	if (n > 3 &&
	    (!strcmp(spec + n - 3, ":ro") || !strcmp(spec + n - 3, ":rw"))) {
		fs->read_only = spec[n - 2] == 'r' && spec[n - 1] == 'o';
		spec[n - 3] = '\0';
	}
	colon = strrchr(spec, ':');
	if (!colon)
		FAIL("--share '%s': expected HOST:GUEST[:ro]", spec);
	*colon = '\0';
	if (!spec[0])
		FAIL("--share: empty host directory");
	if (colon[1] != '/' || !colon[2])
		FAIL("--share %s: the guest path '%s' must be absolute (and "
		     "not /)",
		     spec, colon + 1);
	fs->path = spec;
	*mount = colon + 1;
	return 0;
}

/* ---- the options of run, exec and restore: one table, one loop ---- */

/* Which commands take an option. */
#define IN_RUN (1u << 0)
#define IN_EXEC (1u << 1)
#define IN_RESTORE (1u << 2)

struct cli_option;
/* @v: the option's value (NULL for a flag, or an optional value not
 * given). 0 or -EINVAL with a message. */
typedef int (*cli_option_fn)(const struct cli_option *opt, const char *v,
			     struct cli_opts *o, char *err, size_t errlen);

enum cli_arg {
	ARG_NONE,     /* a flag: "--opt" only */
	ARG_REQUIRED, /* "--opt=VALUE" or "--opt VALUE" */
	ARG_OPTIONAL, /* "--opt" or "--opt=VALUE" */
};

struct cli_option {
	const char *name;
	enum cli_arg arg;
	unsigned int in; /* IN_*: the commands that take it */
	cli_option_fn fn;
	/* set_string: the field, and the noun an empty value lacks (NULL:
	 * empty allowed). */
	size_t field;
	const char *empty;
};

static int set_string(const struct cli_option *opt, const char *v,
		      struct cli_opts *o, char *err, size_t errlen)
{
	if (opt->empty && !*v)
		FAIL("%s: empty %s", opt->name, opt->empty);
	*(const char **)((char *)o + opt->field) = v;
	return 0;
}

static int set_cpus(const struct cli_option *opt, const char *v,
		    struct cli_opts *o, char *err, size_t errlen)
{
	if (parse_uint(v, 1, KVMLITE_MAX_CPUS, &o->cpus))
		FAIL("--cpus '%s': need " LIMITS_CPUS_TEXT, v);
	o->set |= CLI_SET_CPUS;
	return 0;
}

static int set_memory(const struct cli_option *opt, const char *v,
		      struct cli_opts *o, char *err, size_t errlen)
{
	return parse_memory(v, o, err, errlen);
}

static int set_serial(const struct cli_option *opt, const char *v,
		      struct cli_opts *o, char *err, size_t errlen)
{
	return parse_serial(v, o, err, errlen);
}

static int set_timing(const struct cli_option *opt, const char *v,
		      struct cli_opts *o, char *err, size_t errlen)
{
	o->set |= CLI_SET_TIMING;
	if (!v || !strcmp(v, "text"))
		o->timing = CLI_TIMING_TEXT;
	else if (!strcmp(v, "json"))
		o->timing = CLI_TIMING_JSON;
	else
		FAIL("--boot-timing: unknown format '%s' (text or json)", v);
	return 0;
}

static int set_no_seccomp(const struct cli_option *opt, const char *v,
			  struct cli_opts *o, char *err, size_t errlen)
{
	o->set |= CLI_SET_NO_SECCOMP;
	return 0;
}

static int set_rng(const struct cli_option *opt, const char *v,
		   struct cli_opts *o, char *err, size_t errlen)
{
	o->set |= CLI_SET_RNG;
	return 0;
}

static int add_disk(const struct cli_option *opt, const char *v,
		    struct cli_opts *o, char *err, size_t errlen)
{
	return add_spec(o, &device_opts_disk, v, o->disks, &o->nr_disks,
			"disks", err, errlen);
}

static int add_net(const struct cli_option *opt, const char *v,
		   struct cli_opts *o, char *err, size_t errlen)
{
	return add_spec(o, &device_opts_net, v, o->nets, &o->nr_nets,
			"networks", err, errlen);
}

static int add_fs(const struct cli_option *opt, const char *v,
		  struct cli_opts *o, char *err, size_t errlen)
{
	return add_spec(o, &device_opts_fs, v, o->fs, &o->nr_fs, "shares", err,
			errlen);
}

static int set_vsock(const struct cli_option *opt, const char *v,
		     struct cli_opts *o, char *err, size_t errlen)
{
	char *spec;

	if (o->set & CLI_SET_VSOCK)
		FAIL("--vsock: given twice (one vsock device per VM)");
	spec = cli_spec(o, v);
	if (!spec)
		FAIL("out of memory");
	if (cli_parse_vsock(spec, &o->vsock, err, errlen))
		return -EINVAL;
	o->set |= CLI_SET_VSOCK;
	return 0;
}

/* exec --share HOST:GUEST[:ro]: tagged share0, share1, ... */
static int add_share(const struct cli_option *opt, const char *v,
		     struct cli_opts *o, char *err, size_t errlen)
{
	unsigned int s = o->nr_shares;
	char *spec;

	if (s >= KVMLITE_MAX_FS - 1)
		FAIL("--share: at most %d shares", KVMLITE_MAX_FS - 1);
	spec = cli_spec(o, v);
	if (!spec)
		FAIL("out of memory");
	if (cli_parse_share(spec, &o->shares[s], &o->share_mounts[s], err,
			    errlen))
		return -EINVAL;
	snprintf(o->share_tags[s], sizeof(o->share_tags[s]), "share%u", s);
	o->shares[s].tag = o->share_tags[s];
	o->nr_shares++;
	return 0;
}

#define FIELD(member) offsetof(struct cli_opts, member)

static const struct cli_option cli_options[] = {
	{ "--kernel", ARG_REQUIRED, IN_RUN | IN_EXEC, set_string, FIELD(kernel),
	  "path" },
	{ "--initrd", ARG_REQUIRED, IN_RUN, set_string, FIELD(initrd), "path" },
	{ "--cmdline", ARG_REQUIRED, IN_RUN | IN_EXEC, set_string,
	  FIELD(cmdline), NULL },
	{ "--cpus", ARG_REQUIRED, IN_RUN | IN_EXEC, set_cpus, 0, NULL },
	{ "--memory", ARG_REQUIRED, IN_RUN | IN_EXEC, set_memory, 0, NULL },
	{ "--serial", ARG_REQUIRED, IN_RUN | IN_RESTORE, set_serial, 0, NULL },
	{ "--disk", ARG_REQUIRED, IN_RUN, add_disk, 0, NULL },
	{ "--net", ARG_REQUIRED, IN_RUN, add_net, 0, NULL },
	{ "--config", ARG_REQUIRED, IN_RUN, set_string, FIELD(config), "path" },
	{ "--name", ARG_REQUIRED, IN_RUN | IN_EXEC, set_string, FIELD(name),
	  "name" },
	{ "--vsock", ARG_REQUIRED, IN_RUN, set_vsock, 0, NULL },
	{ "--api-socket", ARG_REQUIRED, IN_RUN, set_string, FIELD(api_socket),
	  "path" },
	{ "--snapshot-dir", ARG_REQUIRED, IN_RUN, set_string,
	  FIELD(snapshot_dir), "path" },
	{ "--fs", ARG_REQUIRED, IN_RUN, add_fs, 0, NULL },
	{ "--modules", ARG_REQUIRED, IN_EXEC, set_string, FIELD(modules),
	  "path" },
	{ "--root", ARG_REQUIRED, IN_EXEC, set_string, FIELD(root), "path" },
	{ "--share", ARG_REQUIRED, IN_EXEC, add_share, 0, NULL },
	{ "--rng", ARG_NONE, IN_RUN, set_rng, 0, NULL },
	{ "--boot-timing", ARG_OPTIONAL, IN_RUN | IN_RESTORE, set_timing, 0,
	  NULL },
	{ "--no-seccomp", ARG_NONE, IN_RUN | IN_EXEC | IN_RESTORE,
	  set_no_seccomp, 0, NULL },
};

/* What a command does with an argument the table does not take: 0 (taken),
 * 1 (the options end here: *i is past them) or -EINVAL with a message. */
typedef int (*cli_other_fn)(int argc, char *const argv[], int *i,
			    struct cli_opts *o, char *err, size_t errlen);

/* Parse argv[@i...] as the options of the command @in, handing anything
 * else to @other. Returns the index after the last option, or -EINVAL. */
static int parse_options(int argc, char *const argv[], int i, unsigned int in,
			 cli_other_fn other, struct cli_opts *o, char *err,
			 size_t errlen)
{
	for (; i < argc; i++) {
		const struct cli_option *opt = NULL;
		const char *a = argv[i], *v = NULL;
		int ret;

		for (size_t k = 0; k < ARRAY_LEN(cli_options) && !opt; k++) {
			const struct cli_option *c = &cli_options[k];
			size_t n = strlen(c->name);
			bool m;

			if (!(c->in & in))
				continue;
			if (c->arg == ARG_NONE) {
				if (!strcmp(a, c->name))
					opt = c;
				continue;
			}
			if (c->arg == ARG_OPTIONAL) {
				if (!strncmp(a, c->name, n) &&
				    (a[n] == '\0' || a[n] == '=')) {
					opt = c;
					v = a[n] ? a + n + 1 : NULL;
				}
				continue;
			}
			v = opt_value(argc, argv, &i, c->name, &m);
			if (m) {
				opt = c;
				if (!v)
					FAIL("%s needs a value", c->name);
			}
		}
		ret = opt ? opt->fn(opt, v, o, err, errlen)
			  : other(argc, argv, &i, o, err, errlen);
		if (ret < 0)
			return ret;
		if (ret > 0)
			return i;
	}
	return i;
}

static int run_other(int argc, char *const argv[], int *i, struct cli_opts *o,
		     char *err, size_t errlen)
{
	const char *a = argv[*i];

	if (a[0] == '-')
		FAIL("unknown option '%s' (see kvmlite --help)", a);
	FAIL("unexpected argument '%s' (see kvmlite --help)", a);
}

static int parse_run(int argc, char *const argv[], int i, struct cli_opts *o,
		     char *err, size_t errlen)
{
	if (parse_options(argc, argv, i, IN_RUN, run_other, o, err, errlen) < 0)
		return -EINVAL;
	if (!o->kernel && !o->config)
		FAIL("run: --kernel PATH (or --config FILE) is required");
	return 0;
}

/* "--" ends exec's options; the command follows it. */
static int exec_other(int argc, char *const argv[], int *i, struct cli_opts *o,
		      char *err, size_t errlen)
{
	const char *a = argv[*i];

	if (!strcmp(a, "--")) {
		++*i;
		return 1;
	}
	if (a[0] == '-')
		FAIL("exec: unknown option '%s' (see kvmlite exec --help)", a);
	FAIL("exec: '%s': the command goes after \"--\"", a);
}

/* exec [options] -- CMD [ARG]... */
static int parse_exec(int argc, char *const argv[], int i, struct cli_opts *o,
		      char *err, size_t errlen)
{
	i = parse_options(argc, argv, i, IN_EXEC, exec_other, o, err, errlen);
	if (i < 0)
		return -EINVAL;
	if (!o->kernel)
		FAIL("exec: --kernel PATH is required");
	if (i >= argc || !argv[i][0])
		FAIL("exec: no command given (kvmlite exec [options] -- CMD "
		     "[ARG]...)");
	o->exec_argv = argv + i;
	return 0;
}

/* restore's one argument, its directory. */
static int restore_other(int argc, char *const argv[], int *i,
			 struct cli_opts *o, char *err, size_t errlen)
{
	const char *a = argv[*i];

	if (a[0] == '-')
		FAIL("restore: unknown option '%s' (restore takes "
		     "--serial, --boot-timing, --no-seccomp)",
		     a);
	if (o->restore_dir)
		FAIL("restore: unexpected argument '%s' (one directory)", a);
	if (!*a)
		FAIL("restore: empty directory");
	o->restore_dir = a;
	return 0;
}

/* restore DIR [--serial MODE] [--boot-timing[=json]] [--no-seccomp] */
static int parse_restore(int argc, char *const argv[], int i,
			 struct cli_opts *o, char *err, size_t errlen)
{
	if (parse_options(argc, argv, i, IN_RESTORE, restore_other, o, err,
			  errlen) < 0)
		return -EINVAL;
	if (!o->restore_dir)
		FAIL("restore: the snapshot's directory is required");
	return 0;
}

int cli_parse(int argc, char *const argv[], struct cli_opts *o, char *err,
	      size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->cpus = 1;
	o->memory = 256ULL << 20;
	o->serial = CLI_SERIAL_STDIO;

	if (argc < 2)
		FAIL("no command given (see kvmlite --help)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		o->command = CLI_HELP;
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") ||
	    !strcmp(argv[1], "version")) {
		o->command = CLI_VERSION;
		return 0;
	}
	if (!strcmp(argv[1], "run")) {
		o->command = CLI_RUN;
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "--help") ||
			    !strcmp(argv[i], "-h")) {
				o->command = CLI_HELP;
				return 0;
			}
		return parse_run(argc, argv, 2, o, err, errlen);
	}
	if (!strcmp(argv[1], "exec")) {
		o->command = CLI_EXEC;
		/* --help before "--" only: after it, it is the command's. */
		for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
			if (!strcmp(argv[i], "--help") ||
			    !strcmp(argv[i], "-h")) {
				o->command = CLI_HELP;
				return 0;
			}
		return parse_exec(argc, argv, 2, o, err, errlen);
	}
	if (!strcmp(argv[1], "restore")) {
		o->command = CLI_RESTORE;
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "--help") ||
			    !strcmp(argv[i], "-h")) {
				o->command = CLI_HELP;
				return 0;
			}
		return parse_restore(argc, argv, 2, o, err, errlen);
	}
	FAIL("unknown command '%s' (see kvmlite --help)", argv[1]);
}
