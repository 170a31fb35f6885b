/* The configuration API's internals: import, validation, the JSON parser. */
#ifndef KVMLITE_CONFIG_H
#define KVMLITE_CONFIG_H

#include <stddef.h>

#include "err.h"
#include "kvmlite.h"

/* A configuration in this library's own struct sizes, with its own copies
 * of the disk, net and fs arrays (the strings stay the caller's). */
struct config_native {
	struct kvmlite_config cfg;
	struct kvmlite_disk disks[KVMLITE_MAX_DISKS];
	struct kvmlite_net nets[KVMLITE_MAX_NETS];
	struct kvmlite_fs fs[KVMLITE_MAX_FS];
};

/*
 * A caller's configuration, read as far as the sizes it was built with
 * hold (defaults beyond). -EINVAL with a message when it was not set up by
 * kvmlite_config_init() or sets fields this library does not know.
 */
int config_import(const struct kvmlite_config *user, struct config_native *n,
		  char *err, size_t errlen);

/* Every check a configuration must pass, once: -EINVAL and one line. */
int config_validate(const struct kvmlite_config *c, char *err, size_t errlen);
/* The same but for the kernel (a restore has none). */
int config_validate_machine(const struct kvmlite_config *c, char *err,
			    size_t errlen);

/* Copy a native configuration into a caller's struct of @size bytes. */
void config_export(const struct kvmlite_config *n, struct kvmlite_config *user,
		   size_t size);

/*
 * config_json.c: parse JSON @text as if read from @file (named in
 * messages); relative paths resolve against @dir. Fills the native @cfg
 * (reset first); the same contract as kvmlite_config_load().
 */
int config_parse_text(const char *file, const char *dir, const char *text,
		      struct kvmlite_config *cfg, char *err, size_t errlen);

#endif
