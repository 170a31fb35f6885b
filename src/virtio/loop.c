/* A virtio device worker's loop. See loop.h. */
#include "virtio/loop.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>

void virtio_device_loop(struct virtio_mmio_dev *d, int stop_fd,
			const struct virtio_loop_ops *ops, void *dev)
{
	unsigned int nq = virtio_mmio_nr_queues(d);
	struct pollfd p[VIRTIO_MMIO_MAX_QUEUES + 2];

	p[0] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
	for (unsigned int q = 0; q < nq; q++)
		p[1 + q] = (struct pollfd){ .fd = virtio_mmio_kick_fd(d, q),
					    .events = POLLIN };
	for (;;) {
		struct pollfd *own = &p[1 + nq];
		uint32_t kicked = 0;
		eventfd_t v;

		*own = (struct pollfd){ .fd = -1 };
		if (ops->wait_for)
			ops->wait_for(dev, &own->fd, &own->events);
		if (poll(p, 2 + nq, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents)
			return;
		for (unsigned int q = 0; q < nq; q++) {
			if (p[1 + q].revents) {
				(void)eventfd_read(p[1 + q].fd, &v);
				kicked |= 1u << q;
			}
		}
		ops->process(dev, kicked);
	}
}
