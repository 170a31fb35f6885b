/*
 * A disk's private copy-on-write overlay (--disk path=F,overlay=on).
 *
 * The image is read and never written. The guest's writes land, a cluster
 * (OVERLAY_CLUSTER bytes) at a time, in the live layer: a sparse temporary
 * file of the image's size, unlinked from the start (O_TMPFILE in $TMPDIR,
 * else /var/tmp, else /tmp), so it is gone when the overlay is closed or
 * the process dies. Between the two may sit a snapshot's layer: the
 * clusters written before the last snapshot, a read-only file beside the
 * snapshot's state. A read takes each cluster from the top layer that has
 * it. So overlay_reset() discards what was written since the snapshot, and
 * one image serves any number of VMs at once.
 *
 * A write that covers part of a cluster first copies the cluster up from
 * the layer below. A flush has nothing to make durable: the overlay is
 * discarded at exit anyway.
 *
 * Threading: one user at a time (the device's worker, or a snapshot or
 * reset while the device is quiesced).
 */
#ifndef KVMLITE_VIRTIO_OVERLAY_H
#define KVMLITE_VIRTIO_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define OVERLAY_CLUSTER (64U * 1024)

struct snap_writer;
struct snap_reader;

struct overlay {
	int base_fd;   /* the image, read-only (not owned) */
	uint64_t size; /* bytes, of the image and every layer */
	uint64_t nr_clusters;
	int snap_fd;	   /* the snapshot's layer, or -1 */
	uint8_t *snap_map; /* its clusters, a bit each */
	int live_fd;	   /* written since the snapshot */
	uint8_t *live_map;
	uint8_t *bounce; /* one cluster, for copy-ups */
};

/* Set up an overlay on the image @base_fd of @size bytes (a multiple of
 * 512): 0 or -errno (the temporary file cannot be made, out of memory). */
int overlay_open(struct overlay *o, int base_fd, uint64_t size);
void overlay_close(struct overlay *o);

/*
 * Read or write the @len bytes of @iov at disk offset @off (within the
 * image: the caller checked): @len, or -errno. A failed write may have
 * copied clusters up (harmless: their contents are unchanged).
 */
ssize_t overlay_rw(struct overlay *o, const struct iovec *iov, unsigned int nr,
		   uint64_t off, size_t len, bool write);

/* Discard the live layer: the disk reads as at the last snapshot (or as
 * the image) again. 0 or -errno. */
int overlay_reset(struct overlay *o);

/*
 * A snapshot: write every cluster of the snapshot's and the live layer to
 * @fd (a new, empty file; synced) and their map to @w. On success @fd becomes
 * the snapshot's layer (the overlay owns it) and the live layer is emptied,
 * which changes no byte the guest reads. -errno (nothing changed; @fd is
 * still the caller's).
 */
int overlay_save(struct overlay *o, int fd, struct snap_writer *w);

/*
 * A restore: @fd (read-only, may be -1 when the map is empty) becomes the
 * snapshot's layer with the map read from @r; the live layer is emptied.
 * -EINVAL for a map of another size or a layer file too short (nothing
 * changed; @fd is still the caller's).
 */
int overlay_restore(struct overlay *o, int fd, struct snap_reader *r);

/* Whether the map in @r is the snapshot's layer's now (a reset in place
 * goes back to the layer it has). */
bool overlay_map_matches(const struct overlay *o, struct snap_reader *r);

#endif
