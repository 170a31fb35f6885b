/*
 * MC146818 CMOS real-time clock at ports 0x70 (index) and 0x71 (data):
 * the guest reads the host's UTC time of day. Without it Linux's rtc_cmos
 * driver spends seconds waiting on the update-in-progress bit of a
 * floating bus.
 */
#ifndef KVMLITE_DEVICES_RTC_H
#define KVMLITE_DEVICES_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RTC_NR_REGS 128

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[RTC_NR_REGS];
	/* Added to host time: the guest may set its clock. */
	time_t offset;
	/* For tests: a fixed "now" instead of time(NULL), when non-zero. */
	time_t fixed_now;
};

int rtc_init(struct rtc *r);
void rtc_destroy(struct rtc *r);
struct snap_writer;
struct snap_reader;

/* Snapshots: the index, the CMOS bytes and the guest's offset from host
 * time (a restored guest reads the time of day of its new present).
 * -EINVAL for a bad section (nothing changed). */
void rtc_save(struct rtc *r, struct snap_writer *w);
int rtc_restore(struct rtc *r, struct snap_reader *rd);

/* Bus handler for the 2-port range at 0x70. */
void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
	    bool is_write);

#endif
