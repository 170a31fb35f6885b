/* Unit tests for the virtio-mmio transport, with a fake device. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>

#include "guest_mem.h"
#include "x86_layout.h"
#include "unit.h"
#include "virtio/mmio.h"

#define FAKE_ID 42
#define FAKE_CFG 24
#define FAKE_FEATURES                                                          \
	(1ULL << 0 | 1ULL << 5 | 1ULL << VIRTIO_RING_F_EVENT_IDX |             \
	 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 33)

struct fake_dev {
	uint8_t config[FAKE_CFG + 16]; /* FAKE_CFG bytes, then canaries */
	int activates, resets, fail_activate;
	int bad_config_calls; /* ops called out of bounds */
};

static struct guest_mem mem;
static struct fake_dev fake;
static struct virtio_mmio_dev dev;

static uint64_t fake_features(void *d)
{
	return FAKE_FEATURES;
}

static void fake_config_read(void *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct fake_dev *f = d;

	if (off + len > FAKE_CFG)
		f->bad_config_calls++;
	memcpy(data, f->config + off, len);
}

static void fake_config_write(void *d, uint32_t off, const uint8_t *data,
			      uint32_t len)
{
	struct fake_dev *f = d;

	if (off + len > FAKE_CFG)
		f->bad_config_calls++;
	memcpy(f->config + off, data, len);
}

static int fake_activate(void *d)
{
	struct fake_dev *f = d;

	f->activates++;
	return f->fail_activate ? -EIO : 0;
}

static void fake_reset(void *d)
{
	((struct fake_dev *)d)->resets++;
}

static const struct virtio_dev_ops fake_ops = {
	.device_id = FAKE_ID,
	.nr_queues = 2,
	.config_size = FAKE_CFG,
	.features = fake_features,
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.activate = fake_activate,
	.reset = fake_reset,
};

static void setup(void)
{
	ck_assert_int_eq(guest_mem_init(&mem, MiB(16)), 0);
	memset(&fake, 0, sizeof(fake));
	for (int i = 0; i < (int)sizeof(fake.config); i++)
		fake.config[i] = (uint8_t)(i < FAKE_CFG ? 0x10 + i : 0xcc);
	ck_assert_int_eq(virtio_mmio_init(&dev, &fake_ops, &fake, &mem), 0);
}

static void teardown(void)
{
	virtio_mmio_destroy(&dev);
	guest_mem_free(&mem);
}

static uint64_t rdn(uint64_t off, uint32_t len)
{
	uint8_t b[8];
	uint64_t v = 0;

	memset(b, 0xa5, sizeof(b));
	virtio_mmio_io(&dev, off, b, len, false);
	for (uint32_t i = 0; i < len; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void wrn(uint64_t off, uint32_t len, uint64_t v)
{
	uint8_t b[8];

	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	virtio_mmio_io(&dev, off, b, len, true);
}

static uint32_t rd(uint64_t off)
{
	return (uint32_t)rdn(off, 4);
}

static void wr(uint64_t off, uint32_t v)
{
	wrn(off, 4, v);
}

/* Value of an eventfd, 0 when not signalled (it is non-blocking). */
static uint64_t efd_value(int fd)
{
	eventfd_t v;

	if (eventfd_read(fd, &v) < 0)
		return 0;
	return v;
}

static void write_driver_features(uint64_t f)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK. */
static void negotiate(uint64_t f)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	write_driver_features(f);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
				       VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK);
}

static void setup_queue(uint32_t sel, uint32_t num, uint64_t desc,
			uint64_t avail, uint64_t used)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, sel);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

START_TEST(identity_registers)
{
	ck_assert_uint_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VERSION), 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_ID), FAKE_ID);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	/* Read-only: writes change nothing. */
	wr(VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr(VIRTIO_MMIO_DEVICE_ID, 7);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_ID), FAKE_ID);
}
END_TEST

