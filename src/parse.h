/* Value parsers shared by the command line and config files: they parse;
 * what is in range is for the checks in limits.h. */
#ifndef KVMLITE_PARSE_H
#define KVMLITE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Parse a size such as "512M", "2G", "64k" (binary units, an optional
 * trailing "iB"/"B"), "512" (no unit: MiB, as QEMU's -m) or "4096B"
 * (bytes). Returns 0 or -EINVAL/-ERANGE.
 */
int parse_size(const char *s, uint64_t *out);

/* Whether a size string names its unit (else parse_size took MiB). */
bool size_has_unit(const char *s);

/* Parse a positive decimal integer within [min, max]. */
int parse_uint(const char *s, unsigned int min, unsigned int max,
	       unsigned int *out);

/* "on", "true", "1" -> 1; "off", "false", "0" -> 0; else -EINVAL. */
int parse_bool(const char *v, int *out);

#endif
