/*
 * An x86 vCPU's whole state for snapshots: its CPUID, general, special and
 * debug registers, FPU/XSAVE and XCRs, MSRs (kvm-clock and the TSC among
 * them), local APIC, pending events, mp_state and TSC frequency. Saved
 * and applied with the vCPU out of KVM_RUN (parked, or not started), from
 * any thread.
 */
#ifndef KVMLITE_VCPU_X86_STATE_H
#define KVMLITE_VCPU_X86_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

struct vcpu;
struct snap_writer;
struct snap_reader;

/* Limits of what a section may hold. */
#define X86_STATE_MAX_CPUID 4096
#define X86_STATE_MAX_MSRS 4096
#define X86_STATE_MAX_XSAVE (1U << 20)

struct x86_vcpu_state {
	uint32_t id;
	struct kvm_cpuid2 *cpuid;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint32_t xsave_bytes;
	struct kvm_xsave *xsave; /* xsave_bytes, at least sizeof(*xsave) */
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dbg;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	uint32_t tsc_khz;
	struct kvm_msrs *msrs; /* nmsrs entries */
};

/*
 * Read vCPU @v's state and write it (one SNAP_VCPU section's payload):
 * @cpuid is the table the vCPU was given, @msr_index the MSRs to save
 * (those KVM does not let this vCPU read are left out), @xsave_bytes the
 * XSAVE area's size (kvm_x86_xsave_size()). 0 or -errno with the ioctl.
 */
int x86_vcpu_save(struct vcpu *v, const struct kvm_cpuid2 *cpuid,
		  const uint32_t *msr_index, uint32_t nr_msrs,
		  uint32_t xsave_bytes, struct snap_writer *w, char *err,
		  size_t errlen);

/* Decode a section (no ioctl): -EINVAL when it is not one, -ENOMEM. Free
 * with x86_vcpu_state_free() (also after a failure). */
int x86_vcpu_state_decode(struct snap_reader *r, struct x86_vcpu_state *s);
void x86_vcpu_state_free(struct x86_vcpu_state *s);

/*
 * Whether @s's CPUID is @here (the table this host gives the vCPU): 0, or
 * -ENOEXEC naming the first leaf and register that differ.
 */
int x86_vcpu_cpuid_matches(const struct x86_vcpu_state *s,
			   const struct kvm_cpuid2 *here, char *err,
			   size_t errlen);

/*
 * The special registers to give KVM_SET_SREGS for @sregs as
 * KVM_GET_SREGS read them, on a host whose CPUID is @cpuid: on an SVM
 * host (AMD, Hygon) TR's busy type (11) becomes available (9), as QEMU's
 * emulated SVM needs for a user-mode in/out's I/O bitmap check.
 */
void x86_sregs_for_set(struct kvm_sregs *sregs, const struct kvm_cpuid2 *cpuid);
/* A crash report's registers (x86_regs_dump), with a note when they are
 * the power-on state that KVM on AMD leaves after a shutdown. */
void x86_regs_format(const struct kvm_regs *r, const struct kvm_sregs *s,
		     char *buf, size_t len);

/*
 * Set @s in vCPU @v (its CPUID is not touched: x86_vcpu_cpuid_matches()
 * said it is the same). The TSC frequency first (a different one is
 * scaled where KVM can, else refused: -ENOEXEC), then registers, MSRs,
 * mp_state, the local APIC and the TSC deadline that needs it, events,
 * debug registers. 0 or -errno with the ioctl that failed.
 */
int x86_vcpu_state_apply(struct vcpu *v, const struct x86_vcpu_state *s,
			 char *err, size_t errlen);

#endif
