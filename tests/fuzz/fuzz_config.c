/*
 * Fuzz the JSON configuration parser (and the position finder behind its
 * messages): any text either loads or fails with a message naming the
 * file; release never leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvmlite_config cfg;
	char *text = malloc(size + 1);
	char err[512];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (config_parse_text("fuzz.json", "/cfg", text, &cfg, err,
			      sizeof(err)) &&
	    strncmp(err, "fuzz.json:", 10) && strcmp(err, "out of memory"))
		abort(); /* every error names the file */
	kvmlite_config_release(&cfg);
	free(text);
	return 0;
}
