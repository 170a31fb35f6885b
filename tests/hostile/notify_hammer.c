/*
 * notify_hammer: QueueNotify written over and over (bounded counts):
 * before any setup, with the queue configured but not ready, with a ready
 * queue and nothing offered, with queue indices out of range (these reach
 * user space: there is an ioeventfd only for index 0), with 1- and 2-byte
 * writes, interleaved with real requests, and in the error state. Then a
 * real read must still work.
 *
 * Verdict 10 + phase on failure.
 */
#include "guest.h"

const char guest_name[] = "notify_hammer";

#ifndef HAMMER_FAST
#define HAMMER_FAST 200000u /* index 0: the in-kernel ioeventfd path */
#endif
#ifndef HAMMER_SLOW
#define HAMMER_SLOW 20000u /* everything else: exits to user space */
#endif

static void hammer(uint32_t n, uint32_t idx)
{
	for (uint32_t i = 0; i < n; i++)
		vw(VM_QUEUE_NOTIFY, idx);
}

static void hammer_odd(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t r = rand32();

		switch (r & 3) {
		case 0:
			vw(VM_QUEUE_NOTIFY, r >> 2); /* any index */
			break;
		case 1:
			mmio_w8(VIRTIO_BASE + VM_QUEUE_NOTIFY + ((r >> 2) & 3),
				0);
			break;
		case 2:
			mmio_w16(VIRTIO_BASE + VM_QUEUE_NOTIFY, 0);
			break;
		default:
			vw(VM_QUEUE_NOTIFY, (r >> 2) & 15);
			break;
		}
	}
}

int guest_main(void)
{
	volatile uint8_t *status = gpa(STATUS_GPA);
	uint32_t used = 0;

	serial_init();
	srand32(0xbadc0de);

	/* 1: nothing set up (status 0). */
	vdev_reset();
	hammer(HAMMER_FAST, 0);
	hammer_odd(HAMMER_SLOW);
	note("phase 1 done (no setup), status", vr(VM_STATUS));

	/* 2: features negotiated, queue configured but not ready. */
	if (!vdev_init(0))
		return VERDICT_FAIL(2);
	vw(VM_QUEUE_SEL, 0);
	vw(VM_QUEUE_NUM, 16);
	hammer(HAMMER_FAST, 0);
	hammer_odd(HAMMER_SLOW);
	note("phase 2 done (queue not ready), status", vr(VM_STATUS));

	/* 3: a ready, active queue with nothing offered. */
	if (!vq_setup(16) || !vdev_driver_ok())
		return VERDICT_FAIL(3);
	hammer(HAMMER_FAST, 0);
	hammer_odd(HAMMER_SLOW);
	if (vdev_needs_reset()) {
		note("NEEDS_RESET on an empty queue, status", vr(VM_STATUS));
		return VERDICT_FAIL(3);
	}
	note("phase 3 done (empty ready queue), status", vr(VM_STATUS));

	/* 4: real requests with a storm of kicks around each. */
	for (uint32_t i = 0; i < 64; i++) {
		hammer(1000, 0);
		if (!blk_read_check(i)) {
			note("read during hammering failed at", i);
			return VERDICT_FAIL(4);
		}
		hammer(1000, 1 + (i & 7));
	}
	note("phase 4 done (reads under kicks), status", vr(VM_STATUS));

	/* 5: in the error state (an out-of-range head). */
	vq_put_desc(0, HDR_GPA, 16, 0, 0);
	vq_offer(0x4000);
	vq_notify();
	if (vq_wait(10000, &used) != WAIT_NEEDS_RESET) {
		note("bad head did not cause NEEDS_RESET, status",
		     vr(VM_STATUS));
		return VERDICT_FAIL(5);
	}
	hammer(HAMMER_FAST, 0);
	hammer_odd(HAMMER_SLOW);
	note("phase 5 done (error state), status", vr(VM_STATUS));

	/* 6: the device still works after a reset. */
	*status = BLK_S_NONE;
	if (!blk_fresh_read(16, 7))
		return VERDICT_FAIL(6);
	puts_("notify_hammer: PASS\n");
	return VERDICT_PASS;
}
