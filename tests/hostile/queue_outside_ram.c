/*
 * queue_outside_ram: queue layouts whose descriptor table, avail ring or
 * used ring lies in the MMIO hole, beyond RAM, straddles the end of RAM,
 * wraps around 2^64, or is misaligned. QueueReady must not take (reads
 * 0), or else the device must report DEVICE_NEEDS_RESET once used. After
 * each, a reset and a valid queue must serve a real read.
 *
 * Verdict 10 + 2 * case (+1 when the read after reset failed).
 */
#include "guest.h"

const char guest_name[] = "queue_outside_ram";

#define SZ 16
#define END GUEST_RAM

struct layout {
	uint64_t desc, avail, used;
};

static const struct layout cases[] = {
	/* the MMIO hole (the virtio window itself, the IOAPIC) */
	{ VIRTIO_BASE, AVAIL_GPA, USED_GPA },
	{ DESC_GPA, 0xfec00000u, USED_GPA },
	{ DESC_GPA, AVAIL_GPA, 0xfee00000u },
	/* beyond RAM, below the hole */
	{ 0x10000000u, AVAIL_GPA, USED_GPA },
	{ DESC_GPA, 0x80000000u, USED_GPA },
	{ DESC_GPA, AVAIL_GPA, END },
	/* straddling the end of RAM */
	{ END - 16 * SZ + 16, AVAIL_GPA, USED_GPA },
	{ DESC_GPA, END - 4, USED_GPA },
	{ DESC_GPA, AVAIL_GPA, END - 8 },
	/* above 4 GiB (no RAM there with 64M), and near 2^64 */
	{ 0x100000000ull, AVAIL_GPA, USED_GPA },
	{ DESC_GPA, 0xfffffffffffffff0ull, USED_GPA },
	{ DESC_GPA, AVAIL_GPA, 0xfffffffffffffffcull },
	{ 0xffffffffffff0000ull, 0xffffffffffffff00ull, 0xfffffffffffffff8ull },
	/* misaligned */
	{ DESC_GPA + 8, AVAIL_GPA, USED_GPA },
	{ DESC_GPA, AVAIL_GPA + 1, USED_GPA },
	{ DESC_GPA, AVAIL_GPA, USED_GPA + 2 },
	/* all three overlapping, in RAM: may be taken, must not crash */
	{ DESC_GPA, DESC_GPA, DESC_GPA },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

int guest_main(void)
{
	serial_init();
	for (uint32_t i = 0; i < NCASES; i++) {
		const struct layout *l = &cases[i];
		bool ready, overlap = l->desc == l->avail;

		if (!vdev_init(0)) {
			note("features refused in case", i);
			return VERDICT_FAIL(2 * i);
		}
		memset(gpa(RING_GPA), 0, 0x3000);
		ready = vq_setup_at(SZ, l->desc, l->avail, l->used);
		if (ready && !overlap) {
			/* It took: then using it must end in the error
			 * state, never in a crash. */
			note("QueueReady took a bad layout, case", i);
			(void)vdev_driver_ok();
			vq_notify();
			if (vq_wait(5000, 0) != WAIT_NEEDS_RESET) {
				note("no NEEDS_RESET, case", i);
				return VERDICT_FAIL(2 * i);
			}
		}
		if (!ready && overlap)
			note("overlapping in-RAM layout refused, case", i);
		if (overlap) {
			/* Nothing offered (avail idx 0): the kick is a no-op */
			(void)vdev_driver_ok();
			vq_notify();
		}
		/* Not ready: DRIVER_OK anyway, and a kick, must be harmless. */
		if (!ready) {
			(void)vdev_driver_ok();
			vq_notify();
			vw(VM_QUEUE_NOTIFY, 0);
		}
		if (!blk_fresh_read(SZ, i)) {
			note("read after reset failed, case", i);
			return VERDICT_FAIL(2 * i + 1);
		}
	}
	puts_("queue_outside_ram: PASS\n");
	return VERDICT_PASS;
}
