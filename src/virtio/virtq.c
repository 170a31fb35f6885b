/*
 * Split virtqueues, device side. See virtq.h for the rules.
 *
 * Byte order: virtio 1.x rings are little-endian, as is every host kvmlite
 * runs on (x86-64); the le*toh() calls below are there for the reader.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "snapfile.h"
#include "util.h"
#include "virtio/virtq.h"

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

int virtq_validate_layout(struct virtq *q, const struct guest_mem *m)
{
	void *desc, *avail, *used;

	q->ready = false;
	if (!is_pow2(q->size) || q->size > VIRTQ_MAX_SIZE)
		return -EINVAL;
	if (q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		return -EINVAL;
	desc = gmem_ptr(m, q->desc_gpa, VIRTQ_DESC_BYTES(q->size));
	avail = gmem_ptr(m, q->avail_gpa, VIRTQ_AVAIL_BYTES(q->size));
	used = gmem_ptr(m, q->used_gpa, VIRTQ_USED_BYTES(q->size));
	if (!desc || !avail || !used)
		return -EFAULT;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->last_avail_idx = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->popped = 0;
	q->ready = true;
	return 0;
}

void virtq_drop_layout(struct virtq *q)
{
	q->ready = false;
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
}

bool virtq_is_ready(const struct virtq *q)
{
	return q->ready;
}

uint16_t virtq_size(const struct virtq *q)
{
	return q->size;
}

/* The avail index, read before any ring entry it covers (acquire). */
static uint16_t avail_idx(const struct virtq *q)
{
	return le16toh(__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE));
}

/* Copy one descriptor out of guest memory once, so that the guest cannot
 * change it between our checks and our use. */
static void read_desc(const uint8_t *table, uint16_t i, struct virtq_desc *d)
{
	memcpy(d, table + (size_t)i * sizeof(*d), sizeof(*d));
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

static int add_segment(const struct guest_mem *m, struct virtq_chain *c,
		       const struct virtq_desc *d)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	unsigned int n = c->nr_out + c->nr_in;
	void *p;

	/* Device-readable buffers first (2.7.4.2). */
	if (!writable && c->nr_in)
		return -EINVAL;
	if ((uint64_t)c->out_len + c->in_len + d->len > UINT32_MAX)
		return -EINVAL;
	if (!d->len)
		return 0; /* harmless: nothing to map */
	if (n >= VIRTQ_MAX_SEGS)
		return -EINVAL; /* cannot happen: chains are <= size long */
	p = gmem_ptr(m, d->addr, d->len);
	if (!p)
		return -EFAULT;
	c->iov[n].iov_base = p;
	c->iov[n].iov_len = d->len;
	if (writable) {
		c->nr_in++;
		c->in_len += d->len;
	} else {
		c->nr_out++;
		c->out_len += d->len;
	}
	return 0;
}

static int walk_chain(const struct virtq *q, const struct guest_mem *m,
		      uint16_t head, struct virtq_chain *c)
{
	const uint8_t *table = q->desc;
	unsigned int table_size = q->size;
	unsigned int count = 0;
	bool indirect = false;
	uint16_t i = head;
	int ret;

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		struct virtq_desc d;

		read_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* Only the head may refer to a table, and only once;
			 * the table replaces the rest of the chain. */
			if (!q->indirect || indirect || count ||
			    (d.flags & VIRTQ_DESC_F_NEXT))
				return -EINVAL;
			if (!d.len || d.len % sizeof(d) ||
			    d.len / sizeof(d) > q->size)
				return -EINVAL;
			table = gmem_ptr(m, d.addr, d.len);
			if (!table)
				return -EFAULT;
			table_size = d.len / sizeof(d);
			indirect = true;
			i = 0;
			continue;
		}
		/* A longer chain than its table must revisit a descriptor. */
		if (++count > table_size)
			return -EINVAL;
		ret = add_segment(m, c, &d);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= table_size)
			return -EINVAL;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, const struct guest_mem *m, struct virtq_chain *c)
{
	uint16_t pending, head;
	int ret;

	if (!q->ready)
		return 0;
	pending = (uint16_t)(avail_idx(q) - q->last_avail_idx);
	if (!pending)
		return 0;
	if (pending > q->size)
		return -EINVAL;
	head = le16toh(__atomic_load_n(
		&q->avail->ring[q->last_avail_idx & (q->size - 1)],
		__ATOMIC_RELAXED));
	if (head >= q->size)
		return -EINVAL;
	ret = walk_chain(q, m, head, c);
	if (ret)
		return ret;
	q->last_avail_idx++;
	if (q->popped < q->size)
		q->popped++;
	return 1;
}

int virtq_undo_pop(struct virtq *q, unsigned int n)
{
	if (!q->ready || n > q->popped)
		return -EINVAL;
	q->last_avail_idx = (uint16_t)(q->last_avail_idx - n);
	q->popped = (uint16_t)(q->popped - n);
	return 0;
}

bool virtq_avail_pending(const struct virtq *q)
{
	return q->ready && avail_idx(q) != q->last_avail_idx;
}

uint16_t virtq_next_avail(const struct virtq *q)
{
	return q->last_avail_idx;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	struct virtq_used_elem *e;

	if (!q->ready || head >= q->size)
		return -EINVAL;
	e = &q->used->ring[q->used_idx & (q->size - 1)];
	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(written), __ATOMIC_RELAXED);
	q->used_idx++;
	q->popped = 0; /* which of them was pushed is not ours to know */
	/* The entry before the index that publishes it (2.7.8.2). */
	__atomic_store_n(&q->used->idx, htole16(q->used_idx), __ATOMIC_RELEASE);
	return 0;
}

