/*
 * virtio-rng (virtio 1.2, 5.4) over virtio-mmio: one request queue whose
 * device-writable buffers the device fills from getrandom().
 *
 * The guest decides how much it asks for and how often: each request is
 * filled with at most RNG_REQUEST_MAX bytes (the used length says how
 * many: the spec lets the device write fewer), and the device as a whole
 * gives at most @rate bytes a second, in bursts of up to @burst (a token
 * bucket). When the bucket is empty the worker leaves the requests in the
 * ring and sleeps on a timer until RNG_REFILL_MIN bytes are due: a guest
 * asking without end gets a slow device, never a spinning host thread, and
 * the size of a request (up to a 4 GiB chain) costs nothing. Device-readable
 * descriptors in a request are ignored. A malformed ring puts the device in
 * DEVICE_NEEDS_RESET, as for every device.
 *
 * Threading as blk and net (see net.h): the worker processes the queue
 * under the device lock; a reset cancels it and takes the lock.
 */
#ifndef KVMLITE_VIRTIO_RNG_H
#define KVMLITE_VIRTIO_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "virtio/mmio.h"

#define VIRTIO_ID_RNG 4

/* The most one request gets. */
#define RNG_REQUEST_MAX 65536
/* The default rate: 1 MiB/s, bursts of 256 KiB. */
#define RNG_RATE_DEFAULT (1u << 20)
#define RNG_BURST_DEFAULT (256u << 10)
/* How much must be due before a throttled worker wakes. */
#define RNG_REFILL_MIN 4096

struct virtio_rng_opts {
	uint32_t rate;	/* bytes per second; 0: RNG_RATE_DEFAULT */
	uint32_t burst; /* bucket size; 0: RNG_BURST_DEFAULT */
	bool seccomp;	/* the worker loads the rng allow-list */
};

struct virtio_rng_stats {
	uint64_t requests;  /* completed */
	uint64_t bytes;	    /* written into them */
	uint64_t throttled; /* times the bucket ran dry */
};

struct virtio_rng;

int virtio_rng_create(struct virtio_rng **out, const struct virtio_rng_opts *o,
		      const struct guest_mem *m, char *err, size_t errlen);
void virtio_rng_destroy(struct virtio_rng *r);
struct virtio_mmio_dev *virtio_rng_transport(struct virtio_rng *r);
int virtio_rng_start(struct virtio_rng *r);

/*
 * One pass of the worker's work on the calling thread (tests): complete
 * what the bucket allows. Requests completed, or -errno for a malformed
 * ring (the device is then in its error state). With @throttled, set when
 * it stopped because the bucket is empty.
 */
int virtio_rng_process(struct virtio_rng *r, bool *throttled);
void virtio_rng_get_stats(const struct virtio_rng *r,
			  struct virtio_rng_stats *s);

#endif
