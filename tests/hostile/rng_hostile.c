/*
 * rng_hostile: requests of absurd sizes to virtio-rng (run with --rng).
 * Verdict 10 + step on failure:
 * 0 bring-up (DeviceID 4);
 * 1 a descriptor of 0xffffffff bytes running past RAM: the error state
 *   (a malformed ring), and a working device after a reset;
 * 2 a chain of 64 descriptors of 16 MiB each over the same RAM (1 GiB):
 *   completed with at most 64 KiB written, and the bytes are not all zero;
 * 3 a readable-only request and a zero-length one: completed, 0 bytes;
 * 4 64 requests of 64 KiB each (4 MiB, past the 256 KiB burst): all
 *   completed, none over 64 KiB (the time they took is printed: the rate
 *   limit's, about 4 s; the unit tests check the limit itself);
 * 5 200000 kicks with nothing offered: nothing completes, nothing breaks.
 */
#include "vq.h"

const char guest_name[] = "rng_hostile";

#define RING 0x400000u
#define BUF 0x500000u
#define BIG 0x1000000u /* 16 MiB of RAM the big chain covers */

static struct gq q;

static bool setup(void)
{
	return vdev_find(4) && vdev_init_any(0) && gq_setup(&q, 0, 64, RING) &&
	       vdev_driver_ok();
}

/* Wait for the next completion (bounded). */
static bool wait_used(uint32_t ms, uint32_t *len)
{
	uint64_t dl = deadline_ms(ms);
	uint32_t id;

	while (!gq_take(&q, &id, len)) {
		if (expired(dl) || vdev_needs_reset())
			return false;
	}
	return true;
}

static bool fresh_request(void)
{
	uint32_t len = 0;

	if (!setup())
		return false;
	gq_desc(&q, 0, BUF, 64, F_WRITE, 0);
	gq_offer(&q, 0);
	gq_kick(&q);
	return wait_used(5000, &len) && len == 64;
}

int guest_main(void)
{
	uint32_t len = 0;
	uint64_t t0;

	serial_init();
	if (!setup())
		return VERDICT_FAIL(0);

	gq_desc(&q, 0, GUEST_RAM - 4096, 0xffffffffu, F_WRITE, 0);
	gq_offer(&q, 0);
	gq_kick(&q);
	{
		uint64_t dl = deadline_ms(5000);

		while (!vdev_needs_reset() && !expired(dl))
			;
	}
	if (!vdev_needs_reset() || !fresh_request())
		return VERDICT_FAIL(1);

	memset(gpa(BIG), 0, 65536);
	for (uint16_t i = 0; i < 64; i++)
		gq_desc(&q, i, BIG, 16u << 20, F_WRITE | (i < 63 ? F_NEXT : 0),
			(uint16_t)(i + 1));
	gq_offer(&q, 0);
	gq_kick(&q);
	if (!wait_used(5000, &len) || len == 0 || len > 65536) {
		note("big chain: used len", len);
		return VERDICT_FAIL(2);
	}
	{
		const volatile uint8_t *p = gpa(BIG);
		uint32_t nonzero = 0;

		for (uint32_t i = 0; i < len; i++)
			nonzero += p[i] != 0;
		if (nonzero < len / 2)
			return VERDICT_FAIL(2);
	}

	gq_desc(&q, 0, BUF, 64, 0, 0);
	gq_offer(&q, 0);
	gq_desc(&q, 1, BUF, 0, F_WRITE, 0);
	gq_offer(&q, 1);
	gq_kick(&q);
	for (int i = 0; i < 2; i++)
		if (!wait_used(5000, &len) || len) {
			note("empty requests: used len", len);
			return VERDICT_FAIL(3);
		}

	t0 = rdtsc();
	for (uint32_t n = 0; n < 64; n++) {
		uint16_t d = (uint16_t)(n % 64);

		gq_desc(&q, d, BUF, 65536, F_WRITE, 0);
		gq_offer(&q, d);
		gq_kick(&q);
		if (!wait_used(20000, &len) || len > 65536) {
			note("64 KiB requests: stuck at", n);
			return VERDICT_FAIL(4);
		}
	}
	note("4 MiB in TSC ticks (high word)",
	     (uint32_t)((rdtsc() - t0) >> 32));

	for (uint32_t i = 0; i < 200000; i++)
		gq_kick(&q);
	if (gq_take(&q, &len, &len) || vdev_needs_reset() || !fresh_request())
		return VERDICT_FAIL(5);
	puts_("rng_hostile: PASS\n");
	return VERDICT_PASS;
}
