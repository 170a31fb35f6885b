/*
 * virtio-mmio transport, version 2 only (virtio 1.2, 4.2.2).
 *
 * One VIRTIO_MMIO_WINDOW-byte register window per device. Registers are
 * 32 bits wide and only aligned 4-byte accesses reach them; any other
 * width or offset, and any unknown register, reads 0 and ignores writes.
 * The device-specific configuration space at VIRTIO_MMIO_CONFIG is handed
 * to the device's ops for any access of 1, 2, 4 or 8 bytes that lies wholly
 * inside ops->config_size bytes.
 *
 * Notifications ("kick"): one eventfd per queue. The VMM should register
 * each with KVM_IOEVENTFD at window base + VIRTIO_MMIO_QUEUE_NOTIFY, 4
 * bytes, datamatch = the queue index, so that a guest notify never exits
 * to user space; a QueueNotify write that does reach virtio_mmio_io()
 * writes the queue's kick eventfd itself.
 *
 * Interrupts ("call"): one eventfd per device, for KVM_IRQFD on the
 * device's GSI (an edge: the DSDT declares these interrupts edge-triggered).
 * Raising one sets the InterruptStatus bit, then signals the eventfd.
 *
 * Status: writing 0 resets the device (ops->reset, which stops its worker,
 * then every queue and negotiation register returns to its initial state).
 * FEATURES_OK sticks only when the driver's features are a subset of the
 * device's and include VIRTIO_F_VERSION_1. DRIVER_OK needs ACKNOWLEDGE,
 * DRIVER and FEATURES_OK and activates the device (ops->activate). The
 * driver cannot clear bits other than by a reset. Queue registers are
 * ignored while the selected queue is ready or once DRIVER_OK is set.
 *
 * Error state: when the device finds a ring malformed it calls
 * virtio_mmio_set_needs_reset(): Status then reads DEVICE_NEEDS_RESET,
 * a configuration-change interrupt is raised and QueueNotify writes are
 * ignored until the driver resets the device.
 *
 * Threading: register accesses come from vCPU threads and are serialised
 * by d->lock, which is held across ops->activate/reset/config_*. The
 * device's worker never takes d->lock: it uses only the lock-free helpers
 * marked "worker-safe" below, and the queues (virtio_mmio_queue()), which
 * the transport touches only while the device is stopped, i.e. before
 * ops->activate() or after ops->reset() has returned. So ops->reset must
 * not return while the worker may still be using a queue.
 */
#ifndef KVMLITE_VIRTIO_MMIO_H
#define KVMLITE_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dumpbuf.h"
#include "guest_mem.h"
#include "virtio/virtq.h"

#define VIRTIO_MMIO_WINDOW 0x200

/* Registers (4.2.2). R: read-only, W: write-only. */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000 /* R */
#define VIRTIO_MMIO_VERSION 0x004     /* R */
#define VIRTIO_MMIO_DEVICE_ID 0x008   /* R */
#define VIRTIO_MMIO_VENDOR_ID 0x00c   /* R */
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034 /* R */
#define VIRTIO_MMIO_QUEUE_NUM 0x038	/* W */
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050	   /* W */
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060 /* R */
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064	   /* W */
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc /* R */
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC 0x74726976  /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x4c4d564b /* "KVML" */

/* InterruptStatus bits. */
#define VIRTIO_MMIO_INT_VRING 0x1
#define VIRTIO_MMIO_INT_CONFIG 0x2

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_MMIO_MAX_QUEUES 8

struct snap_writer;
struct snap_reader;
struct snap_files;

/*
 * A device behind the transport. @dev is the opaque pointer given to
 * virtio_mmio_init(). Called with the transport lock held.
 */
struct virtio_dev_ops {
	uint32_t device_id;
	unsigned int nr_queues; /* 1..VIRTIO_MMIO_MAX_QUEUES */
	uint32_t config_size;	/* bytes of device config space */
	/* Offered features; VIRTIO_F_VERSION_1 is added by the transport. */
	uint64_t (*features)(void *dev);
	/* @off + @len <= config_size, checked; @len is 1, 2, 4 or 8. */
	void (*config_read)(void *dev, uint32_t off, uint8_t *data,
			    uint32_t len);
	void (*config_write)(void *dev, uint32_t off, const uint8_t *data,
			     uint32_t len); /* may be NULL: read-only */
	/* DRIVER_OK: start processing the ready queues with the negotiated
	 * features (virtio_mmio_driver_features()). Non-zero: the device
	 * enters the error state. */
	int (*activate)(void *dev);
	/* Stop processing; on return the worker no longer touches the
	 * queues. Called for every reset, active or not. */
	void (*reset)(void *dev);
	/*
	 * Snapshots (each may be NULL: nothing of the device's own to do).
	 * quiesce(dev, true): finish or drop the work in hand and hold the
	 * device so (its worker waits) until quiesce(dev, false), giving the
	 * chains it took and has not completed back to their queue
	 * (virtq_undo_pop()), so that the queues and guest memory stay still
	 * and every chain is the guest's ring's again; quiesce(dev, false)
	 * lets the worker go on and look at its rings. save() and restore()
	 * run while quiesced; restore() validates first (-EINVAL: refused)
	 * and, with @active (the restored status has DRIVER_OK and no error),
	 * leaves the device working as after activate(). @files: where the
	 * device keeps files of its own (snapfile.h); NULL when restoring in
	 * place, to the snapshot it saved or was restored from last (it keeps
	 * its files then). 0 or -errno. Called with the transport lock held.
	 */
	void (*quiesce)(void *dev, bool hold);
	int (*save)(void *dev, struct snap_writer *w,
		    const struct snap_files *files);
	int (*restore)(void *dev, struct snap_reader *r, bool active,
		       const struct snap_files *files);
	/* May be NULL. The device's own state for the state dump, one line
	 * of "key=value" words; from any thread, must not block (racy reads
	 * are fine). */
	void (*dump)(void *dev, struct dumpbuf *b);
};

