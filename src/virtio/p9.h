/*
 * virtio-9p (virtio 1.2, 5.14 "9P transport") over virtio-mmio: one
 * request queue; each chain holds a T-message in its device-readable
 * part and room for the R-message in its device-writable part. The
 * device's configuration space is the mount tag: tag_len[2] tag[tag_len]
 * (feature VIRTIO_9P_MOUNT_TAG). The messages are the 9P2000.L server's
 * (p9_server.h), which confines every path to the shared directory.
 *
 * A chain's request is copied out (at most P9_MSIZE_MAX bytes: a longer
 * one is answered as a lying size, Rlerror EINVAL) and its reply copied
 * in; the room the guest offered (at most msize) bounds every reply. A
 * chain too short for a header or an Rlerror is returned with 0 bytes
 * written; a malformed ring puts the device in DEVICE_NEEDS_RESET. A
 * reset clunks every fid.
 *
 * Threading as rng (see rng.h): the worker, which loads the 9p
 * allow-list (src/sandbox.c, SANDBOX_P9), serves the queue under the
 * device lock; a reset cancels it and takes the lock.
 */
#ifndef KVMLITE_VIRTIO_P9_H
#define KVMLITE_VIRTIO_P9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "virtio/mmio.h"
#include "virtio/p9_server.h"

#define VIRTIO_ID_9P 9
#define VIRTIO_9P_MOUNT_TAG 0

struct virtio_p9_opts {
	const char *path; /* the shared directory */
	const char *tag;  /* 1..KVMLITE_FS_TAG_MAX bytes */
	bool read_only;
	bool seccomp; /* the worker loads the 9p allow-list */
};

struct virtio_p9;

int virtio_p9_create(struct virtio_p9 **out, const struct virtio_p9_opts *o,
		     const struct guest_mem *m, char *err, size_t errlen);
void virtio_p9_destroy(struct virtio_p9 *p);
struct virtio_mmio_dev *virtio_p9_transport(struct virtio_p9 *p);
int virtio_p9_start(struct virtio_p9 *p);

/*
 * One pass of the worker's work on the calling thread (tests): requests
 * answered, or -errno for a malformed ring (the device is then in its
 * error state).
 */
int virtio_p9_process(struct virtio_p9 *p);
void virtio_p9_get_stats(const struct virtio_p9 *p, struct p9_server_stats *st);

#endif
