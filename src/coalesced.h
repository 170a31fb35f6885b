/*
 * KVM's coalesced write ring (KVM_REGISTER_COALESCED_PIO/MMIO): guest
 * writes to a registered zone do not exit; KVM appends them to a ring in
 * the vCPUs' shared page, and they are played back, in order, to the bus
 * before anything else the VMM does for the guest: at every return from
 * KVM_RUN, on the console thread's tick (a guest that wrote and then went
 * idle makes no exit), and at stop. Used for the UART's transmit register,
 * so that Linux's 16 bytes per THRE interrupt cost ~3 exits (IIR, LSR,
 * IIR), not ~19.
 */
#ifndef KVMLITE_COALESCED_H
#define KVMLITE_COALESCED_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

struct bus;
struct dumpbuf;

struct coalesced {
	struct kvm_coalesced_mmio_ring *ring; /* NULL: not in use */
	uint32_t max;			      /* entries in the ring */
	struct bus *pio, *mmio;
	pthread_mutex_t lock; /* one player at a time: order is kept */
	uint64_t played;      /* writes played back (the dump) */
};

/* The ring is KVM_COALESCED_MMIO_PAGE_OFFSET pages into @run, a vCPU's
 * mapping of @map_size bytes; none (ring stays NULL, and playing does
 * nothing) if the mapping is too small. A zeroed struct plays nothing
 * too. */
int coalesced_init(struct coalesced *c, void *run, size_t map_size,
		   struct bus *pio, struct bus *mmio);
void coalesced_free(struct coalesced *c);
/* Play back every write in the ring to its bus. Cheap when empty. */
void coalesced_play(struct coalesced *c);
/* The state dump's line: writes played and waiting (none without a ring). */
void coalesced_dump(struct coalesced *c, struct dumpbuf *b);

#endif