struct virtio_mmio_dev {
	pthread_mutex_t lock;
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct guest_mem *mem;

	/* Under lock. */
	uint32_t status; /* without NEEDS_RESET, see needs_reset */
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint64_t driver_features;
	bool driver_features_bad; /* bits written beyond the 64 we know */
	uint32_t queue_sel;
	uint32_t config_generation;
	struct virtq vqs[VIRTIO_MMIO_MAX_QUEUES];

	/* Lock-free, shared with the worker. */
	uint32_t interrupt_status;
	bool needs_reset;

	int kick_fd[VIRTIO_MMIO_MAX_QUEUES];
	int call_fd;
};

/*
 * Set up @d for the device @dev described by @ops, on guest memory @m
 * (which must outlive @d). Creates the kick and call eventfds.
 * -EINVAL for bad ops, or a negative errno.
 */
int virtio_mmio_init(struct virtio_mmio_dev *d,
		     const struct virtio_dev_ops *ops, void *dev,
		     const struct guest_mem *m);
/* Close the eventfds. The device must be stopped (no worker running). */
void virtio_mmio_destroy(struct virtio_mmio_dev *d);

/* The MMIO bus handler (bus_handler_fn) for the window; opaque = @d. */
void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		    bool is_write);

/* How many queues the device has. */
unsigned int virtio_mmio_nr_queues(const struct virtio_mmio_dev *d);
/* Queue @q's kick eventfd (for KVM_IOEVENTFD), or -1 when q is invalid. */
int virtio_mmio_kick_fd(const struct virtio_mmio_dev *d, unsigned int q);
/* The interrupt eventfd (for KVM_IRQFD). */
int virtio_mmio_call_fd(const struct virtio_mmio_dev *d);

/* Worker-safe: queue @q (NULL when out of range). */
struct virtq *virtio_mmio_queue(struct virtio_mmio_dev *d, unsigned int q);
/* Worker-safe: the guest memory. */
const struct guest_mem *virtio_mmio_mem(const struct virtio_mmio_dev *d);
/* Worker-safe while active: the features the driver accepted. */
uint64_t virtio_mmio_driver_features(const struct virtio_mmio_dev *d);
/* Worker-safe: raise the used-buffer interrupt. */
void virtio_mmio_signal_used(struct virtio_mmio_dev *d);
/* Raise the configuration-change interrupt (bumps ConfigGeneration: call
 * from a vCPU/control thread, it takes the lock). */
void virtio_mmio_config_changed(struct virtio_mmio_dev *d);
/* Worker-safe: enter the error state (see above). */
void virtio_mmio_set_needs_reset(struct virtio_mmio_dev *d);
/* Worker-safe: in the error state? */
bool virtio_mmio_needs_reset(const struct virtio_mmio_dev *d);

/*
 * Snapshots. virtio_mmio_quiesce(d, true) takes the transport lock and
 * quiesces the device (ops->quiesce), holding both until
 * virtio_mmio_quiesce(d, false) from the same thread: no register access,
 * no worker touches the device or guest memory meanwhile (a snapshot
 * pauses the vCPUs first; the state dump then reports the transport busy).
 * While quiesced, virtio_mmio_save() writes the registers, every queue
 * (virtq_save()) and the device's own state; virtio_mmio_restore() reads
 * them back, validating each (a device id or queue count of another
 * device, impossible status or features, rings outside RAM: -EINVAL, with
 * the device left reset). Guest memory must hold the restored RAM first.
 * @files: see virtio_dev_ops.
 */
void virtio_mmio_quiesce(struct virtio_mmio_dev *d, bool hold);
int virtio_mmio_save(struct virtio_mmio_dev *d, struct snap_writer *w,
		     const struct snap_files *files);
int virtio_mmio_restore(struct virtio_mmio_dev *d, struct snap_reader *r,
			const struct snap_files *files);

/*
 * The state dump: lines "PREFIX: ..." with the transport's registers and
 * each queue's indexes (ours and the guest's), then the device's own line.
 * Never blocks: when a vCPU holds the transport lock, the registers read
 * under it are reported as busy.
 */
void virtio_mmio_dump(struct virtio_mmio_dev *d, const char *prefix,
		      struct dumpbuf *b);

#endif
