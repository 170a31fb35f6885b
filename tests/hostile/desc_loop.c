/*
 * desc_loop: malformed chains after a valid setup; the device must enter
 * its error state (Status reads DEVICE_NEEDS_RESET, polled with a bound)
 * and, after a reset, serve a real read again. The verdict comes through
 * test-exit, so reaching it also proves kvmlite is alive.
 *
 * Cases (verdict 10 + 2 * case, +1 when the read after reset failed):
 * 0 a two-descriptor loop (0 -> 1 -> 0);
 * 1 a descriptor whose next is itself;
 * 2 a loop through the whole table (size 256);
 * 3 an indirect table whose entry chains to itself;
 * 4 an indirect descriptor pointing at a table that contains an indirect
 *   descriptor pointing at the table itself;
 * 5 an indirect table whose length is not a multiple of 16;
 * 6 a head index beyond the queue size;
 * 7 a next index beyond the queue size;
 * 8 an indirect table entry chaining beyond the table.
 */
#include "guest.h"

const char guest_name[] = "desc_loop";

static void itab_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		      uint16_t next)
{
	volatile struct vdesc *d = gpa(ITAB_GPA + 16u * i);

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static bool build(uint32_t c)
{
	uint16_t head = 0;

	blk_hdr(BLK_T_IN, 0);
	switch (c) {
	case 0:
		vq_put_desc(0, HDR_GPA, 16, F_NEXT, 1);
		vq_put_desc(1, DATA_GPA, 512, F_NEXT | F_WRITE, 0);
		break;
	case 1:
		vq_put_desc(0, HDR_GPA, 16, F_NEXT, 0);
		break;
	case 2:
		for (uint16_t i = 0; i < vq_size; i++)
			vq_put_desc(i, DATA_GPA, 512, F_NEXT | F_WRITE,
				    (uint16_t)((i + 1) & (vq_size - 1)));
		vq_put_desc(0, HDR_GPA, 16, F_NEXT, 1);
		break;
	case 3:
		itab_desc(0, HDR_GPA, 16, F_NEXT, 1);
		itab_desc(1, DATA_GPA, 512, F_NEXT | F_WRITE, 1);
		vq_put_desc(0, ITAB_GPA, 32, F_INDIRECT, 0);
		break;
	case 4:
		itab_desc(0, ITAB_GPA, 32, F_INDIRECT, 0);
		itab_desc(1, STATUS_GPA, 1, F_WRITE, 0);
		vq_put_desc(0, ITAB_GPA, 32, F_INDIRECT, 0);
		break;
	case 5:
		itab_desc(0, HDR_GPA, 16, F_NEXT, 1);
		itab_desc(1, STATUS_GPA, 1, F_WRITE, 0);
		vq_put_desc(0, ITAB_GPA, 31, F_INDIRECT, 0);
		break;
	case 6:
		vq_put_desc(0, HDR_GPA, 16, 0, 0);
		head = 0x8000;
		break;
	case 7:
		vq_put_desc(0, HDR_GPA, 16, F_NEXT, 0xffff);
		break;
	case 8:
		itab_desc(0, HDR_GPA, 16, F_NEXT, 2);
		itab_desc(1, STATUS_GPA, 1, F_WRITE, 0);
		vq_put_desc(0, ITAB_GPA, 32, F_INDIRECT, 0);
		break;
	default:
		return false;
	}
	vq_offer(head);
	return true;
}

int guest_main(void)
{
	serial_init();
	for (uint32_t c = 0;; c++) {
		uint16_t size = c == 2 ? 256 : 16;
		enum wait_result w;

		if (!vdev_init(FEAT_INDIRECT) || !vq_setup(size) ||
		    !vdev_driver_ok()) {
			note("bring-up failed, case", c);
			return VERDICT_FAIL(2 * c);
		}
		memset(gpa(ITAB_GPA), 0, 4096);
		if (!build(c))
			break;
		vq_notify();
		w = vq_wait(10000, 0);
		if (w != WAIT_NEEDS_RESET) {
			note(w == WAIT_USED ? "malformed chain was used, case"
					    : "no NEEDS_RESET, case",
			     c);
			return VERDICT_FAIL(2 * c);
		}
		/* Kicks in the error state are ignored, not fatal. */
		for (int i = 0; i < 100; i++)
			vq_notify();
		if (!blk_fresh_read(16, c)) {
			note("read after reset failed, case", c);
			return VERDICT_FAIL(2 * c + 1);
		}
	}
	puts_("desc_loop: PASS\n");
	return VERDICT_PASS;
}
