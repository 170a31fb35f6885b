/*
 * virtio-blk (virtio 1.2, 5.2) over virtio-mmio, backed by a raw image file
 * or a block device.
 *
 * Lifecycle, as the VMM wires it:
 *
 *	virtio_blk_create(&b, &opts, &vm->mem, err, sizeof(err));
 *	d = virtio_blk_transport(b);
 *	bus_register(&vm->mmio, base, VIRTIO_MMIO_WINDOW, virtio_mmio_io, d,
 *		     "virtio-blk");
 *	KVM_IOEVENTFD: addr = base + VIRTIO_MMIO_QUEUE_NOTIFY, len = 4,
 *		       datamatch = 0 (the queue index),
 *		       fd = virtio_mmio_kick_fd(d, 0)     (optional: faster)
 *	KVM_IRQFD:     fd = virtio_mmio_call_fd(d), gsi = the window's GSI
 *	virtio_blk_start(b);                // the I/O worker thread
 *	... run the guest ...
 *	(stop the vCPUs; close or deassign the ioeventfd/irqfd)
 *	virtio_blk_destroy(b);
 *
 * Threading: the transport's registers are driven from vCPU threads (see
 * mmio.h). All I/O runs on the device's own worker thread, which sleeps in
 * poll() on the queue's kick eventfd and a stop eventfd, and processes a
 * batch of requests while holding the device's lock; a device reset (Status
 * 0 from a vCPU) takes that lock, and marks the device inactive before the
 * transport clears the queues. It does not wait for the batch to complete:
 * it cancels the worker first (worker_cancel_begin(), see worker.h), and
 * the worker, which does a request in chunks of at most 1 MiB of data (16
 * MiB of disk discarded or zeroed) and looks between chunks, drops the
 * request in progress without a completion and lets go of the lock. A stop
 * (virtio_blk_destroy()) cancels it the same way. So neither waits for
 * more than one chunk, whatever the guest queued (a chain may ask for 4
 * GiB). A completion is pushed only after its I/O has returned (pwritev
 * for a write, fdatasync for a flush). The worker never takes the
 * transport lock.
 *
 * Requests: the 16-byte header (type, reserved, sector) is the first 16
 * device-readable bytes, in any number of descriptors; the status is the
 * last byte of the last device-writable descriptor. A chain without any
 * device-writable byte cannot be answered: it is returned to the driver
 * with 0 bytes written and nothing done (the device stays usable). A
 * malformed ring (see virtq.h) puts the device into its error state.
 *
 * With an overlay (virtio_blk_config_opts.overlay) the disk is writable
 * for the guest while its image is not: discard and write-zeroes are not
 * offered, and a flush succeeds at once (the overlay is discarded at exit).
 *
 * Snapshots (virtio_dev_ops.quiesce/save/restore): a quiesce cancels the
 * request in progress, as a reset does, but gives its chain back to the
 * queue, so that it runs again, whole, once the device goes on (a read or
 * write done twice leaves what it leaves once). The device saves its
 * capacity (a restore onto an image of another size is refused) and its
 * overlay's map, with the overlay's layer in "disk<index>.overlay".
 */
#ifndef KVMLITE_VIRTIO_BLK_H
#define KVMLITE_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guest_mem.h"
#include "limits.h"
#include "virtio/mmio.h"
#include "virtio/virtq.h"

#define VIRTIO_ID_BLOCK 2

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES KVMLITE_DISK_SERIAL_MAX /* virtio 1.2: 20 */
#define VIRTIO_BLK_SECTOR 512
#define VIRTIO_BLK_HDR_BYTES 16
#define VIRTIO_BLK_DWZ_FLAG_UNMAP 1 /* discard/write-zeroes segment flag */

/* Limits we advertise. */
#define VIRTIO_BLK_SEG_MAX (VIRTQ_MAX_SIZE - 2) /* + header + status */
#define VIRTIO_BLK_SIZE_MAX (1U << 20)
#define VIRTIO_BLK_MAX_DWZ_SECTORS (1U << 22) /* 2 GiB per segment */
#define VIRTIO_BLK_MAX_DWZ_SEG 16

