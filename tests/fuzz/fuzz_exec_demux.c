/*
 * Fuzz kvmlite exec's console split (src/exec/exec.c), which takes every
 * byte a guest writes to its UART: odd input bytes are the UART's, even
 * ones say whether the sink takes it (bit 0 clear: refused, offered
 * again). Checks that every byte is routed once it is taken, that the
 * kept line stays a bounded C string, and that a refusal changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exec_demux d;
	size_t out = 0, err = 0;

	memset(&d, 0, sizeof(d));
	for (size_t i = 0; i + 1 < size; i += 2) {
		uint8_t byte = data[i];
		enum exec_sink s = exec_demux_route(&d, byte);
		struct exec_demux before = d;

		if (!(data[i + 1] & 1) && s != EXEC_SINK_NONE) {
			/* Refused: asked again, same answer. */
			if (exec_demux_route(&d, byte) != s ||
			    memcmp(&before, &d, sizeof(d)))
				abort();
			continue;
		}
		exec_demux_took(&d, byte);
		if (s == EXEC_SINK_STDOUT)
			out++;
		else if (s == EXEC_SINK_STDERR)
			err++;
		if (d.line_len >= sizeof(d.line) ||
		    strlen(d.line) != d.line_len)
			abort();
	}
	return out + err > size ? 1 : 0;
}
