/*
 * A second, multi-queue virtqueue driver for the hostile guests of devices
 * other than the disk (vsock, rng): each struct gq is one queue of the
 * device in vdev_base's window, its rings and buffers at GPAs the guest
 * picks. Header-only: each guest that uses it is one file.
 */
#ifndef HOSTILE_VQ_H
#define HOSTILE_VQ_H

#include "guest.h"

struct gq {
	uint16_t index, size;
	uint32_t desc, avail, used;
	uint16_t avail_idx, used_seen;
};

static inline bool gq_setup(struct gq *q, uint16_t index, uint16_t size,
			    uint32_t ring)
{
	q->index = index;
	q->size = size;
	q->desc = ring;
	q->avail = ring + 0x1000;
	q->used = ring + 0x2000;
	q->avail_idx = 0;
	q->used_seen = 0;
	memset(gpa(ring), 0, 0x3000);
	return vq_setup_q(index, size, q->desc, q->avail, q->used);
}

static inline void gq_desc(struct gq *q, uint16_t i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next)
{
	volatile struct vdesc *d = gpa(q->desc + 16u * i);

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static inline void gq_offer(struct gq *q, uint16_t head)
{
	volatile uint16_t *avail = gpa(q->avail);

	avail[2 + (q->avail_idx & (q->size - 1))] = head;
	barrier();
	q->avail_idx++;
	avail[1] = q->avail_idx;
	barrier();
}

static inline void gq_kick(struct gq *q)
{
	vw(VM_QUEUE_NOTIFY, q->index);
}

/* Chains offered and not yet given back. */
static inline uint16_t gq_outstanding(struct gq *q)
{
	return (uint16_t)(q->avail_idx - q->used_seen);
}

/* The next used entry, if there is one (no wait). */
static inline bool gq_take(struct gq *q, uint32_t *id, uint32_t *len)
{
	volatile uint16_t *used = gpa(q->used);
	volatile uint32_t *e;

	barrier();
	if (used[1] == q->used_seen)
		return false;
	e = gpa(q->used + 4 + 8u * (q->used_seen & (q->size - 1)));
	*id = e[0];
	*len = e[1];
	q->used_seen++;
	return true;
}

#endif
