/*
 * Fuzz the command line parser: the input is split into arguments on NUL
 * bytes (at most FUZZ_MAX_ARGS), after argv[0] = "kvmlite".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define FUZZ_MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	char *argv[FUZZ_MAX_ARGS + 2];
	struct cli_opts o;
	char err[256];
	int argc = 0;
	size_t i = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[argc++] = "kvmlite";
	while (i <= size && argc < FUZZ_MAX_ARGS + 1) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	memset(&o, 0, sizeof(o));
	err[0] = 0;
	if (cli_parse(argc, argv, &o, err, sizeof(err))) {
		if (!err[0])
			abort(); /* every error says why */
	}
	cli_free(&o);
	free(buf);
	return 0;
}
