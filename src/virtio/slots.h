/*
 * The virtio slot table: every virtio device of a VM, in the order the
 * guest sees them, each with its transport, MMIO window and GSI (from the
 * board). A kind of device is one file under src/virtio/ exporting a
 * struct virtio_kind, listed once in slots.c; the VM's create, attach,
 * start, dump and destroy are one loop each over the table.
 */
#ifndef KVMLITE_VIRTIO_SLOTS_H
#define KVMLITE_VIRTIO_SLOTS_H

#include <stddef.h>

#include "bus.h"
#include "dumpbuf.h"
#include "guest_mem.h"
#include "kvmlite.h"
#include "loader/loader.h"
#include "virtio/mmio.h"

/* What a kind's create() gets: the VM's (validated) configuration. */
struct virtio_slot_ctx {
	const struct kvmlite_config *cfg;
	const struct guest_mem *mem;
	bool seccomp; /* the device's worker loads the I/O allow-list */
};

struct virtio_kind {
	const char *name; /* "virtio-blk": windows and messages */
	/* How many devices of this kind the configuration asks for. */
	unsigned int (*count)(const struct kvmlite_config *cfg);
	/* Create device @index of the kind (before KVM exists: a bad image
	 * or TAP is a configuration error). 0 or -errno with a message. */
	int (*create)(const struct virtio_slot_ctx *ctx, unsigned int index,
		      void **dev, char *err, size_t errlen);
	struct virtio_mmio_dev *(*transport)(void *dev);
	/* Start its worker (once the vCPUs run). */
	int (*start)(void *dev);
	void (*destroy)(void *dev);
	/* "disk", "net", "rng", "vsock", "fs": names the counters ("disk0",
	 * ...). */
	const char *counter_name;
	/* The device's counters as JSON members ("read_ops":N,...), or NULL
	 * for none; from any thread, never blocking (relaxed atomics). */
	void (*counters)(void *dev, struct dumpbuf *b);
};

struct virtio_slot {
	const struct virtio_kind *kind;
	unsigned int index; /* among its kind: vda, vdb, ... */
	void *dev;
	struct virtio_mmio_dev *mmio;
	struct boot_mmio_dev win;
};

struct virtio_slots {
	struct virtio_slot slot[KVMLITE_MAX_DEVICES];
	unsigned int nr;
	struct boot_mmio_dev wins[KVMLITE_MAX_DEVICES]; /* for the loader */
};

/* Create every device @cfg asks for, kind by kind. */
int virtio_slots_create(struct virtio_slots *s, const struct virtio_slot_ctx *c,
			char *err, size_t errlen);
/* Route each window to its transport, each queue's notify to its kick
 * eventfd (KVM_IOEVENTFD) and the interrupt eventfd to its GSI. */
int virtio_slots_attach(struct virtio_slots *s, struct bus *mmio, int vm_fd,
			char *err, size_t errlen);
/* Each device's interrupt eventfd to its GSI (KVM_IRQFD): once the
 * interrupt controller is ready (after arch_vcpus_created()). */
int virtio_slots_irqfds(struct virtio_slots *s, int vm_fd, char *err,
			size_t errlen);
int virtio_slots_start(struct virtio_slots *s, char *err, size_t errlen);
void virtio_slots_dump(struct virtio_slots *s, struct dumpbuf *b);

struct snap_writer;
struct snap_files;
struct snapfile;

/*
 * Snapshots, one loop each (virtio_mmio_quiesce/save/restore): every
 * slot quiesced (held) or let go; every slot saved as a SNAP_VIRTIO
 * section (index: the slot; its kind's name and index first), or restored
 * from one (a section of another kind, missing or invalid: -EINVAL or the
 * device's -errno, naming the slot). Restores only between a quiesce and
 * its release.
 */
void virtio_slots_quiesce(struct virtio_slots *s, bool hold);
/* 0 when every slot's device can be saved (it has save and restore ops:
 * virtio-blk, virtio-net), else -EOPNOTSUPP naming the first that cannot
 * (virtio-rng, virtio-vsock: their state is not in a snapshot; virtio-9p:
 * its open files are host state). */
int virtio_slots_saveable(const struct virtio_slots *s, char *err,
			  size_t errlen);
int virtio_slots_save(struct virtio_slots *s, struct snap_writer *w,
		      const struct snap_files *files, char *err, size_t errlen);
int virtio_slots_restore(struct virtio_slots *s, const struct snapfile *f,
			 const struct snap_files *files, char *err,
			 size_t errlen);
/* Every device's counters as JSON members: "disk0":{...},"net0":{...}. */
void virtio_slots_counters(struct virtio_slots *s, struct dumpbuf *b);
/* After the vCPUs are gone. */
void virtio_slots_destroy(struct virtio_slots *s);

/* The kinds (each in its device's file). */
extern const struct virtio_kind virtio_blk_kind;
extern const struct virtio_kind virtio_net_kind;
extern const struct virtio_kind virtio_rng_kind;
extern const struct virtio_kind virtio_vsock_kind;
extern const struct virtio_kind virtio_p9_kind;

#endif