bool virtq_needs_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used;
	uint16_t now = q->used_idx;
	uint16_t v;

	if (!q->ready)
		return false;
	/* Our used index stores before the driver's fields are read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = now;
	if (q->event_idx) {
		/* used_event lives after the avail ring. */
		v = le16toh(__atomic_load_n(&q->avail->ring[q->size],
					    __ATOMIC_RELAXED));
		return vring_need_event(v, now, old);
	}
	v = le16toh(__atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED));
	return now != old && !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* avail_event lives after the used ring (2-byte aligned: used is 4). */
static uint16_t *avail_event(const struct virtq *q)
{
	return (uint16_t *)&q->used->ring[q->size];
}

void virtq_disable_notify(struct virtq *q)
{
	if (!q->ready || q->event_idx)
		return; /* EVENT_IDX: a stale avail_event suppresses them */
	__atomic_store_n(&q->used->flags, htole16(VIRTQ_USED_F_NO_NOTIFY),
			 __ATOMIC_RELAXED);
}

int virtq_enable_notify_at(struct virtq *q, uint16_t idx)
{
	if (!q->ready)
		return 0;
	/* Chains before @idx are ours or given back, none beyond a ring. */
	if ((uint16_t)(idx - q->last_avail_idx) > q->size)
		return -EINVAL;
	if (q->event_idx)
		__atomic_store_n(avail_event(q), htole16(idx),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&q->used->flags, 0, __ATOMIC_RELAXED);
	/* Our store before re-reading the avail index, as the driver
	 * stores its index before reading ours. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_idx(q) != idx;
}

bool virtq_enable_notify(struct virtq *q)
{
	return virtq_enable_notify_at(q, q->last_avail_idx) > 0;
}

static uint16_t guest_u16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

void virtq_get_indexes(const struct virtq *q, struct virtq_indexes *ix)
{
	const struct virtq_avail *avail;
	const struct virtq_used *used;

	memset(ix, 0, sizeof(*ix));
	ix->size = __atomic_load_n(&q->size, __ATOMIC_RELAXED);
	ix->ready = __atomic_load_n(&q->ready, __ATOMIC_RELAXED);
	ix->event_idx = __atomic_load_n(&q->event_idx, __ATOMIC_RELAXED);
	ix->last_avail = __atomic_load_n(&q->last_avail_idx, __ATOMIC_RELAXED);
	ix->used = __atomic_load_n(&q->used_idx, __ATOMIC_RELAXED);
	ix->signalled = __atomic_load_n(&q->signalled_used, __ATOMIC_RELAXED);
	avail = __atomic_load_n(&q->avail, __ATOMIC_RELAXED);
	used = __atomic_load_n(&q->used, __ATOMIC_RELAXED);
	if (!ix->ready || !avail || !used || !ix->size)
		return;
	ix->guest = true;
	ix->avail_idx = guest_u16(&avail->idx);
	ix->avail_flags = guest_u16(&avail->flags);
	ix->used_event = guest_u16(&avail->ring[ix->size]);
	ix->used_idx = guest_u16(&used->idx);
	ix->used_flags = guest_u16(&used->flags);
	ix->avail_event = guest_u16((const uint16_t *)&used->ring[ix->size]);
}

void virtq_save(const struct virtq *q, struct snap_writer *w)
{
	snap_put_u16(w, q->size);
	snap_put_u64(w, q->desc_gpa);
	snap_put_u64(w, q->avail_gpa);
	snap_put_u64(w, q->used_gpa);
	snap_put_u8(w, q->event_idx);
	snap_put_u8(w, q->indirect);
	snap_put_u8(w, q->ready);
	snap_put_u16(w, q->last_avail_idx);
	snap_put_u16(w, q->used_idx);
	snap_put_u16(w, q->signalled_used);
}

int virtq_restore(struct virtq *q, struct snap_reader *r,
		  const struct guest_mem *m)
{
	struct virtq n;
	uint8_t event_idx, indirect, ready;

	memset(&n, 0, sizeof(n));
	n.size = snap_get_u16(r);
	n.desc_gpa = snap_get_u64(r);
	n.avail_gpa = snap_get_u64(r);
	n.used_gpa = snap_get_u64(r);
	event_idx = snap_get_u8(r);
	indirect = snap_get_u8(r);
	ready = snap_get_u8(r);
	n.last_avail_idx = snap_get_u16(r);
	n.used_idx = snap_get_u16(r);
	n.signalled_used = snap_get_u16(r);
	virtq_reset(q);
	/* QueueNum as the transport would take it: 0 or a power of two. */
	if (r->err || event_idx > 1 || indirect > 1 || ready > 1 ||
	    (n.size && (!is_pow2(n.size) || n.size > VIRTQ_MAX_SIZE)))
		return -EINVAL;
	q->size = n.size;
	q->desc_gpa = n.desc_gpa;
	q->avail_gpa = n.avail_gpa;
	q->used_gpa = n.used_gpa;
	q->event_idx = event_idx;
	q->indirect = indirect;
	if (!ready)
		return 0;
	if (virtq_validate_layout(q, m)) {
		virtq_reset(q);
		return -EINVAL;
	}
	q->last_avail_idx = n.last_avail_idx;
	q->used_idx = n.used_idx;
	q->signalled_used = n.signalled_used;
	return 0;
}
