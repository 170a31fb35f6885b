/*
 * Fuzz virtio-rng with arbitrary ring contents (fuzz_layout.h format):
 * every chain the guest offers is a request, of any size and shape. The
 * bucket is made large and fast so requests are filled (the rate limit
 * itself is a unit test). Nothing may crash, hang or write outside guest
 * RAM; requests get at most RNG_REQUEST_MAX bytes each (by the device's
 * counters: the used ring may lie under a request's own buffers); a
 * malformed ring must leave the device in NEEDS_RESET.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "fuzz_layout.h"
#include "guest_mem.h"
#include "util.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"
#include "virtio/virtq.h"

#include "../unit/virtio_driver.h"

#define MEM_BYTES MiB(2)

static struct guest_mem mem;
static struct virtio_rng *rng;
static struct virtio_mmio_dev *dev;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_virtq_rng: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1;
	struct virtio_rng_stats a, b;
	struct fuzz_layout l;
	eventfd_t v;
	uint32_t st;

	if (!rng) {
		struct virtio_rng_opts o = { .rate = 1u << 30,
					     .burst = 1u << 30 };
		char err[256];

		if (guest_mem_init(&mem, MEM_BYTES) ||
		    virtio_rng_create(&rng, &o, &mem, err, sizeof(err)))
			die("create");
		dev = virtio_rng_transport(rng);
	}
	if (size < FUZZ_VQ_HDR)
		return 0;
	fuzz_layout(data[0], data[1], &l);
	f |= fuzz_ring_features(&l);
	data += FUZZ_VQ_HDR;
	size -= FUZZ_VQ_HDR;
	gmem_fill(&mem, 0, 0, MEM_BYTES);
	gmem_write(&mem, 0, data, size < MEM_BYTES ? size : MEM_BYTES);

	virtio_drv_reset(dev);
	st = virtio_drv_negotiate(dev, f);
	virtio_drv_setup_queue(dev, 0, l.size, l.desc, l.avail, l.used);
	if (!(virtio_drv_driver_ok(dev, st) & VIRTIO_STATUS_DRIVER_OK))
		return 0;
	virtio_rng_get_stats(rng, &a);
	for (int i = 0; i < 4; i++) {
		int ret = virtio_rng_process(rng, NULL);

		if (ret < 0 && !virtio_drv_needs_reset(dev))
			die("malformed ring without NEEDS_RESET");
		if (ret <= 0)
			break;
	}
	virtio_rng_get_stats(rng, &b);
	if (b.bytes - a.bytes > (b.requests - a.requests) * RNG_REQUEST_MAX)
		die("a request got more than RNG_REQUEST_MAX");
	(void)eventfd_read(virtio_mmio_call_fd(dev), &v);
	return 0;
}
