/* Not hostile: a well-behaved driver that reads a few sectors. Proves the
 * harness (guest library, disk image, verdicts) before the others. */
#include "guest.h"

const char guest_name[] = "sanity";

int guest_main(void)
{
	serial_init();
	for (uint32_t s = 0; s < 4; s++)
		if (!blk_fresh_read(16, s))
			return VERDICT_FAIL(s);
	puts_("sanity: PASS\n");
	return VERDICT_PASS;
}
