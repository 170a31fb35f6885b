/*
 * The keys of each list option, in one table that both the command line
 * (--disk path=F,ro=on) and the config file ("disks": [{"path": "F",
 * "ro": true}]) parse with. Adding a key (or a device's option) is a line
 * here, and both spellings get it.
 */
#ifndef KVMLITE_DEVICE_OPTS_H
#define KVMLITE_DEVICE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum device_opt_type {
	DEVICE_OPT_PATH,   /* a file: relative to the config file's dir */
	DEVICE_OPT_STRING, /* a string */
	DEVICE_OPT_BOOL,   /* on/off (true/false in JSON), into an int */
	DEVICE_OPT_U32,	   /* a decimal number in [min, max], a uint32_t */
	/* A const char *: the key alone (JSON true) is "", key=PATH (a JSON
	 * string) a path as DEVICE_OPT_PATH. JSON false leaves it NULL. */
	DEVICE_OPT_FLAG_PATH,
};

struct device_opt_key {
	const char *name;
	enum device_opt_type type;
	size_t offset;	     /* of the field in the option's struct */
	bool required;	     /* and then non-empty */
	const char *alt;     /* required unless this other key is given,
				and never with it */
	uint32_t min, max;   /* DEVICE_OPT_U32 */
	bool may_be_empty;   /* strings: "" is a value */
	size_t max_len;	     /* strings: longest (0: no limit) */
	const char *metavar; /* for messages: path=FILE */
	const char *noun;    /* for messages: "empty tap name" */
};

#define DEVICE_OPT_MAX_KEYS 16

struct device_opt_spec {
	const char *cli;  /* "--disk" */
	const char *json; /* "disks" */
	size_t size;	  /* of the option's struct */
	unsigned int max; /* entries (1: a single object, not a list) */
	const struct device_opt_key *keys;
	size_t nr_keys;
};

extern const struct device_opt_spec device_opts_disk;
extern const struct device_opt_spec device_opts_net;
extern const struct device_opt_spec device_opts_vsock;
extern const struct device_opt_spec device_opts_fs;

/* Where key @k of option @out is. */
static inline void *device_opt_field(void *out, const struct device_opt_key *k)
{
	return (char *)out + k->offset;
}

/* The spec's keys, "path, ro, serial", for messages. */
void device_opts_key_list(const struct device_opt_spec *s, char *buf,
			  size_t len);
const struct device_opt_key *device_opts_find(const struct device_opt_spec *s,
					      const char *name);

#endif
