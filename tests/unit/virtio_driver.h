/*
 * A minimal virtio-mmio driver for the unit tests and the fuzz targets:
 * 32-bit register access through virtio_mmio_io(), the steps of bringing a
 * device up, and the driver's side of a split virtqueue in guest memory.
 *
 * No Check in here (the fuzz targets use it too): the callers assert.
 */
#ifndef KVMLITE_TESTS_VIRTIO_DRIVER_H
#define KVMLITE_TESTS_VIRTIO_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "virtio/mmio.h"
#include "virtio/virtq.h"

/* ---- registers ---- */

static inline uint32_t virtio_drv_read32(struct virtio_mmio_dev *dev,
					 uint64_t off)
{
	uint8_t b[4] = { 0 };

	virtio_mmio_io(dev, off, b, 4, false);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static inline void virtio_drv_write32(struct virtio_mmio_dev *dev, uint64_t off,
				      uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	virtio_mmio_io(dev, off, b, 4, true);
}

/* All 64 feature bits the device offers. */
static inline uint64_t virtio_drv_device_features(struct virtio_mmio_dev *dev)
{
	uint64_t hi;

	virtio_drv_write32(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	hi = virtio_drv_read32(dev, VIRTIO_MMIO_DEVICE_FEATURES);
	virtio_drv_write32(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return hi << 32 | virtio_drv_read32(dev, VIRTIO_MMIO_DEVICE_FEATURES);
}

/* Whether the device has set DEVICE_NEEDS_RESET in Status. */
static inline bool virtio_drv_needs_reset(struct virtio_mmio_dev *dev)
{
	return virtio_drv_read32(dev, VIRTIO_MMIO_STATUS) &
	       VIRTIO_STATUS_NEEDS_RESET;
}

/* ---- bringing a device up ---- */

/* Reset the device: 0 to Status. */
static inline void virtio_drv_reset(struct virtio_mmio_dev *dev)
{
	virtio_drv_write32(dev, VIRTIO_MMIO_STATUS, 0);
}

/*
 * After a reset: ACKNOWLEDGE | DRIVER, @features (high word first), then
 * FEATURES_OK. Returns the status written, for the caller to check the
 * device kept it and, once its queues are set up, to add DRIVER_OK to.
 */
static inline uint32_t virtio_drv_negotiate(struct virtio_mmio_dev *dev,
					    uint64_t features)
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	virtio_drv_write32(dev, VIRTIO_MMIO_STATUS, st);
	virtio_drv_write32(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_drv_write32(dev, VIRTIO_MMIO_DRIVER_FEATURES,
			   (uint32_t)(features >> 32));
	virtio_drv_write32(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_drv_write32(dev, VIRTIO_MMIO_DRIVER_FEATURES,
			   (uint32_t)features);
	st |= VIRTIO_STATUS_FEATURES_OK;
	virtio_drv_write32(dev, VIRTIO_MMIO_STATUS, st);
	return st;
}

/*
 * Select queue @q, give it @size entries and its rings (GPAs below 4 GiB:
 * only the low registers are written), and set it ready. Queue @q stays
 * selected.
 */
static inline void virtio_drv_setup_queue(struct virtio_mmio_dev *dev,
					  unsigned int q, uint16_t size,
					  uint64_t desc, uint64_t avail,
					  uint64_t used)
{
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_SEL, q);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NUM, size);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Write @st | DRIVER_OK to Status; returns the Status read back. */
static inline uint32_t virtio_drv_driver_ok(struct virtio_mmio_dev *dev,
					    uint32_t st)
{
	virtio_drv_write32(dev, VIRTIO_MMIO_STATUS,
			   st | VIRTIO_STATUS_DRIVER_OK);
	return virtio_drv_read32(dev, VIRTIO_MMIO_STATUS);
}

/* ---- the driver's side of a split virtqueue ---- */

struct virtio_drv_queue {
	uint16_t size;
	uint64_t desc, avail, used; /* the rings' GPAs */
	uint16_t avail_idx;	    /* the avail ring's idx, as published */
	uint16_t next_desc;	    /* the next descriptor to fill, mod size */
	uint16_t used_seen;	    /* used entries taken so far */
};

/* One buffer of a descriptor chain. */
struct virtio_drv_seg {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

/*
 * Write a chain of @n descriptors from @segs at the next free slots of @q's
 * table, and offer it on the avail ring. Returns its head.
 */
static inline uint16_t virtio_drv_submit(const struct guest_mem *mem,
					 struct virtio_drv_queue *q,
					 const struct virtio_drv_seg *segs,
					 int n)
{
	uint16_t head = q->next_desc % q->size;

	for (int i = 0; i < n; i++) {
		uint16_t idx = q->next_desc++ % q->size;
		struct virtq_desc d = {
			segs[i].gpa, segs[i].len,
			(uint16_t)((segs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
				   (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			(uint16_t)(q->next_desc % q->size)
		};

		gmem_write(mem, q->desc + 16ULL * idx, &d, sizeof(d));
	}
	gmem_write(mem, q->avail + 4 + 2 * (q->avail_idx % q->size), &head, 2);
	q->avail_idx++;
	gmem_write(mem, q->avail + 2, &q->avail_idx, 2);
	return head;
}

/* The used ring's idx, as the device last published it. */
static inline uint16_t virtio_drv_used_idx(const struct guest_mem *mem,
					   const struct virtio_drv_queue *q)
{
	uint16_t idx;

	gmem_read(mem, q->used + 2, &idx, 2);
	return idx;
}

/* Used entries not taken yet. */
static inline int virtio_drv_nr_new_used(const struct guest_mem *mem,
					 const struct virtio_drv_queue *q)
{
	return (uint16_t)(virtio_drv_used_idx(mem, q) - q->used_seen);
}

/* Take the next used entry; the caller checks there is one. */
static inline struct virtq_used_elem
virtio_drv_take_used(const struct guest_mem *mem, struct virtio_drv_queue *q)
{
	struct virtq_used_elem e;

	gmem_read(mem, q->used + 4 + 8 * (q->used_seen % q->size), &e,
		  sizeof(e));
	q->used_seen++;
	return e;
}

/* The avail ring's flags (VIRTQ_AVAIL_F_NO_INTERRUPT). */
static inline void virtio_drv_set_avail_flags(const struct guest_mem *mem,
					      const struct virtio_drv_queue *q,
					      uint16_t flags)
{
	gmem_write(mem, q->avail, &flags, 2);
}

/* used_event (VIRTIO_RING_F_EVENT_IDX): interrupt once used idx passes it. */
static inline void virtio_drv_set_used_event(const struct guest_mem *mem,
					     const struct virtio_drv_queue *q,
					     uint16_t v)
{
	gmem_write(mem, q->avail + 4 + 2 * q->size, &v, 2);
}

/* avail_event (VIRTIO_RING_F_EVENT_IDX): the device's kick threshold. */
static inline uint16_t virtio_drv_avail_event(const struct guest_mem *mem,
					      const struct virtio_drv_queue *q)
{
	uint16_t v;

	gmem_read(mem, q->used + 4 + 8 * q->size, &v, 2);
	return v;
}

#endif
