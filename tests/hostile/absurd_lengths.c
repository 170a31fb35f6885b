/*
 * absurd_lengths: requests with absurd sizes and positions. Each case gets
 * a fresh device (features incl. discard/write-zeroes, size 256 queue) and
 * must end with the request completed with a non-OK status, or with the
 * device in its error state: never a hang, never OK.
 *
 * Verdict 10 + 2 * case (+1 when the read after reset failed). Cases:
 * 0 data descriptor len 0xffffffff;
 * 1 data addr + len wraps around 2^64;
 * 2 data addr in the MMIO hole;
 * 3 a 200-descriptor read of 32 MiB each (6.25 GiB total, over 32 bits);
 * 4 a 255-descriptor read of 16 MiB - 512 each (just under 4 GiB);
 * 5 read at sector 2^63;
 * 6 read at sector 2^64 - 1;
 * 7 write at sector 2^55 (the byte offset overflows 64 bits);
 * 8 read of 1 sector at the last sector + 1;
 * 9 discard of 0xffffffff sectors at 2^63;
 * 10 write-zeroes of 2^22 sectors at capacity - 1;
 * 11 header descriptor len 0xffffffff at GPA 0;
 * 12 status descriptor len 0xffffffff;
 * 13 avail index 0x8000 ahead;
 * 14 a 16-segment discard with 0xffffffff sectors each.
 */
#include "guest.h"

const char guest_name[] = "absurd_lengths";

#define MIB16 (16u << 20)

static uint64_t capacity(void)
{
	return (uint64_t)vr(VM_CONFIG + 4) << 32 | vr(VM_CONFIG);
}

/* Standard request: header, one data descriptor, status. */
static void req3(uint32_t type, uint64_t sector, uint64_t daddr, uint32_t dlen,
		 bool dwrite)
{
	blk_hdr(type, sector);
	vq_put_desc(0, HDR_GPA, 16, F_NEXT, 1);
	vq_put_desc(1, daddr, dlen, (uint16_t)(F_NEXT | (dwrite ? F_WRITE : 0)),
		    2);
	vq_put_desc(2, STATUS_GPA, 1, F_WRITE, 0);
	vq_offer(0);
}

static void many(uint16_t n, uint32_t each)
{
	blk_hdr(BLK_T_IN, 0);
	vq_put_desc(0, HDR_GPA, 16, F_NEXT, 1);
	for (uint16_t i = 1; i <= n; i++)
		vq_put_desc(i, BIG_GPA, each, F_NEXT | F_WRITE,
			    (uint16_t)(i + 1));
	vq_put_desc((uint16_t)(n + 1), STATUS_GPA, 1, F_WRITE, 0);
	vq_offer(0);
}

static void dwz(uint32_t type, uint32_t nseg, uint64_t sector, uint32_t nr)
{
	volatile uint32_t *s = gpa(DATA_GPA);

	for (uint32_t i = 0; i < nseg; i++) {
		s[4 * i] = (uint32_t)sector;
		s[4 * i + 1] = (uint32_t)(sector >> 32);
		s[4 * i + 2] = nr;
		s[4 * i + 3] = 0;
	}
	req3(type, 0, DATA_GPA, 16 * nseg, false);
}

static bool build(uint32_t c, uint64_t cap)
{
	switch (c) {
	case 0:
		req3(BLK_T_IN, 0, DATA_GPA, 0xffffffffu, true);
		break;
	case 1:
		req3(BLK_T_IN, 0, 0xfffffffffffffe00ull, 0x400, true);
		break;
	case 2:
		req3(BLK_T_IN, 0, 0xd0000000u, 512, true);
		break;
	case 3:
		many(200, 2 * MIB16);
		break;
	case 4:
		many(254, MIB16 - 512);
		break;
	case 5:
		req3(BLK_T_IN, 0, DATA_GPA, 512, true);
		blk_hdr(BLK_T_IN, 1ull << 63);
		break;
	case 6:
		req3(BLK_T_IN, ~0ull, DATA_GPA, 512, true);
		break;
	case 7:
		req3(BLK_T_OUT, 1ull << 55, DATA_GPA, 512, false);
		break;
	case 8:
		req3(BLK_T_IN, cap, DATA_GPA, 512, true);
		break;
	case 9:
		dwz(BLK_T_DISCARD, 1, 1ull << 63, 0xffffffffu);
		break;
	case 10:
		dwz(BLK_T_WZ, 1, cap - 1, 1u << 22);
		break;
	case 11:
		vq_put_desc(0, 0, 0xffffffffu, F_NEXT, 1);
		vq_put_desc(1, STATUS_GPA, 1, F_WRITE, 0);
		vq_offer(0);
		break;
	case 12:
		req3(BLK_T_IN, 0, DATA_GPA, 512, true);
		vq_put_desc(2, STATUS_GPA, 0xffffffffu, F_WRITE, 0);
		break;
	case 13:
		req3(BLK_T_IN, 0, DATA_GPA, 512, true);
		vq_avail_idx = 0x8000;
		((volatile uint16_t *)gpa(AVAIL_GPA))[1] = vq_avail_idx;
		break;
	case 14:
		dwz(BLK_T_DISCARD, 16, 0, 0xffffffffu);
		break;
	default:
		return false;
	}
	return true;
}

int guest_main(void)
{
	uint64_t cap;

	serial_init();
	if (!vdev_init(0))
		return VERDICT_FAIL(0);
	cap = capacity();
	note("capacity (sectors)", (uint32_t)cap);
	for (uint32_t c = 0;; c++) {
		volatile uint8_t *status = gpa(STATUS_GPA);
		uint32_t len = 0;
		enum wait_result w;

		if (!vdev_init(FEAT_DISCARD | FEAT_WZ | FEAT_FLUSH) ||
		    !vq_setup(256) || !vdev_driver_ok()) {
			note("bring-up failed, case", c);
			return VERDICT_FAIL(2 * c);
		}
		*status = BLK_S_NONE;
		if (!build(c, cap))
			break;
		vq_notify();
		w = vq_wait(30000, &len);
		if (w == WAIT_TIMEOUT) {
			note("no completion and no NEEDS_RESET, case", c);
			return VERDICT_FAIL(2 * c);
		}
		if (w == WAIT_USED &&
		    (*status == BLK_S_OK || *status == BLK_S_NONE)) {
			note("absurd request completed with status",
			     (uint32_t)*status << 24 | c);
			return VERDICT_FAIL(2 * c);
		}
		note(w == WAIT_USED ? "used, status/case" : "NEEDS_RESET, case",
		     w == WAIT_USED ? (uint32_t)*status << 24 | c : c);
		if (!blk_fresh_read(16, c)) {
			note("read after reset failed, case", c);
			return VERDICT_FAIL(2 * c + 1);
		}
	}
	puts_("absurd_lengths: PASS\n");
	return VERDICT_PASS;
}