/* Configuration space offsets (struct virtio_blk_config, 5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SIZE_MAX 8
#define VIRTIO_BLK_CFG_SEG_MAX 12
#define VIRTIO_BLK_CFG_GEOMETRY 16
#define VIRTIO_BLK_CFG_BLK_SIZE 20
#define VIRTIO_BLK_CFG_PHYS_BLOCK_EXP 24
#define VIRTIO_BLK_CFG_ALIGN_OFFSET 25
#define VIRTIO_BLK_CFG_MIN_IO_SIZE 26
#define VIRTIO_BLK_CFG_OPT_IO_SIZE 28
#define VIRTIO_BLK_CFG_WRITEBACK 32
#define VIRTIO_BLK_CFG_NUM_QUEUES 34
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG 40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN 44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS 48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG 52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP 56
#define VIRTIO_BLK_CONFIG_SIZE 60 /* through unused1[3] */

struct virtio_blk_config_opts {
	const char *path;   /* image file or block device */
	bool read_only;	    /* open O_RDONLY, offer VIRTIO_BLK_F_RO */
	const char *serial; /* GET_ID answer, <= 20 bytes; NULL: "" */
	bool seccomp;	    /* the worker runs under the I/O allow-list */
	/* The guest's writes go to a private overlay (overlay.h): the image
	 * is opened read-only with a shared lock and never written. */
	bool overlay;
	unsigned int index; /* among the VM's disks: names its files */
};

struct virtio_blk;

/*
 * A parsed request. Parsing checks only the chain's structure; ranges,
 * the read-only mode and features are checked when it is executed.
 */
struct blk_req {
	uint32_t type;
	uint64_t sector;
	/* VIRTIO_BLK_S_OK when the request may run, else the status the
	 * driver gets without anything being done. */
	uint8_t status;
	uint8_t *status_ptr; /* the status byte in guest RAM */
	/*
	 * The payload: IN and GET_ID: the device-writable bytes before the
	 * status byte; OUT, DISCARD, WRITE_ZEROES: the device-readable bytes
	 * after the header; else empty.
	 */
	struct iovec data[VIRTQ_MAX_SEGS];
	unsigned int nr_data;
	uint32_t data_len;
};

/*
 * Open @o->path (exclusive OFD lock read-write, shared lock read-only),
 * size it and set up the device on guest memory @m (which must outlive
 * it). On failure returns a negative errno and writes a one-line message
 * naming the disk to @err: "disk PATH: REASON".
 */
int virtio_blk_create(struct virtio_blk **out,
		      const struct virtio_blk_config_opts *o,
		      const struct guest_mem *m, char *err, size_t errlen);
/* Stop the worker, close the image, free. NULL is fine. */
void virtio_blk_destroy(struct virtio_blk *b);

/* The device's virtio-mmio transport (bus handler, kick/call fds). */
struct virtio_mmio_dev *virtio_blk_transport(struct virtio_blk *b);
/* The ops the transport uses (device id 2, one queue). */
const struct virtio_dev_ops *virtio_blk_ops(void);

/* Start the I/O worker thread. 0 or a negative errno. Once only. */
int virtio_blk_start(struct virtio_blk *b);

/*
 * Process queue @q now, on the calling thread, as the worker does: every
 * available request is executed and completed (unless a reset or a stop
 * cancels it meanwhile: see Threading), the interrupt raised if the
 * driver wants one. For tests and for VMMs that want no worker; it is
 * serialised with the worker by the device lock. Returns the number of
 * requests completed, or a negative errno when the ring was malformed (the
 * device is then in its error state). 0 when the device is not active
 * (no DRIVER_OK since the last reset) or in its error state.
 */
int virtio_blk_process_queue(struct virtio_blk *b, unsigned int q);

/*
 * Parse chain @c into @r. -EINVAL when the chain has no device-writable
 * byte to hold a status (it cannot be answered); else 0 and @r->status
 * says whether the request may run: IOERR for a header shorter than 16
 * bytes, an IN/OUT payload that is not whole sectors or a discard/write-
 * zeroes payload that is not whole 16-byte segments; UNSUPP for an unknown
 * type.
 */
int virtio_blk_parse(const struct virtq_chain *c, struct blk_req *r);

#endif
