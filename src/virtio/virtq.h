/*
 * Split virtqueues (virtio 1.2, 2.7), device side.
 *
 * Everything in a ring is written by the guest, concurrently with us, and is
 * hostile: descriptor indices, chain lengths, addresses, lengths and the
 * avail index are validated here, once, before a device sees a chain. A
 * device gets a chain as iovecs that point straight into guest RAM (every
 * one checked with gmem_ptr), device-readable ones first.
 *
 * Rules enforced by virtq_pop() (any violation means the ring is malformed;
 * the device should then enter its error state, see mmio.h):
 * - the avail index is at most size entries ahead of what we consumed;
 * - head and every next index are below the size of the table they index;
 * - a chain has at most as many descriptors as its table (loop detection);
 * - device-writable descriptors come after all device-readable ones;
 * - every non-empty buffer lies inside one guest RAM region (a buffer that
 *   straddles a RAM edge is refused, not split); empty buffers are skipped;
 * - the chain's total length fits in 32 bits;
 * - VIRTQ_DESC_F_INDIRECT only when negotiated, only on the head descriptor,
 *   never with F_NEXT, never inside an indirect table; the table is a
 *   non-zero multiple of 16 bytes with at most size entries, all in RAM.
 *
 * The ring and our indexes into it belong to this module: devices and the
 * transport read and change them only through the functions below (a
 * device that takes chains it cannot use gives them back with
 * virtq_undo_pop(), waits for more with virtq_enable_notify_at(); the
 * state dump reads virtq_get_indexes()). So the rules above, and the
 * consistency of the indexes, are enforced here, in one place.
 *
 * Threading: a struct virtq has one user at a time. The transport sets it
 * up while the device is stopped; the device's worker then pops and pushes.
 * Only the ring memory is shared with the guest, and it is accessed with
 * the barriers the spec asks for.
 */
#ifndef KVMLITE_VIRTIO_VIRTQ_H
#define KVMLITE_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guest_mem.h"

/* Largest queue we offer (QueueNumMax); the guest may pick any smaller
 * power of two. */
#define VIRTQ_MAX_SIZE 256
/* A chain has at most queue-size descriptors, each one iovec at most. */
#define VIRTQ_MAX_SEGS VIRTQ_MAX_SIZE

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/* Transport-independent feature bits (virtio 1.2, 6). */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* The ring layout in guest memory, little-endian. */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* [size], then used_event */
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[]; /* [size], then avail_event */
};

/* Bytes of each part for a queue of @size entries (2.7). */
#define VIRTQ_DESC_BYTES(size) (16ULL * (size))
#define VIRTQ_AVAIL_BYTES(size) (6ULL + 2ULL * (size))
#define VIRTQ_USED_BYTES(size) (6ULL + 8ULL * (size))

/*
 * A queue. Not opaque, since the transport embeds its queues, but only the
 * first group is anyone else's: the transport writes it while the device
 * is stopped. The rest is private to virtq.c (read it through
 * virtq_is_ready(), virtq_next_avail(), virtq_get_indexes()); the unit
 * tests and fuzzers alone set indexes directly, to craft a state.
 */
struct virtq {
	/* Set by the driver through the transport. */
	uint16_t size; /* QueueNum: 0 (unset) or a power of two */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Negotiated ring features, set when the device is activated. */
	bool event_idx;
	bool indirect;

	/* Private: virtq_validate_layout() / virtq_drop_layout(). */
	bool ready; /* layout validated, host pointers valid */

	/* Private: device-side ring state. */
	uint16_t last_avail_idx; /* next avail entry to consume */
	uint16_t used_idx;	 /* next used entry to fill */
	uint16_t signalled_used; /* used_idx at the last interrupt check */
	uint16_t popped;	 /* pops since the last push, at most size: the
				    chains virtq_undo_pop() may give back */

	/* Private: host views of the ring, valid while ready. */
	uint8_t *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
};

/*
 * One popped chain: iov[0, nr_out) device-readable, then
 * iov[nr_out, nr_out + nr_in) device-writable. Lengths are byte totals.
 */
