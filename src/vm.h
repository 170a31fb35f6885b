/* The VM object: everything one guest owns. No globals anywhere. */
#ifndef KVMLITE_VM_H
#define KVMLITE_VM_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "kvmlite.h"
#include "board.h"
#include "bus.h"
#include "config.h"
#include "coalesced.h"
#include "console.h"
#include "console_log.h"
#include "exec/exec.h"
#include "guest_mem.h"
#include "loader/loader.h"
#include "snapshot.h"
#include "util.h"
#include "vcpu/vcpu.h"
#include "virtio/slots.h"
#include "worker.h"

struct kvmlite_vm {
	/* The caller's config, imported; its arrays and strings are not
	 * kept past creation but for cmdline and name. */
	struct kvmlite_config cfg;
	char *cmdline;
	char *name; /* cfg->name, or NULL */

	int kvm_fd;
	int vm_fd;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, unmodified */
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	struct boot_entry boot;

	struct board board;	    /* the fixed devices */
	struct virtio_slots virtio; /* and the virtio ones */
	struct snapshots snaps;	    /* snapshot.c */

	/* The console thread; its stop_fd is written when the VM stops. It
	 * then waits for the vCPUs, writes out the console's last output and
	 * marks the VM finished. */
	struct worker io;
	struct console console;
	/* Writes KVM coalesced (the UART's THR), played back in order. */
	struct coalesced coal;
	bool coal_ready; /* its lock exists: coalesced_free() owed */
	bool console_ready;
	int exit_fd; /* eventfd: readable once the VM finished */

	struct console_log con;

	/* kvmlite exec (cfg.exec.argv was set): the console's frames split
	 * (under the UART's lock), stderr's own console and thread when
	 * exec.stderr_fd >= 0, and the root share beside the caller's. */
	bool exec;
	struct exec_demux demux;
	struct console console_err;
	bool console_err_ready;
	struct worker io_err;
	struct kvmlite_fs exec_fs[KVMLITE_MAX_FS];
	struct cpio exec_initrd; /* until loaded into guest memory */

	/* Exit state, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* exit, and vCPUs parking for a pause */
	bool started;
	bool start_in_progress;	    /* kvmlite_vm_start() has not returned */
	bool io_started;	    /* the console thread runs: it finishes */
	bool finished;		    /* stopped, vCPUs out, console written */
	unsigned int vcpus_running; /* vCPU threads not yet returned */
	bool pause_requested;
	bool internal_pause; /* a snapshot's or reset's, apart from the caller's
			      */
	unsigned int nr_parked;
	unsigned int dump_seq; /* vCPUs answer with a snapshot */
	volatile int stopping; /* read by vCPU threads without the lock */
	struct kvmlite_exit exit;
	struct kvmlite_timings t;
	char last_error[512];
	const char *warning; /* kvmlite_vm_warning(), or NULL */
};

/* Record why the VM stops (first caller wins) and stop every thread. */
void vm_request_exit(struct kvmlite_vm *vm, enum kvmlite_exit_reason reason,
		     int value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* vm_info.c: record an error for kvmlite_vm_last_error(). */
void vm_set_error(struct kvmlite_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* exec's init could not run the command (port 0xf7): the VM ends with
 * KVMLITE_EXIT_EXEC_FAILED and the init's last stderr line. */
void vm_exec_failed(struct kvmlite_vm *vm, int status);
/* vm_info.c: the guest reached its boot milestone (port 0xf5). */
void vm_mark_boot(struct kvmlite_vm *vm);

/* A vCPU thread stops here while the VM is paused. */
void vm_park_vcpu(struct kvmlite_vm *vm, struct vcpu *v);
/* Whether the vCPUs are to park (a pause of the caller's or internal). */
bool vm_pause_wanted(struct kvmlite_vm *vm);

/*
 * The internal pause (snapshot.c): vm_request_pause() asks every vCPU to
 * park at its next exit and returns at once (from a vCPU thread, whose
 * own exit completes first); vm_pause_vcpus() asks and waits until all
 * are parked: 0, or -EINVAL when the VM is not running or stops
 * meanwhile; vm_resume_vcpus() lets them go (a pause of the caller's
 * still holds them).
 */
void vm_request_pause(struct kvmlite_vm *vm);
int vm_pause_vcpus(struct kvmlite_vm *vm);
void vm_resume_vcpus(struct kvmlite_vm *vm);

/*
 * The steps of kvmlite_vm_create() that a restore shares (snapshot.c):
 * vm_alloc() takes the (imported, validated) configuration, then guest
 * memory is set up by the caller, vm_create_devices() makes the virtio
 * devices, vm_create_machine() the console, KVM's VM, the board, the
 * vCPUs and the rest. On failure the caller destroys the VM.
 */
int vm_alloc(const struct config_native *c, struct kvmlite_vm **out, char *err,
	     size_t errlen);
int vm_create_devices(struct kvmlite_vm *vm, const struct config_native *c,
		      char *err, size_t errlen);
int vm_create_machine(struct kvmlite_vm *vm, const struct config_native *c,
		      char *err, size_t errlen);

#endif
