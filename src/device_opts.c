/* The keys of --disk/"disks", --net/"nets", --fs/"fs" and --vsock. See
 * device_opts.h. */
#include "device_opts.h"

#include <stdio.h>
#include <string.h>

#include "kvmlite.h"
#include "util.h"

#define KEY(st, field, ...)                                                    \
	{                                                                      \
		.name = #field, .offset = offsetof(st, field), __VA_ARGS__     \
	}

static const struct device_opt_key disk_keys[] = {
	KEY(struct kvmlite_disk, path, .type = DEVICE_OPT_PATH,
	    .required = true, .metavar = "FILE", .noun = "path"),
	{ .name = "ro",
	  .offset = offsetof(struct kvmlite_disk, read_only),
	  .type = DEVICE_OPT_BOOL },
	KEY(struct kvmlite_disk, serial, .type = DEVICE_OPT_STRING,
	    .may_be_empty = true, .max_len = KVMLITE_DISK_SERIAL_MAX),
	KEY(struct kvmlite_disk, overlay, .type = DEVICE_OPT_BOOL),
};

static const struct device_opt_key net_keys[] = {
	KEY(struct kvmlite_net, tap, .type = DEVICE_OPT_STRING,
	    .required = true, .alt = "passt", .metavar = "NAME",
	    .noun = "tap name"),
	KEY(struct kvmlite_net, mac, .type = DEVICE_OPT_STRING),
	KEY(struct kvmlite_net, passt, .type = DEVICE_OPT_FLAG_PATH,
	    .alt = "tap", .metavar = "SOCKET"),
};

static const struct device_opt_key vsock_keys[] = {
	KEY(struct kvmlite_vsock, cid, .type = DEVICE_OPT_U32, .required = true,
	    .min = KVMLITE_VSOCK_CID_MIN, .max = KVMLITE_VSOCK_CID_MAX,
	    .metavar = "N", .noun = "cid"),
	KEY(struct kvmlite_vsock, uds, .type = DEVICE_OPT_PATH,
	    .required = true, .max_len = KVMLITE_VSOCK_UDS_MAX,
	    .metavar = "PATH", .noun = "uds path"),
};

static const struct device_opt_key fs_keys[] = {
	KEY(struct kvmlite_fs, path, .type = DEVICE_OPT_PATH, .required = true,
	    .metavar = "DIR", .noun = "path"),
	KEY(struct kvmlite_fs, tag, .type = DEVICE_OPT_STRING, .required = true,
	    .max_len = KVMLITE_FS_TAG_MAX, .metavar = "TAG", .noun = "tag"),
	{ .name = "ro",
	  .offset = offsetof(struct kvmlite_fs, read_only),
	  .type = DEVICE_OPT_BOOL },
};

_Static_assert(ARRAY_LEN(disk_keys) < DEVICE_OPT_MAX_KEYS &&
		       ARRAY_LEN(fs_keys) < DEVICE_OPT_MAX_KEYS &&
		       ARRAY_LEN(net_keys) < DEVICE_OPT_MAX_KEYS &&
		       ARRAY_LEN(vsock_keys) < DEVICE_OPT_MAX_KEYS,
	       "room for the JSON parser's list of known keys");

const struct device_opt_spec device_opts_disk = {
	"--disk",	   "disks",   sizeof(struct kvmlite_disk),
	KVMLITE_MAX_DISKS, disk_keys, ARRAY_LEN(disk_keys),
};

const struct device_opt_spec device_opts_net = {
	"--net",	  "nets",   sizeof(struct kvmlite_net),
	KVMLITE_MAX_NETS, net_keys, ARRAY_LEN(net_keys),
};

const struct device_opt_spec device_opts_fs = {
	"--fs",		"fs",	 sizeof(struct kvmlite_fs),
	KVMLITE_MAX_FS, fs_keys, ARRAY_LEN(fs_keys),
};

const struct device_opt_spec device_opts_vsock = {
	"--vsock", "vsock",    sizeof(struct kvmlite_vsock),
	1,	   vsock_keys, ARRAY_LEN(vsock_keys),
};

void device_opts_key_list(const struct device_opt_spec *s, char *buf,
			  size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->nr_keys && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
				      s->keys[i].name);
}

const struct device_opt_key *device_opts_find(const struct device_opt_spec *s,
					      const char *name)
{
	for (size_t i = 0; i < s->nr_keys; i++)
		if (!strcmp(s->keys[i].name, name))
			return &s->keys[i];
	return NULL;
}
