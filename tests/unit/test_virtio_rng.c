/*
 * Unit tests for virtio-rng: requests of every size, absurd ones included,
 * are filled with at most RNG_REQUEST_MAX bytes, the rate limit holds the
 * guest to its bucket, and a malformed ring puts the device in its error
 * state. No /dev/kvm needed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "guest_mem.h"
#include "unit.h"
#include "util.h"
#include "virtio/rng.h"
#include "virtio_driver.h"

#define QSIZE 64
#define BUF_GPA 0x100000ULL

static struct guest_mem mem;
static struct virtio_rng *rng;
static struct virtio_mmio_dev *dev;
static struct virtio_drv_queue q;
static char err[256];

static void up(uint32_t rate, uint32_t burst)
{
	struct virtio_rng_opts o = { .rate = rate, .burst = burst };
	uint32_t st;

	ck_assert_int_eq(guest_mem_init(&mem, MiB(16)), 0);
	ck_assert_int_eq(virtio_rng_create(&rng, &o, &mem, err, sizeof(err)),
			 0);
	dev = virtio_rng_transport(rng);
	st = virtio_drv_negotiate(dev,
				  1ULL << VIRTIO_F_VERSION_1 |
					  1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	q = (struct virtio_drv_queue){ .size = QSIZE,
				       .desc = 0x10000,
				       .avail = 0x11000,
				       .used = 0x12000 };
	virtio_drv_setup_queue(dev, 0, QSIZE, q.desc, q.avail, q.used);
	ck_assert_uint_eq(virtio_drv_driver_ok(dev, st),
			  st | VIRTIO_STATUS_DRIVER_OK);
}

static void down(void)
{
	virtio_rng_destroy(rng);
	guest_mem_free(&mem);
}

static struct virtio_rng_stats stats(void)
{
	struct virtio_rng_stats s;

	virtio_rng_get_stats(rng, &s);
	return s;
}

START_TEST(fills_requests)
{
	uint8_t buf[512];
	struct virtio_drv_seg s = { BUF_GPA, sizeof(buf), true };
	struct virtq_used_elem e;
	unsigned int distinct = 0;
	bool seen[256] = { false };

	up(0, 0);
	ck_assert_uint_eq(virtio_drv_read32(dev, VIRTIO_MMIO_DEVICE_ID),
			  VIRTIO_ID_RNG);
	gmem_fill(&mem, BUF_GPA, 0, sizeof(buf));
	virtio_drv_submit(&mem, &q, &s, 1);
	ck_assert_int_eq(virtio_rng_process(rng, NULL), 1);
	e = virtio_drv_take_used(&mem, &q);
	ck_assert_uint_eq(e.len, sizeof(buf));
	gmem_read(&mem, BUF_GPA, buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++) {
		distinct += !seen[buf[i]];
		seen[buf[i]] = true;
	}
	ck_assert_uint_gt(distinct, 150);
	down();
}
END_TEST

/* A 4 GiB - 1 request (one huge descriptor) and a 255 x 16 MiB chain:
 * each gets RNG_REQUEST_MAX bytes, in place. */
START_TEST(absurd_sizes)
{
	struct virtio_drv_seg big = { 0x200000, 0xffffffffU, true };
	struct virtio_drv_seg many[QSIZE];
	struct virtq_used_elem e;

	up(0, 0);
	/* Outside RAM: a malformed ring, not a request. */
	virtio_drv_submit(&mem, &q, &big, 1);
	ck_assert_int_lt(virtio_rng_process(rng, NULL), 0);
	ck_assert(virtio_drv_needs_reset(dev));
	down();

	/* 64 descriptors of 15 MiB, all over the same RAM: 960 MiB. */
	up(0, 0);
	for (int i = 0; i < QSIZE; i++)
		many[i] = (struct virtio_drv_seg){ MiB(1), MiB(15), true };
	virtio_drv_submit(&mem, &q, many, QSIZE);
	ck_assert_int_eq(virtio_rng_process(rng, NULL), 1);
	e = virtio_drv_take_used(&mem, &q);
	ck_assert_uint_eq(e.len, RNG_REQUEST_MAX);
	/* A readable descriptor only: nothing to write, completed with 0. */
	many[0].write = false;
	virtio_drv_submit(&mem, &q, many, 1);
	ck_assert_int_eq(virtio_rng_process(rng, NULL), 1);
	e = virtio_drv_take_used(&mem, &q);
	ck_assert_uint_eq(e.len, 0);
	ck_assert(!virtio_drv_needs_reset(dev));
	down();
}
END_TEST

/* A bucket of 8 KiB at 64 KiB/s: the first 8 KiB at once, then the
 * worker waits (its timer), and the rest comes at the rate. */
START_TEST(rate_limit)
{
	struct virtio_drv_seg s = { BUF_GPA, 4096, true };
	uint32_t got = 0;
	uint64_t t0;
	bool throttled = false;

	up(64 << 10, 8 << 10);
	for (int i = 0; i < QSIZE; i++)
		virtio_drv_submit(&mem, &q, &s, 1);
	ck_assert_int_eq(virtio_rng_process(rng, &throttled), 2);
	ck_assert(throttled);
	ck_assert_uint_eq(stats().bytes, 8192);
	ck_assert_uint_eq(stats().throttled, 1);
	/* Kicks while throttled do nothing. */
	ck_assert_int_eq(virtio_rng_process(rng, &throttled), 0);
	t0 = now_ns();
	while (got < 8 * 4096 && now_ns() - t0 < 5000000000ULL) {
		struct pollfd p = { .fd = -1 };

		(void)poll(&p, 0, 10);
		(void)virtio_rng_process(rng, NULL);
		got = (uint32_t)stats().bytes;
	}
	ck_assert_uint_ge(got, 8 * 4096);
	/* 24 KiB more at 64 KiB/s: not before 300 ms (the limit's lower
	 * bound, which no load can break). */
	ck_assert_uint_ge(now_ns() - t0, 300000000ULL);
	while (virtio_drv_nr_new_used(&mem, &q)) {
		struct virtq_used_elem e = virtio_drv_take_used(&mem, &q);

		ck_assert_uint_le(e.len, 4096);
	}
	down();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_rng");
	TCase *tc = tcase_create("rng");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, fills_requests);
	tcase_add_test(tc, absurd_sizes);
	tcase_add_test(tc, rate_limit);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
