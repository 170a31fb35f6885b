/* Command-line parsing for the kvmlite command (kept in the library so the
 * unit tests and fuzzers reach it). */
#ifndef KVMLITE_CLI_H
#define KVMLITE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmlite.h"
#include "parse.h"

enum cli_command { CLI_HELP, CLI_VERSION, CLI_RUN, CLI_RESTORE, CLI_EXEC };
enum cli_serial { CLI_SERIAL_STDIO, CLI_SERIAL_FILE, CLI_SERIAL_NONE };
enum cli_timing { CLI_TIMING_OFF, CLI_TIMING_TEXT, CLI_TIMING_JSON };

struct cli_opts {
	enum cli_command command;
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	unsigned int cpus;
	uint64_t memory;
	int hugepages; /* --memory SIZE,hugepages=on */
	enum cli_serial serial;
	const char *serial_path; /* CLI_SERIAL_FILE */
	enum cli_timing timing;
	const char *config; /* --config FILE */
	const char *name;
	const char *api_socket;	  /* --api-socket PATH */
	const char *snapshot_dir; /* run --snapshot-dir DIR */
	const char *restore_dir;  /* restore DIR */
	unsigned int set;	  /* CLI_SET_*: given on the command line */
	struct kvmlite_disk disks[KVMLITE_MAX_DISKS];
	unsigned int nr_disks;
	struct kvmlite_net nets[KVMLITE_MAX_NETS];
	unsigned int nr_nets;
	struct kvmlite_fs fs[KVMLITE_MAX_FS];
	unsigned int nr_fs;
	struct kvmlite_vsock vsock; /* CLI_SET_VSOCK */
	/* exec: --modules, --root, --share (tags "share0"...), the
	 * command (argv after "--", NULL-terminated, the caller's). */
	const char *modules;
	const char *root;
	struct kvmlite_fs shares[KVMLITE_MAX_FS - 1];
	const char *share_mounts[KVMLITE_MAX_FS - 1];
	char share_tags[KVMLITE_MAX_FS - 1][16];
	unsigned int nr_shares;
	char *const *exec_argv;
	/* Copies of --disk/--net/--fs/--vsock/--share values, split in place;
	 * see cli_free. */
	char *specs[KVMLITE_MAX_DISKS + KVMLITE_MAX_NETS + KVMLITE_MAX_FS + 1];
	unsigned int nr_specs;
};

/* "HOST:GUEST[:ro|:rw]" into @fs (path, read_only) and *@mount,
 * splitting @spec in place. */
int cli_parse_share(char *spec, struct kvmlite_fs *fs, const char **mount,
		    char *err, size_t errlen);

/* Options given explicitly (they override a --config file). */
#define CLI_SET_CPUS (1u << 0)
#define CLI_SET_MEMORY (1u << 1)
#define CLI_SET_SERIAL (1u << 2)
#define CLI_SET_TIMING (1u << 3)
#define CLI_SET_NO_SECCOMP (1u << 4)
#define CLI_SET_RNG (1u << 5)
#define CLI_SET_VSOCK (1u << 6)
#define CLI_SET_HUGEPAGES (1u << 7)

/* Parse "tap=NAME[,mac=MAC]" or "passt[=SOCKET][,mac=MAC]" into @n,
 * splitting @spec in place. */
int cli_parse_net(char *spec, struct kvmlite_net *n, char *err, size_t errlen);

/* Parse "cid=N,uds=PATH" into @v, splitting @spec in place. */
int cli_parse_vsock(char *spec, struct kvmlite_vsock *v, char *err,
		    size_t errlen);

/*
 * Parse "path=FILE[,ro=on|off][,serial=STR]" into @d, splitting @spec in
 * place. Returns 0 or -EINVAL with a message naming the bad part.
 */
int cli_parse_disk(char *spec, struct kvmlite_disk *d, char *err,
		   size_t errlen);

/* Parse "path=DIR,tag=TAG[,ro=on|off]" into @f, splitting @spec in
 * place. */
int cli_parse_fs(char *spec, struct kvmlite_fs *f, char *err, size_t errlen);

void cli_free(struct cli_opts *o);

/*
 * Parse argv (argv[0] is the program). Returns 0 or -EINVAL with a one-line
 * message naming the offending argument in err.
 */
int cli_parse(int argc, char *const argv[], struct cli_opts *o, char *err,
	      size_t errlen);

extern const char cli_usage[];

#endif
