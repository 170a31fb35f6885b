/* Configuration files: the parser behind kvmlite_config_load(). */
#ifndef KVMLITE_CONFIG_H
#define KVMLITE_CONFIG_H

#include <stddef.h>

#include "kvmlite.h"

/*
 * Parse JSON @text as if read from @file (named in messages); relative
 * paths resolve against @dir. Same contract as kvmlite_config_load().
 */
int config_parse_text(const char *file, const char *dir, const char *text,
		      struct kvmlite_config *cfg, char *err, size_t errlen);

#endif