START_TEST(bad_widths_and_offsets)
{
	/* Registers take aligned 32-bit accesses only. */
	ck_assert_uint_eq(rdn(VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
	ck_assert_uint_eq(rdn(VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
	ck_assert_uint_eq(rdn(VIRTIO_MMIO_MAGIC_VALUE, 8), 0);
	ck_assert_uint_eq(rdn(VIRTIO_MMIO_MAGIC_VALUE + 1, 4), 0);
	ck_assert_uint_eq(rdn(VIRTIO_MMIO_VERSION + 2, 4), 0);
	ck_assert_uint_eq(rd(0x0e8), 0);		    /* unknown */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NOTIFY), 0); /* write-only */
	ck_assert_uint_eq(rdn(VIRTIO_MMIO_WINDOW, 4), 0);   /* past it */
	ck_assert_uint_eq(rdn(0xffffffffffffff00ULL, 4), 0);
	/* A 2-byte status write is ignored. */
	wrn(VIRTIO_MMIO_STATUS, 2, VIRTIO_STATUS_ACKNOWLEDGE);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wrn(VIRTIO_MMIO_STATUS + 1, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	/* Every offset, every width, reads and writes: nothing breaks. */
	for (uint64_t off = 0; off < VIRTIO_MMIO_CONFIG; off++) {
		for (uint32_t len = 1; len <= 8; len *= 2) {
			if (off == VIRTIO_MMIO_STATUS && len == 4)
				continue;
			(void)rdn(off, len);
		}
	}
	ck_assert_uint_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
}
END_TEST

START_TEST(device_features)
{
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES),
			  (uint32_t)FAKE_FEATURES);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES),
			  (uint32_t)(FAKE_FEATURES >> 32));
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES) & 1, 1); /* V1 */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}
END_TEST

START_TEST(features_ok_accepted)
{
	uint64_t f = 1ULL << 5 | 1ULL << VIRTIO_F_VERSION_1;

	negotiate(f);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS),
			  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK);
	ck_assert_uint_eq(virtio_mmio_driver_features(&dev), f);
	/* Negotiation is over: later writes do not count. */
	write_driver_features(FAKE_FEATURES);
	ck_assert_uint_eq(virtio_mmio_driver_features(&dev), f);
}
END_TEST

START_TEST(features_ok_refused_unknown)
{
	negotiate(1ULL << 3 | 1ULL << VIRTIO_F_VERSION_1); /* 3: not ours */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK,
			  0);
	/* The driver may try again with a proper set. */
	write_driver_features(1ULL << VIRTIO_F_VERSION_1);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
				       VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK);
	ck_assert_uint_ne(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK,
			  0);
}
END_TEST

START_TEST(features_ok_refused_without_v1)
{
	negotiate(1ULL << 5);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK,
			  0);
}
END_TEST

START_TEST(features_ok_refused_high_words)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	negotiate(1ULL << VIRTIO_F_VERSION_1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK,
			  0);
}
END_TEST

START_TEST(driver_ok_needs_features_ok)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
				       VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK, 0);
	ck_assert_int_eq(fake.activates, 0);

	negotiate(1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_EVENT_IDX);
	setup_queue(0, 16, 0x10000, 0x11000, 0x12000);
	wr(VIRTIO_MMIO_STATUS,
	   rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_ne(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK, 0);
	ck_assert_int_eq(fake.activates, 1);
	ck_assert(virtio_mmio_queue(&dev, 0)->event_idx);
	ck_assert(!virtio_mmio_queue(&dev, 0)->indirect);
	/* Bits do not go down except by a reset. */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	ck_assert_uint_ne(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK, 0);
	ck_assert_int_eq(fake.activates, 1);
}
END_TEST

