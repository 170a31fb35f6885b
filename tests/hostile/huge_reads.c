/*
 * huge_reads: queue reads as big as a chain allows and then want the device
 * back at once, or be stopped by the host. Each request is one descriptor
 * pointing to an indirect table: the header, 254 device-writable 4 MiB
 * descriptors (all the same buffer) and the status byte, so 1016 MiB read
 * from sector 0 of the (sparse) 1 GiB image that run_hostile.sh makes for
 * this guest. HUGE_READS of them are queued at once: about 64 GiB the host
 * must copy, seconds of work, for a few kilobytes of guest memory.
 *
 * Phase 1, reset: once the second read has completed (so the device is
 * busy with the third), write 0 to Status. The reset must be done (Status
 * reads 0) within RESET_BOUND times the duration of that second read: a
 * device that finishes its batch first takes about HUGE_READS - 2 times
 * it. (Not the first read: with the image on a disk file system, that one
 * fills the host's page cache with its holes, several times slower than
 * copying them again; in /dev/shm they read as the zero page.) The old
 * used ring must then stay untouched (no completion after a reset) and a
 * fresh bring-up must read a sector correctly.
 *
 * Phase 2, stop: queue the same reads again, wait for the first to
 * complete, print STOP_MARKER and spin. run_hostile.sh then sends kvmlite
 * SIGTERM and expects it to exit with status 82 within HOSTILE_STOP_MS.
 *
 * Verdict 10 + step on failure: 0 bring-up, 1 no first or second
 * completion, 2 the reset took too long or Status did not read 0, 3 a
 * completion after the reset, 4 the read after the reset, 5 phase 2
 * bring-up, 6 phase 2 first completion, 7 not stopped by the host.
 */
#include "guest.h"

const char guest_name[] = "huge_reads";

#define HUGE_READS 64
#define QSIZE 256	     /* an indirect table has at most QSIZE entries */
#define DATA_DESCS 254	     /* + header + status = 256 table entries */
#define DATA_EACH (4u << 20) /* 254 x 4 MiB = 1016 MiB per read */
#ifndef RESET_BOUND
#define RESET_BOUND 8 /* in durations of one read */
#endif
#define STOP_MARKER "HOSTILE-STOP-NOW"

/* One indirect table (at ITAB_GPA) shared by every request. */
static void build_table(void)
{
	volatile struct vdesc *t = gpa(ITAB_GPA);

	t[0].addr = HDR_GPA;
	t[0].len = 16;
	t[0].flags = F_NEXT;
	t[0].next = 1;
	for (uint16_t i = 1; i <= DATA_DESCS; i++) {
		t[i].addr = BIG_GPA;
		t[i].len = DATA_EACH;
		t[i].flags = F_NEXT | F_WRITE;
		t[i].next = (uint16_t)(i + 1);
	}
	t[DATA_DESCS + 1].addr = STATUS_GPA;
	t[DATA_DESCS + 1].len = 1;
	t[DATA_DESCS + 1].flags = F_WRITE;
	t[DATA_DESCS + 1].next = 0;
}

/* Bring the device up with indirect descriptors, queue HUGE_READS reads
 * and kick. False when the bring-up failed. */
static bool queue_reads(void)
{
	if (!vdev_init(FEAT_INDIRECT) || !vq_setup(QSIZE) ||
	    !vdev_driver_ok()) {
		note("bring-up failed, status", vr(VM_STATUS));
		return false;
	}
	blk_hdr(BLK_T_IN, 0);
	*(volatile uint8_t *)gpa(STATUS_GPA) = BLK_S_NONE;
	for (uint16_t h = 0; h < HUGE_READS; h++) {
		vq_put_desc(h, ITAB_GPA, 16u * (DATA_DESCS + 2), F_INDIRECT, 0);
		vq_offer(h);
	}
	vq_notify();
	return true;
}

/* Wait for the next read to complete; false when it did not. */
static bool read_done(void)
{
	uint32_t len = 0;

	if (vq_wait(60000, &len) != WAIT_USED) {
		note("no completion of a read, status", vr(VM_STATUS));
		return false;
	}
	if (*(volatile uint8_t *)gpa(STATUS_GPA) != BLK_S_OK ||
	    len != DATA_DESCS * DATA_EACH + 1) {
		note("first read: bad status or length", len);
		return false;
	}
	return true;
}

int guest_main(void)
{
	volatile uint16_t *used_idx = gpa(USED_GPA + 2);
	uint64_t t0, t_read, t_reset, dl;
	uint32_t st;
	uint16_t seen;

	serial_init();
	build_table();

	/* Phase 1: reset while the device is busy. */
	if (!queue_reads())
		return VERDICT_FAIL(0);
	if (!read_done())
		return VERDICT_FAIL(1);
	t0 = rdtsc();
	if (!read_done())
		return VERDICT_FAIL(1);
	t_read = rdtsc() - t0;
	t0 = rdtsc();
	vw(VM_STATUS, 0);
	st = vr(VM_STATUS);
	t_reset = rdtsc() - t0;
	note("one read took (2^20 TSC cycles)", (uint32_t)(t_read >> 20));
	note("the reset took (2^20 TSC cycles)", (uint32_t)(t_reset >> 20));
	if (st) {
		note("Status after the reset", st);
		return VERDICT_FAIL(2);
	}
	if (t_reset > RESET_BOUND * t_read) {
		note("the reset waited for the queued reads: bound x",
		     RESET_BOUND);
		return VERDICT_FAIL(2);
	}
	/* No completion may reach the old ring after the reset. */
	seen = *used_idx;
	t0 = rdtsc();
	while (rdtsc() - t0 < t_read)
		__asm__ volatile("pause");
	if (*used_idx != seen) {
		note("used entries after the reset",
		     (uint16_t)(*used_idx - seen));
		return VERDICT_FAIL(3);
	}
	if (!blk_fresh_read(16, 5))
		return VERDICT_FAIL(4);
	puts_("huge_reads: reset phase passed\n");

	/* Phase 2: the host stops the VM while the reads are queued. */
	if (!queue_reads())
		return VERDICT_FAIL(5);
	if (!read_done())
		return VERDICT_FAIL(6);
	puts_(STOP_MARKER "\n");
	dl = deadline_ms(60000);
	while (!expired(dl))
		__asm__ volatile("pause");
	note("not stopped by the host", 0);
	return VERDICT_FAIL(7);
}
