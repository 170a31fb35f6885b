/*
 * The loop every virtio device's worker runs: wait for a kick on any of
 * the transport's queues (each one read), for the device's own fd when it
 * has one (a TAP, say), or for the worker's stop; then let the device
 * process. Returns once the stop fires.
 */
#ifndef KVMLITE_VIRTIO_LOOP_H
#define KVMLITE_VIRTIO_LOOP_H

#include <stdint.h>

#include "virtio/mmio.h"

struct virtio_loop_ops {
	/* May be NULL. Before each wait: an fd of the device's to wait for
	 * as well, and for what (POLLIN, POLLOUT); *fd = -1 for none. */
	void (*wait_for)(void *dev, int *fd, short *events);
	/* After any wake-up but the stop: @kicked has bit q set for each
	 * queue q whose kick came. */
	void (*process)(void *dev, uint32_t kicked);
};

void virtio_device_loop(struct virtio_mmio_dev *d, int stop_fd,
			const struct virtio_loop_ops *ops, void *dev);

#endif
