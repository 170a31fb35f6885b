/* The ring layout of fuzz_virtq_blk inputs (shared with gen_seeds.c). */
#ifndef KVMLITE_FUZZ_LAYOUT_H
#define KVMLITE_FUZZ_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtq.h" /* VIRTIO_RING_F_* */

#define FUZZ_VQ_HDR 4 /* log2 size, flags, start index (le16) */
#define FUZZ_VQ_EVENT_IDX 1
#define FUZZ_VQ_INDIRECT 2
#define FUZZ_VQ_NO_DEVICE 4

struct fuzz_layout {
	uint16_t size;
	uint8_t flags;
	bool event_idx, indirect;
	uint64_t desc, avail, used, end; /* GPAs; end: first free byte */
};

/* Rings packed from GPA 0, each part aligned as the spec requires. */
static inline void fuzz_layout(uint8_t log2size, uint8_t flags,
			       struct fuzz_layout *l)
{
	l->size = (uint16_t)(1u << (log2size % 9));
	l->flags = flags;
	l->event_idx = flags & FUZZ_VQ_EVENT_IDX;
	l->indirect = flags & FUZZ_VQ_INDIRECT;
	l->desc = 0;
	l->avail = 16ULL * l->size;
	l->used = (l->avail + 6 + 2ULL * l->size + 3) & ~3ULL;
	l->end = l->used + 6 + 8ULL * l->size;
}

/* The ring features the layout's flags ask the driver to accept. */
static inline uint64_t fuzz_ring_features(const struct fuzz_layout *l)
{
	return (l->event_idx ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
	       (l->indirect ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0);
}

#endif
