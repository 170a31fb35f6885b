/*
 * Snapshots, restore and reset in place (docs/snapshot.md): the
 * orchestration. Every piece of state is saved and restored by its owner
 * (board_save(), virtio_slots_save(), kvm_x86_vm_state_save(),
 * x86_vcpu_save(), guest_mem_save()); this file pauses the vCPUs, quiesces
 * the devices, writes the files atomically, and sets a VM back, new or in
 * place. The API calls (kvmlite_vm_snapshot, _restore, _reset) are here.
 *
 * A guest's snapshot (port 0xf6, with a snapshot directory) is taken by
 * the VM's snapshot thread: the vCPU that wrote the port asks for the
 * pause and goes on to park, having completed its write; the thread waits
 * for every vCPU to park, writes, resumes. kvmlite_vm_snapshot_to_dir()
 * hands the same thread a caller's request (the kvmlite command's API
 * thread, which may open no files) and waits for its answer. The thread
 * loads its own seccomp list (src/sandbox.c: files under the snapshot directory only,
 * the vCPUs' and VM's GET ioctls).
 */
#ifndef KVMLITE_SNAPSHOT_H
#define KVMLITE_SNAPSHOT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "snapfile.h"
#include "worker.h"

struct kvmlite_vm;

struct snapshots {
	pthread_mutex_t lock; /* one snapshot or reset at a time */
	char *dir;	      /* snapshot_dir: the guest's snapshots, or NULL */
	int dirfd;
	struct worker thread; /* takes the guest's snapshots */
	int request_fd;	      /* eventfd: the guest asked */
	int pagemap_fd;	      /* /proc/self/pagemap, or -1 */
	bool pagemap_fd_tried;
	/* kvmlite_vm_snapshot_to_dir()'s request to the thread: take_fd says
	 * there is one; the rest is under vm->lock, whose cond wakes the
	 * caller. One caller at a time. */
	int take_fd; /* eventfd */
	bool take_busy;
	bool take_done;
	int take_ret;
	char take_why[256];
	/* The CONFIG section, made at creation (the caller's config is not
	 * kept): what a restore rebuilds the VM from. */
	uint8_t *config;
	size_t config_len;
	uint32_t *msrs; /* the MSRs a vCPU saves */
	uint32_t nr_msrs;
	uint32_t xsave_bytes;
	/* What a reset goes back to: the last snapshot taken or restored
	 * from, its memory file, and whether RAM maps that file now. */
	bool have_last;
	struct snapfile last;
	int mem_fd;
	bool ram_is_last;
};

/* The CONFIG section, decoded: the VM to rebuild. */
struct snapshot_config {
	struct config_native c; /* cpus, memory, name, disks, nets */
	bool linux_kernel;	/* the guest is a Linux kernel */
	/* Each disk as it was: to tell whether it changed since. */
	struct snapshot_disk_stamp {
		bool blk; /* a block device (size 0: not checked here) */
		uint64_t size, sec;
		uint32_t nsec; /* mtime */
	} stamps[KVMLITE_MAX_DISKS];
	char *strings[2 * KVMLITE_MAX_DISKS + 3 * KVMLITE_MAX_NETS + 2];
	unsigned int nr_strings;
};

/*
 * Decode @f's CONFIG section into @sc, whose c.cfg the caller has set up
 * (kvmlite_config_init(); a name there stays). The values are read, not
 * checked (config_validate_machine() does that). 0, -EINVAL for a missing
 * or malformed section, -ENOMEM. Free with snapshot_config_free() (also
 * after a failure).
 */
int snapshot_config_decode(const struct snapfile *f,
			   struct snapshot_config *sc);
void snapshot_config_free(struct snapshot_config *sc);

/* vm.c, in vm_alloc(): everything empty, fds -1. */
void snapshot_prepare(struct kvmlite_vm *vm);
/* vm_alloc(): the caller's snapshot_dir (NULL: none), kept. */
int snapshot_set_dir(struct kvmlite_vm *vm, const char *dir, char *err,
		     size_t errlen);
/* End of creation (devices and vCPUs exist): the directory made and
 * opened, the CONFIG section, the MSR list. 0 or -errno with a message. */
int snapshot_init(struct kvmlite_vm *vm, const struct config_native *c,
		  char *err, size_t errlen);
/* kvmlite_vm_start(): the snapshot thread, when there is a directory. */
int snapshot_start(struct kvmlite_vm *vm, char *err, size_t errlen);
/* kvmlite_vm_destroy(), before the vCPUs and devices go: the thread
 * joined (a snapshot in progress stops at its next step), all freed. */
void snapshot_release(struct kvmlite_vm *vm);

/* Whether the guest's writes to port 0xf6 take snapshots. */
bool snapshot_enabled(const struct kvmlite_vm *vm);
/* From the vCPU that wrote port 0xf6: pause and hand over to the thread. */
void snapshot_request(struct kvmlite_vm *vm);

#endif
