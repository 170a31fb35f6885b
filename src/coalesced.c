/* KVM's coalesced write ring, played back to the buses. See coalesced.h. */
#include "coalesced.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "dumpbuf.h"

int coalesced_init(struct coalesced *c, void *run, size_t map_size,
		   struct bus *pio, struct bus *mmio)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t off;
	int ret;

	memset(c, 0, sizeof(*c));
	ret = -pthread_mutex_init(&c->lock, NULL);
	if (ret)
		return ret;
	if (page <= 0)
		return 0;
	off = (size_t)KVM_COALESCED_MMIO_PAGE_OFFSET * (size_t)page;
	if (map_size < off + (size_t)page)
		return 0;
	c->ring = (struct kvm_coalesced_mmio_ring *)((uint8_t *)run + off);
	/* KVM's own KVM_COALESCED_MMIO_MAX, for this page size. */
	c->max = (uint32_t)(((size_t)page - sizeof(*c->ring)) /
			    sizeof(struct kvm_coalesced_mmio));
	c->pio = pio;
	c->mmio = mmio;
	return 0;
}

void coalesced_free(struct coalesced *c)
{
	pthread_mutex_destroy(&c->lock);
	c->ring = NULL;
}

void coalesced_play(struct coalesced *c)
{
	struct kvm_coalesced_mmio_ring *r = c->ring;
	uint32_t first, last;

	if (!r || __atomic_load_n(&r->first, __ATOMIC_RELAXED) ==
			  __atomic_load_n(&r->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&c->lock);
	first = r->first;
	/* Acquire: KVM fills an entry before it moves last past it. */
	last = __atomic_load_n(&r->last, __ATOMIC_ACQUIRE);
	/* The ring page is shared with the kernel, not the guest: still,
	 * indexes are checked before use. */
	while (first != last && first < c->max && last < c->max) {
		struct kvm_coalesced_mmio e = r->coalesced_mmio[first];

		if (e.len && e.len <= sizeof(e.data))
			bus_dispatch(e.pio ? c->pio : c->mmio, e.phys_addr,
				     e.data, e.len, true);
		c->played++;
		first = (first + 1) % c->max;
		/* Release: the entry is read before KVM may reuse it. */
		__atomic_store_n(&r->first, first, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&c->lock);
}

void coalesced_dump(struct coalesced *c, struct dumpbuf *b)
{
	struct kvm_coalesced_mmio_ring *r = c->ring;

	if (!r)
		return;
	dumpbuf_printf(b, "coalesced: played=%llu queued=%u\n",
		       (unsigned long long)__atomic_load_n(&c->played,
							   __ATOMIC_RELAXED),
		       (__atomic_load_n(&r->last, __ATOMIC_RELAXED) + c->max -
			__atomic_load_n(&r->first, __ATOMIC_RELAXED)) %
			       c->max);
}