struct virtq_chain {
	uint16_t head;
	unsigned int nr_out, nr_in;
	uint32_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/* Forget everything: not ready, size 0, indices 0. */
void virtq_reset(struct virtq *q);

/*
 * Check the layout the driver wrote (size a power of two <= VIRTQ_MAX_SIZE;
 * desc 16-, avail 2-, used 4-byte aligned; each part wholly inside one
 * guest RAM region) and, on success, map it and mark the queue ready.
 * -EINVAL for a bad size or alignment, -EFAULT for memory outside RAM; the
 * queue is then left not ready.
 */
int virtq_validate_layout(struct virtq *q, const struct guest_mem *m);

/* Is the queue set up (its layout validated and mapped)? */
bool virtq_is_ready(const struct virtq *q);
/* QueueNum: the number of entries, 0 when unset. */
uint16_t virtq_size(const struct virtq *q);

/*
 * The driver took the queue back (QueueReady = 0): not ready, and the
 * host views of the ring are dropped. Size, addresses and features stay
 * for the driver to change; virtq_validate_layout() sets it up again, from
 * index 0.
 */
void virtq_drop_layout(struct virtq *q);

/*
 * Take the next available chain. 1: @c holds it; 0: the ring is empty (or
 * the queue is not ready); -EINVAL / -EFAULT: the ring is malformed
 * (nothing consumed).
 */
int virtq_pop(struct virtq *q, const struct guest_mem *m,
	      struct virtq_chain *c);

/*
 * Give back the last @n chains virtq_pop() took, unused: they are available
 * again, and the next pops take them afresh (read from the ring and
 * validated again: the guest may have rewritten them meanwhile). The caller
 * must forget them: neither touch their buffers again nor push their heads.
 * Only chains popped since the last virtq_push() (or since the queue was
 * set up) can be given back, at most the queue size of them: a chain popped
 * before a push may be the one pushed, and an avail entry more than a ring
 * behind has been overwritten. 0 (@n == 0 does nothing), or -EINVAL when
 * @n is more than that or the queue is not ready (nothing given back).
 */
int virtq_undo_pop(struct virtq *q, unsigned int n);

/*
 * Has the driver made a chain available that we have not taken (or have
 * given back)? That is: will virtq_pop() return something other than 0?
 * True also when the avail index is malformed, which the pop then reports.
 * False when the queue is not ready.
 */
bool virtq_avail_pending(const struct virtq *q);

/*
 * The avail index of the next chain virtq_pop() takes. Right after a pop
 * returned 0, the index the driver had made chains available up to: where
 * a device that gives chains back (virtq_undo_pop()) and waits for more
 * asks to be notified (virtq_enable_notify_at()).
 */
uint16_t virtq_next_avail(const struct virtq *q);

/*
 * Return chain @head to the driver with @written bytes written into its
 * device-writable buffers. The used entry is visible to the guest before
 * the new used index (release). -EINVAL when the queue is not ready or
 * @head is out of range.
 */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/*
 * After a batch of pushes: must the driver be interrupted? EVENT_IDX:
 * vring_need_event(used_event, used_idx, used idx at the previous check);
 * otherwise: something was pushed and VIRTQ_AVAIL_F_NO_INTERRUPT is clear.
 * Issues the full barrier the spec requires before reading the driver's
 * fields.
 */
bool virtq_needs_interrupt(struct virtq *q);

/* Ask the driver not to notify us (while we are processing anyway). */
void virtq_disable_notify(struct virtq *q);

/*
 * Ask the driver to notify us again (avail_event = last_avail_idx with
 * EVENT_IDX, else clear VIRTQ_USED_F_NO_NOTIFY), then re-check the ring.
 * True when buffers arrived meanwhile: the caller must process them, since
 * the driver may have skipped the notification. This is
 * virtq_enable_notify_at(q, virtq_next_avail(q)); after virtq_undo_pop()
 * the next chain to pop is one the driver has made available already, so
 * a device waiting for more calls virtq_enable_notify_at() itself.
 */
bool virtq_enable_notify(struct virtq *q);

/*
 * Ask the driver to notify us when it makes the chain at avail index @idx
 * available (EVENT_IDX: avail_event = @idx; otherwise clear
 * VIRTQ_USED_F_NO_NOTIFY, and the driver notifies every time), then
 * re-check. @idx is virtq_next_avail() or up to a queue size past it: chains
 * given back with virtq_undo_pop() lie before it, and the caller wants one
 * more. 1: the avail index is no longer @idx, the driver has moved it
 * meanwhile: process the ring (where virtq_pop() validates it), since the
 * driver may have skipped the notification; 0: asked, nothing new (or the
 * queue is not ready); -EINVAL: @idx outside that window (nothing written).
 */
int virtq_enable_notify_at(struct virtq *q, uint16_t idx);

/*
 * A snapshot of a queue's indexes, ours and the guest's, for the state
 * dump (mmio.h). Our side: the next avail entry to consume, the next used
 * entry to fill, the used index at the last interrupt check. The guest's
 * fields are read only when @guest is set (the queue is ready).
 */
struct virtq_indexes {
	uint16_t size;
	bool ready, event_idx;
	uint16_t last_avail, used, signalled;
	bool guest;
	uint16_t avail_idx, avail_flags, used_event;
	uint16_t used_idx, used_flags, avail_event;
};

/*
 * Fill @ix from @q without changing anything. From any thread, never
 * blocks; the reads are racy (relaxed, one at a time) unless the caller
 * excludes the queue's set-up and its worker, which is fine for a
 * diagnostic.
 */
void virtq_get_indexes(const struct virtq *q, struct virtq_indexes *ix);

struct snap_writer;
struct snap_reader;

/*
 * Snapshots: the layout the driver set, the negotiated ring features and
 * our indexes. The queue must have no chain popped and not yet pushed (the
 * device gives such chains back first, virtq_undo_pop()), so that the
 * state is the guest's ring and these indexes alone. virtq_restore()
 * validates the layout again on @m (a ready queue whose rings are not all
 * in RAM is refused) and sets the queue up from it: -EINVAL, the queue
 * then not ready. Its chains are popped afresh, from the guest's ring.
 */
void virtq_save(const struct virtq *q, struct snap_writer *w);
int virtq_restore(struct virtq *q, struct snap_reader *r,
		  const struct guest_mem *m);

/* The spec's vring_need_event(): did new_idx pass event since old? */
static inline bool vring_need_event(uint16_t event, uint16_t new_idx,
				    uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

#endif
