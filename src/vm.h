/* The VM object: everything one guest owns. No globals anywhere. */
#ifndef KVMLITE_VM_H
#define KVMLITE_VM_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "kvmlite.h"
#include "bus.h"
#include "console.h"
#include "console_log.h"
#include "worker.h"
#include "guest_mem.h"
#include "platform.h"
#include "devices/i8042.h"
#include "devices/platform_ports.h"
#include "devices/rtc.h"
#include "devices/serial8250.h"
#include "loader/loader.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/tap.h"

#define KVMLITE_MAX_CPUS 255
#define KVMLITE_MIN_MEMORY (16ULL << 20)
#define VIRTIO_GSI_BASE 5
_Static_assert(VIRTIO_GSI_BASE + KVMLITE_MAX_DEVICES <= 24,
	       "virtio GSIs fit the 24-pin IOAPIC");

struct kvmlite_vm;

/* Where a vCPU thread is, for the state dump. */
enum vcpu_state {
	VCPU_NOT_STARTED,
	VCPU_IN_GUEST, /* in KVM_RUN */
	VCPU_IN_EXIT,  /* handling an exit: devices, buses */
	VCPU_PARKED,   /* paused */
	VCPU_DONE,     /* the thread returned */
};

/* A vCPU's state as its own thread read it (KVM's vCPU ioctls wait for
 * KVM_RUN to return, so no other thread can). */
struct vcpu_snapshot {
	uint64_t taken_ns; /* 0: never taken */
	int err;	   /* first failed ioctl's -errno, or 0 */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;
	struct kvm_lapic_state lapic;
	uint8_t if_flag; /* from kvm_run */
};

struct vcpu {
	struct kvmlite_vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_started;

	/* For the dump: atomics written by the vCPU thread. */
	int state; /* enum vcpu_state */
	uint64_t exits;
	uint32_t last_exit;	 /* KVM_EXIT_* */
	uint64_t last_exit_addr; /* port or MMIO address of that exit */
	uint8_t last_exit_write;
	/* Under vm->lock: the snapshot answering dump request snap_seq. */
	unsigned int snap_seq;
	struct vcpu_snapshot snap;
};

struct kvmlite_vm {
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

	struct serial8250 serial;
	struct i8042 i8042;
	struct rtc rtc;
	struct test_exit_port test_exit;
	struct boot_timer_port boot_timer;
	struct acpi_sleep_port acpi_sleep;
	struct platform_ops plat;
	bool devices_ready;

	/* virtio-mmio devices: window i at LAYOUT_VIRTIO_MMIO + i * 0x200,
	 * GSI VIRTIO_GSI_BASE + i. Disks first, then networks. */
	struct virtio_blk *disks[KVMLITE_MAX_DISKS];
	unsigned int nr_disks;
	struct virtio_net *nets[KVMLITE_MAX_NETS];
	unsigned int nr_nets;
	struct boot_mmio_dev mmio_devs[KVMLITE_MAX_DISKS + KVMLITE_MAX_NETS];
	unsigned int nr_mmio_devs;

	/* The console thread; its stop_fd is written when the VM stops. It
	 * then waits for the vCPUs, writes out the console's last output and
	 * marks the VM finished. */
	struct worker io;
	struct console console;
	bool console_ready;
	int exit_fd; /* eventfd: readable once the VM finished */

	struct console_log con;

	/* Exit state, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* exit, and vCPUs parking for a pause */
	bool started;
	bool start_in_progress;	    /* kvmlite_vm_start() has not returned */
	bool io_started;	    /* the console thread runs: it finishes */
	bool finished;		    /* stopped, vCPUs out, console written */
	unsigned int vcpus_running; /* vCPU threads not yet returned */
	bool pause_requested;
	unsigned int nr_parked;
	unsigned int dump_seq; /* vCPUs answer with a snapshot */
	volatile int stopping; /* read by vCPU threads without the lock */
	struct kvmlite_exit exit;
	struct kvmlite_timings t;
	char last_error[512];
	const char *warning; /* kvmlite_vm_warning(), or NULL */
};

uint64_t now_ns(void);

/* Record why the VM stops (first caller wins) and stop every thread. */
void vm_request_exit(struct kvmlite_vm *vm, enum kvmlite_exit_reason reason,
		     int value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void vm_set_error(struct kvmlite_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* kvm.c */
int kvm_open_checked(int *kvm_fd, char *err, size_t errlen);
int kvm_vm_setup(struct kvmlite_vm *vm, char *err, size_t errlen);
/* /proc/cpuinfo shows no VMX or SVM: this /dev/kvm is a software one (such
 * as PVM) that cannot run a stock Linux kernel at a usable speed. */
bool kvm_host_lacks_hw_virt(void);

/* A vCPU thread stops here while the VM is paused. */
void vm_park_vcpu(struct kvmlite_vm *vm, struct vcpu *v);

/* vcpu/vcpu.c */
int vcpu_create(struct kvmlite_vm *vm, struct vcpu *v, unsigned int id,
		char *err, size_t errlen);
void vcpu_destroy(struct vcpu *v);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
/* On @v's own thread, outside KVM_RUN: answer a pending dump request. */
void vcpu_answer_dump(struct vcpu *v);

/* dump.c: the state dump (kvmlite_vm_dump). */

/* vcpu/cpuid.c */
int cpuid_setup(struct kvmlite_vm *vm, struct vcpu *v);
/* vcpu/regs.c */
int regs_setup_boot(struct kvmlite_vm *vm, struct vcpu *v);
int regs_setup_common(struct kvmlite_vm *vm, struct vcpu *v);
void regs_dump(struct vcpu *v, char *buf, size_t len);

/* Exit dispatch helpers: vcpu/exit.c */
int vcpu_handle_exit(struct vcpu *v);

#endif