START_TEST(activate_failure_needs_reset)
{
	fake.fail_activate = 1;
	negotiate(1ULL << VIRTIO_F_VERSION_1);
	wr(VIRTIO_MMIO_STATUS,
	   rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_ne(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET,
			  0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS),
			  VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(efd_value(virtio_mmio_call_fd(&dev)), 1);
}
END_TEST

START_TEST(queue_setup)
{
	struct virtq *q = virtio_mmio_queue(&dev, 1);

	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2); /* no such queue */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_ptr_null(virtio_mmio_queue(&dev, 2));

	setup_queue(1, 64, 0x10000, 0x11000, 0x12000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	ck_assert(q->ready);
	ck_assert_uint_eq(q->size, 64);
	ck_assert_uint_eq(q->desc_gpa, 0x10000);
	ck_assert_uint_eq(q->avail_gpa, 0x11000);
	ck_assert_uint_eq(q->used_gpa, 0x12000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_DESC_LOW), 0x10000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_DRIVER_LOW), 0x11000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_DEVICE_LOW), 0x12000);
	/* Frozen while ready. */
	wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x20000);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 1);
	ck_assert_uint_eq(q->size, 64);
	ck_assert_uint_eq(q->desc_gpa, 0x10000);
	ck_assert_uint_eq(q->used_gpa, 0x12000);
	/* Queue 0 is independent. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	/* QueueReady 0 releases it. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert(!q->ready);
}
END_TEST

START_TEST(queue_setup_refused)
{
	/* Outside RAM. */
	setup_queue(0, 16, LAYOUT_VIRTIO_MMIO, 0x11000, 0x12000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	setup_queue(0, 16, 0x10000, 0x11000, 0x100000000ULL);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	setup_queue(0, 256, 0x10000, 0x11000, MiB(16) - 8 * 256);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	/* Misaligned. */
	setup_queue(0, 16, 0x10008, 0x11000, 0x12000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	/* Sizes. */
	setup_queue(0, 100, 0x10000, 0x11000, 0x12000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	setup_queue(0, 2 * VIRTQ_MAX_SIZE, 0x10000, 0x11000, 0x12000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	setup_queue(0, 0, 0x10000, 0x11000, 0x12000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	/* And the good one. */
	setup_queue(0, VIRTQ_MAX_SIZE, 0x10000, 0x11000, 0x12000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
}
END_TEST

START_TEST(queue_frozen_after_driver_ok)
{
	negotiate(1ULL << VIRTIO_F_VERSION_1);
	wr(VIRTIO_MMIO_STATUS,
	   rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	setup_queue(0, 16, 0x10000, 0x11000, 0x12000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(virtio_mmio_queue(&dev, 0)->size, 0);
}
END_TEST

START_TEST(config_space_bounds)
{
	uint8_t expect[8];

	for (uint64_t off = 0; off < VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG;
	     off++) {
		for (uint32_t len = 1; len <= 8; len++) {
			uint64_t v = rdn(VIRTIO_MMIO_CONFIG + off, len);
			uint64_t want = 0;
			bool valid = (len == 1 || len == 2 || len == 4 ||
				      len == 8) &&
				     off + len <= FAKE_CFG;

			if (valid) {
				memcpy(expect, fake.config + off, len);
				for (uint32_t i = 0; i < len; i++)
					want |= (uint64_t)expect[i] << (8 * i);
			}
			ck_assert_msg(
				v == want, "config read off %u len %u: %llx",
				(unsigned int)off, len, (unsigned long long)v);
		}
	}
	/* Writes everywhere, at every width: only the inside changes. */
	for (uint64_t off = 0; off < VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG;
	     off++)
		for (uint32_t len = 1; len <= 8; len++)
			wrn(VIRTIO_MMIO_CONFIG + off, len, 0x7777777777777777);
	for (int i = 0; i < (int)sizeof(fake.config); i++)
		ck_assert_uint_eq(fake.config[i], i < FAKE_CFG ? 0x77 : 0xcc);
	ck_assert_int_eq(fake.bad_config_calls, 0);
	/* Past the window is not config space either. */
	ck_assert_uint_eq(rdn(VIRTIO_MMIO_WINDOW, 1), 0);
}
END_TEST

START_TEST(reset_clears_everything)
{
	negotiate(1ULL << VIRTIO_F_VERSION_1 | 1ULL << 0);
	setup_queue(0, 16, 0x10000, 0x11000, 0x12000);
	wr(VIRTIO_MMIO_STATUS,
	   rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	virtio_mmio_signal_used(&dev);
	ck_assert_uint_ne(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	virtio_mmio_queue(&dev, 0)->last_avail_idx = 5;

	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_int_eq(fake.resets, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_SEL), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
	ck_assert_uint_eq(virtio_mmio_queue(&dev, 0)->last_avail_idx, 0);
	ck_assert_uint_eq(virtio_mmio_queue(&dev, 0)->size, 0);
	ck_assert_uint_eq(virtio_mmio_driver_features(&dev), 0);

	/* The driver can bind again. */
	negotiate(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, 16, 0x10000, 0x11000, 0x12000);
	wr(VIRTIO_MMIO_STATUS,
	   rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_int_eq(fake.activates, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
}
END_TEST

START_TEST(dump_queue_indexes)
{
	uint16_t v;
	char out[1024];
	struct dumpbuf b = { out, sizeof(out), 0 };
	struct virtq *q = virtio_mmio_queue(&dev, 0);
	const char *line0 = "T: q0 size=16 ready=1 event_idx=1 last_avail=4 "
			    "used=2 signalled=1 guest: avail.idx=7 "
			    "avail.flags=0x1 used_event=3 used.idx=9 "
			    "used.flags=0x1 avail_event=5\n";
	const char *line1 = "T: q1 size=0 ready=0 event_idx=1 last_avail=0 "
			    "used=0 signalled=0\n";

	negotiate(1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_EVENT_IDX);
	setup_queue(0, 16, 0x10000, 0x11000, 0x12000);
	wr(VIRTIO_MMIO_STATUS,
	   rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	q->last_avail_idx = 4;
	q->used_idx = 2;
	q->signalled_used = 1;
	v = 1;
	gmem_write(&mem, 0x11000, &v, 2); /* avail.flags */
	v = 7;
	gmem_write(&mem, 0x11002, &v, 2); /* avail.idx */
	v = 3;
	gmem_write(&mem, 0x11004 + 2 * 16, &v, 2); /* used_event */
	v = 1;
	gmem_write(&mem, 0x12000, &v, 2); /* used.flags */
	v = 9;
	gmem_write(&mem, 0x12002, &v, 2); /* used.idx */
	v = 5;
	gmem_write(&mem, 0x12004 + 8 * 16, &v, 2); /* avail_event */
	virtio_mmio_dump(&dev, "T", &b);
	ck_assert_uint_lt(b.need, sizeof(out));
	ck_assert_msg(strstr(out, line0), "%s", out);
	ck_assert_msg(strstr(out, line1), "%s", out);
}
END_TEST

START_TEST(notify_fallback)
{
	int k0 = virtio_mmio_kick_fd(&dev, 0),
	    k1 = virtio_mmio_kick_fd(&dev, 1);

	ck_assert_int_ge(k0, 0);
	ck_assert_int_ge(k1, 0);
	ck_assert_int_ne(k0, k1);
	ck_assert_int_eq(virtio_mmio_kick_fd(&dev, 2), -1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_uint_eq(efd_value(k0), 0);
	ck_assert_uint_eq(efd_value(k1), 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(efd_value(k0), 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	wrn(VIRTIO_MMIO_QUEUE_NOTIFY, 2, 0);
	ck_assert_uint_eq(efd_value(k0), 0);
	ck_assert_uint_eq(efd_value(k1), 0);
}
END_TEST

START_TEST(interrupts)
{
	int call = virtio_mmio_call_fd(&dev);

	ck_assert_int_ge(call, 0);
	ck_assert_uint_eq(efd_value(call), 0);
	virtio_mmio_signal_used(&dev);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS),
			  VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(efd_value(call), 1);
	virtio_mmio_config_changed(&dev);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS),
			  VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	ck_assert_uint_eq(efd_value(call), 1);
	/* Writing InterruptStatus does nothing; ACK clears. */
	wr(VIRTIO_MMIO_INTERRUPT_STATUS, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 3);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS),
			  VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}
END_TEST

START_TEST(needs_reset_state)
{
	int k0 = virtio_mmio_kick_fd(&dev, 0);

	negotiate(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, 16, 0x10000, 0x11000, 0x12000);
	wr(VIRTIO_MMIO_STATUS,
	   rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	virtio_mmio_set_needs_reset(&dev);
	ck_assert(virtio_mmio_needs_reset(&dev));
	ck_assert_uint_ne(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET,
			  0);
	ck_assert_uint_ne(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS),
			  VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(efd_value(virtio_mmio_call_fd(&dev)), 1);
	/* Notifies are ignored; a second error does not re-raise. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(efd_value(k0), 0);
	virtio_mmio_set_needs_reset(&dev);
	ck_assert_uint_eq(efd_value(virtio_mmio_call_fd(&dev)), 0);
	/* The driver cannot clear it by writing Status... */
	wr(VIRTIO_MMIO_STATUS,
	   rd(VIRTIO_MMIO_STATUS) & ~VIRTIO_STATUS_NEEDS_RESET);
	ck_assert(virtio_mmio_needs_reset(&dev));
	/* ...only by a reset. */
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert(!virtio_mmio_needs_reset(&dev));
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(efd_value(k0), 1);
}
END_TEST

static uint64_t no_features(void *d)
{
	return 0;
}

START_TEST(bad_ops_refused)
{
	struct virtio_mmio_dev d2;
	struct virtio_dev_ops ops = fake_ops;

	ops.nr_queues = 0;
	ck_assert_int_eq(virtio_mmio_init(&d2, &ops, &fake, &mem), -EINVAL);
	ops.nr_queues = VIRTIO_MMIO_MAX_QUEUES + 1;
	ck_assert_int_eq(virtio_mmio_init(&d2, &ops, &fake, &mem), -EINVAL);
	ops.nr_queues = 1;
	ops.config_size = 0x101;
	ck_assert_int_eq(virtio_mmio_init(&d2, &ops, &fake, &mem), -EINVAL);
	ops.config_size = 0;
	ops.features = no_features;
	ck_assert_int_eq(virtio_mmio_init(&d2, &ops, &fake, &mem), 0);
	/* VERSION_1 is always offered. */
	virtio_mmio_destroy(&d2);
	virtio_mmio_destroy(&d2); /* twice is harmless */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_mmio");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identity_registers);
	tcase_add_test(tc, bad_widths_and_offsets);
	tcase_add_test(tc, device_features);
	tcase_add_test(tc, features_ok_accepted);
	tcase_add_test(tc, features_ok_refused_unknown);
	tcase_add_test(tc, features_ok_refused_without_v1);
	tcase_add_test(tc, features_ok_refused_high_words);
	tcase_add_test(tc, driver_ok_needs_features_ok);
	tcase_add_test(tc, activate_failure_needs_reset);
	tcase_add_test(tc, queue_setup);
	tcase_add_test(tc, queue_setup_refused);
	tcase_add_test(tc, queue_frozen_after_driver_ok);
	tcase_add_test(tc, config_space_bounds);
	tcase_add_test(tc, reset_clears_everything);
	tcase_add_test(tc, dump_queue_indexes);
	tcase_add_test(tc, notify_fallback);
	tcase_add_test(tc, interrupts);
	tcase_add_test(tc, needs_reset_state);
	tcase_add_test(tc, bad_ops_refused);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
