/* vCPUs: their threads, KVM_RUN loop, exit dispatch; each architecture's
 * set-up and state behind arch.h (x86_*.c, arm64*.c). */
#ifndef KVMLITE_VCPU_H
#define KVMLITE_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "arch.h"

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
	struct kvm_mp_state mp;
#ifdef KVMLITE_ARCH_X86
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events ev;
	struct kvm_lapic_state lapic;
	uint8_t if_flag; /* from kvm_run */
#else
	uint64_t pc, sp, pstate, x0; /* sp: SP_EL1 */
	/* The virtual timer (KVM_REG_ARM_TIMER_*): CNTV_CTL_EL0, CNTV_CVAL_EL0
	 * and the virtual count; tmr_err: -errno if they were unreadable. */
	uint64_t tmr_ctl, tmr_cval, tmr_cnt;
	int tmr_err;
#endif
};

struct vcpu {
	struct kvmlite_vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	/* Under vm->lock: set by the thread itself before its first KVM_RUN,
	 * so a kick from another vCPU that comes before pthread_create()
	 * has returned still reaches it. */
	pthread_t self;
	bool kickable;

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

/* vcpu.c */
int vcpu_create(struct kvmlite_vm *vm, struct vcpu *v, unsigned int id,
		char *err, size_t errlen);
void vcpu_destroy(struct vcpu *v);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
/* On @v's own thread, outside KVM_RUN: answer a pending dump request. */
void vcpu_answer_dump(struct vcpu *v);

/* dump.c: KVM_MP_STATE_* by name. */
const char *vcpu_mp_state_name(uint32_t mp);

/* exit.c: non-zero when the vCPU must stop. */
int vcpu_handle_exit(struct vcpu *v);

#ifdef KVMLITE_ARCH_X86
/* x86_cpuid.c */
int x86_cpuid_setup(struct kvmlite_vm *vm, struct vcpu *v);
/* Once per VM, before the vCPUs: vm->cpuid becomes the VM's CPU model
 * (cpuid_model() over KVM's supported list). 0 or -ENOMEM. */
int x86_cpu_model_setup(struct kvmlite_vm *vm);
/* x86_regs.c */
int x86_regs_setup_boot(struct kvmlite_vm *vm, struct vcpu *v);
int x86_regs_setup_common(struct kvmlite_vm *vm, struct vcpu *v);
void x86_regs_dump(struct vcpu *v, char *buf, size_t len);
#endif

#endif
