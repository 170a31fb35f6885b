#include "devices/rtc.h"
#include "snapfile.h"

#include <errno.h>
#include <string.h>

#define REG_SECONDS 0x00
#define REG_MINUTES 0x02
#define REG_HOURS 0x04
#define REG_WEEKDAY 0x06
#define REG_DAY 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32

#define REG_A_DEFAULT 0x26 /* 32.768 kHz, 1024 Hz; UIP clear */
#define REG_B_24H 0x02
#define REG_B_BINARY 0x04
#define REG_D_VALID 0x80 /* battery good */
#define NMI_DISABLE 0x80 /* index bit 7 masks NMI, not a register */

int rtc_init(struct rtc *r)
{
	memset(r, 0, sizeof(*r));
	r->cmos[REG_A] = REG_A_DEFAULT;
	r->cmos[REG_B] = REG_B_24H;
	r->cmos[REG_D] = REG_D_VALID;
	return -pthread_mutex_init(&r->lock, NULL);
}

void rtc_destroy(struct rtc *r)
{
	pthread_mutex_destroy(&r->lock);
}

static uint8_t to_bcd(const struct rtc *r, int v)
{
	if (r->cmos[REG_B] & REG_B_BINARY)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

static int from_bcd(const struct rtc *r, uint8_t v)
{
	if (r->cmos[REG_B] & REG_B_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0xf);
}

/*
 * UTC civil time from seconds and back (Howard Hinnant's days/civil
 * algorithms). Not gmtime_r/timegm: glibc's read /etc/localtime on first
 * use, a file a sandboxed vCPU thread may not open.
 */
struct civil {
	int year, mon, mday, hour, min, sec, wday; /* mon 1-12, wday 0=Sun */
};

static void civil_from_time(time_t t, struct civil *c)
{
	int64_t days = t / 86400, secs = t % 86400, era, doe, yoe, doy, mp;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	c->hour = (int)(secs / 3600);
	c->min = (int)(secs / 60 % 60);
	c->sec = (int)(secs % 60);
	c->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = (int)(yoe + era * 400 + (c->mon <= 2));
}

static time_t time_from_civil(const struct civil *c)
{
	int64_t y = c->year - (c->mon <= 2), era, yoe, doy, doe;

	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (c->mon > 2 ? c->mon - 3 : c->mon + 9) + 2) / 5 + c->mday -
	      1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (time_t)((era * 146097 + doe - 719468) * 86400 + c->hour * 3600 +
			c->min * 60 + c->sec);
}

static time_t rtc_now(const struct rtc *r)
{
	return (r->fixed_now ? r->fixed_now : time(NULL)) + r->offset;
}

static uint8_t rtc_read_time(const struct rtc *r, uint8_t reg)
{
	struct civil c;
	int hour;

	civil_from_time(rtc_now(r), &c);
	switch (reg) {
	case REG_SECONDS:
		return to_bcd(r, c.sec);
	case REG_MINUTES:
		return to_bcd(r, c.min);
	case REG_HOURS:
		if (r->cmos[REG_B] & REG_B_24H)
			return to_bcd(r, c.hour);
		hour = c.hour % 12 ? c.hour % 12 : 12;
		return (uint8_t)(to_bcd(r, hour) | (c.hour >= 12 ? 0x80 : 0));
	case REG_WEEKDAY:
		return to_bcd(r, c.wday + 1);
	case REG_DAY:
		return to_bcd(r, c.mday);
	case REG_MONTH:
		return to_bcd(r, c.mon);
	case REG_YEAR:
		return to_bcd(r, c.year % 100);
	default: /* REG_CENTURY */
		return to_bcd(r, c.year / 100);
	}
}

/* A guest setting the clock: keep the difference to host time. */
static void rtc_write_time(struct rtc *r, uint8_t reg, uint8_t v)
{
	time_t now = rtc_now(r);
	struct civil c;
	int n = from_bcd(r, v & 0x7f);

	civil_from_time(now, &c);
	switch (reg) {
	case REG_SECONDS:
		c.sec = n % 60;
		break;
	case REG_MINUTES:
		c.min = n % 60;
		break;
	case REG_HOURS:
		if (!(r->cmos[REG_B] & REG_B_24H))
			n = n % 12 + ((v & 0x80) ? 12 : 0);
		c.hour = n % 24;
		break;
	case REG_DAY:
		if (n >= 1 && n <= 31)
			c.mday = n;
		break;
	case REG_MONTH:
		if (n >= 1 && n <= 12)
			c.mon = n;
		break;
	case REG_YEAR:
		c.year = (c.year / 100) * 100 + n % 100;
		break;
	default:
		return;
	}
	r->offset += time_from_civil(&c) - now;
}

static bool is_time_reg(uint8_t reg)
{
	return reg <= REG_YEAR ? !(reg & 1) || reg >= REG_WEEKDAY
			       : reg == REG_CENTURY;
}

void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
	    bool is_write)
{
	struct rtc *r = opaque;
	uint8_t reg;

	if (!r || !data || len == 0)
		return;
	pthread_mutex_lock(&r->lock);
	if (off == 0) {
		if (is_write)
			r->index = data[0] & ~NMI_DISABLE;
		else
			data[0] = 0xff;
		goto out;
	}
	if (off != 1) {
		if (!is_write)
			data[0] = 0xff;
		goto out;
	}
	reg = r->index % RTC_NR_REGS;
	if (!is_write) {
		if (is_time_reg(reg))
			data[0] = rtc_read_time(r, reg);
		else if (reg == REG_C)
			data[0] = 0; /* no interrupt flags; reading clears */
		else
			data[0] = r->cmos[reg];
		goto out;
	}
	if (is_time_reg(reg) && reg != REG_WEEKDAY && reg != REG_CENTURY) {
		rtc_write_time(r, reg, data[0]);
	} else if (reg == REG_A) {
		r->cmos[REG_A] = data[0] & 0x7f; /* UIP is read-only */
	} else if (reg == REG_B) {
		r->cmos[REG_B] = data[0];
	} else if (reg != REG_C && reg != REG_D && !is_time_reg(reg)) {
		r->cmos[reg] = data[0];
	}
out:
	/* Bytes beyond the first of a wide read float high. */
	if (!is_write)
		memset(data + 1, 0xff, len - 1);
	pthread_mutex_unlock(&r->lock);
}

void rtc_save(struct rtc *r, struct snap_writer *w)
{
	pthread_mutex_lock(&r->lock);
	snap_put_u8(w, r->index);
	snap_put_bytes(w, r->cmos, sizeof(r->cmos));
	snap_put_u64(w, (uint64_t)(int64_t)r->offset);
	pthread_mutex_unlock(&r->lock);
}

int rtc_restore(struct rtc *r, struct snap_reader *rd)
{
	uint8_t index, cmos[RTC_NR_REGS];
	int64_t offset;

	index = snap_get_u8(rd);
	snap_get_bytes(rd, cmos, sizeof(cmos));
	offset = (int64_t)snap_get_u64(rd);
	/* An offset beyond +-10000 years is no clock's. */
	if (snap_reader_done(rd) || index >= RTC_NR_REGS ||
	    offset > 316000000000LL || offset < -316000000000LL)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	r->index = index;
	memcpy(r->cmos, cmos, sizeof(cmos));
	r->offset = (time_t)offset;
	pthread_mutex_unlock(&r->lock);
	return 0;
}
