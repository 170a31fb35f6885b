/*
 * Not hostile: a guest for the snapshot tests (tests/smoke/snapshot_lib.c),
 * built with the hostile guests' library for its virtio-blk driver. It
 * brings the disk up, writes sector 1 full of 'B', asks for a snapshot
 * (port 0xf6) and reads the port back:
 *
 * - booted (0): prints "snapblk: booted", then reads the port until it is
 *   non-zero (the host may take a snapshot meanwhile and reset to it);
 * - restored or reset (1): the driver and device carry on from the
 *   snapshot: sector 1 must read 'B' (written before the snapshot),
 *   sector 2 the image's pattern (written only after it, by an earlier
 *   run that a reset discarded); it writes sector 2 full of 'C', reads
 *   that back, prints "snapblk: restored ok" (or what failed) and halts.
 */
#include "guest.h"

const char guest_name[] = "snapblk";

/* Sector @sector to or from DATA_GPA; true when the device said OK. */
static bool blk_rw(uint64_t sector, bool write)
{
	volatile uint8_t *status = gpa(STATUS_GPA);
	uint32_t len = 0;

	*status = BLK_S_NONE;
	blk_hdr(write ? BLK_T_OUT : BLK_T_IN, sector);
	vq_put_desc(0, HDR_GPA, 16, F_NEXT, 1);
	vq_put_desc(1, DATA_GPA, 512, F_NEXT | (write ? 0 : F_WRITE), 2);
	vq_put_desc(2, STATUS_GPA, 1, F_WRITE, 0);
	vq_offer(0);
	vq_notify();
	if (vq_wait(10000, &len) != WAIT_USED) {
		note("no completion, status", vr(VM_STATUS));
		return false;
	}
	return *status == BLK_S_OK;
}

static bool fill_and_write(uint64_t sector, uint8_t c)
{
	memset(gpa(DATA_GPA), c, 512);
	return blk_rw(sector, true);
}

static bool read_is(uint64_t sector, uint8_t c)
{
	const uint8_t *p = gpa(DATA_GPA);

	memset(gpa(DATA_GPA), 0, 512);
	if (!blk_rw(sector, false))
		return false;
	for (int i = 0; i < 512; i++)
		if (p[i] != c)
			return false;
	return true;
}

static int restored(void)
{
	if (!read_is(1, 'B'))
		return 1;
	if (!blk_read_check(2))
		return 2; /* an earlier run's write came back */
	if (!fill_and_write(2, 'C'))
		return 3;
	if (!read_is(2, 'C'))
		return 4;
	return 0;
}

int guest_main(void)
{
	int step;

	serial_init();
	if (!blk_fresh_read(16, 0))
		return VERDICT_FAIL(0);
	if (!fill_and_write(1, 'B'))
		return VERDICT_FAIL(1);
	outb(0xf6, 1);
	if (!inb(0xf6)) {
		puts_("snapblk: booted\n");
		while (!inb(0xf6))
			__asm__ volatile("pause");
	}
	step = restored();
	if (step)
		note("restored FAIL at step", (uint32_t)step);
	else
		puts_("snapblk: restored ok\n");
	for (;;)
		__asm__ volatile("hlt");
}
