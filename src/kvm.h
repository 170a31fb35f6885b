/*
 * /dev/kvm and VM-level KVM ioctls: the only file that issues them (vCPU
 * ioctls stay in src/vcpu/). Functions take fds and plain values, return
 * 0 (or a new fd) or a negative errno, and those that can fail for a
 * reason a user must see write a one-line message. The x86-only calls are
 * named kvm_x86_* (kvm_x86.c); arch.h has each architecture's part of
 * creating a VM.
 */
#ifndef KVMLITE_KVM_H
#define KVMLITE_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "arch.h"
#include "guest_mem.h"

/* Open /dev/kvm and check every capability kvmlite relies on: -ENODEV
 * (missing, no permission, too old) with the reason, or another errno. */
int kvm_open(int *kvm_fd, char *err, size_t errlen);

/* A capability to ask /dev/kvm about (KVM_CHECK_EXTENSION). */
struct kvm_cap {
	int cap;	  /* KVM_CAP_* */
	const char *name; /* "KVM_CAP_*", for the message */
	bool required;	  /* lacking it, kvm_check_caps() fails */
};

/*
 * Ask @kvm_fd about each of @caps[@n]: -ENODEV naming the first required
 * one it lacks, else 0. @have (may be NULL; then n <= 64) gets bit i set
 * for each caps[i] it has, required or optional.
 */
int kvm_check_caps(int kvm_fd, const struct kvm_cap *caps, size_t n,
		   uint64_t *have, char *err, size_t errlen);

/*
 * A VM for @cpus vCPUs with guest RAM @m mapped and the machine's
 * in-kernel devices (arch_kvm_pre_memory(), arch_kvm_irqchip()): the VM fd
 * in *vm_fd, or a negative errno with the ioctl that failed.
 */
int kvm_create_vm(int kvm_fd, unsigned int cpus, const struct guest_mem *m,
		  int *vm_fd, char *err, size_t errlen);

/*
 * Make KVM forget what it derived from guest RAM: a shadow-paging KVM (no
 * EPT/NPT) keeps shadow pages of the guest's page tables, which go stale
 * when RAM is replaced under it (a reset in place). Deleting any memory
 * slot drops all of them (x86 KVM's kvm_arch_flush_shadow_memslot zaps
 * every shadow page), so this adds and deletes a one-page slot above @m's
 * regions: unlike re-adding RAM's own slots, nothing per page of RAM.
 * vCPUs must be out of KVM_RUN. 0 or -errno.
 */
int kvm_flush_shadow_mmu(int vm_fd, const struct guest_mem *m);

/* The size to mmap() of a vCPU's struct kvm_run, or a negative errno. */
int kvm_vcpu_mmap_size(int kvm_fd);
/* vCPU @id's fd, or a negative errno. */
int kvm_create_vcpu(int vm_fd, unsigned int id);

/* Drive interrupt line @gsi of the in-kernel irqchip to @level. */
int kvm_irq_line(int vm_fd, unsigned int gsi, int level);
/* A guest write of @datamatch (@len bytes) to @addr signals @fd, in the
 * kernel (no exit to us). */
int kvm_ioeventfd(int vm_fd, uint64_t addr, uint32_t len, uint64_t datamatch,
		  int fd);
/* A write to @fd raises @gsi (an edge). */
int kvm_irqfd(int vm_fd, int fd, unsigned int gsi);
/* Guest writes to [addr, addr + size) (I/O ports if @pio) go to the
 * coalesced ring instead of exiting (coalesced.h). -ENOTSUP when KVM
 * cannot. */
int kvm_coalesce_writes(int vm_fd, uint64_t addr, uint32_t size, bool pio);

#ifdef KVMLITE_ARCH_X86
/* KVM_GET_SUPPORTED_CPUID, as large as it needs (free() it). */
int kvm_x86_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out);
/* KVM_CAP_TSC_DEADLINE_TIMER: the in-kernel LAPIC emulates it. */
bool kvm_x86_has_tsc_deadline_timer(int kvm_fd);
/* The in-kernel IOAPIC's state. */
int kvm_x86_get_ioapic(int vm_fd, struct kvm_ioapic_state *out);

/* KVM_GET_MSR_INDEX_LIST: the MSRs KVM saves and restores (free() it). */
int kvm_x86_msr_index_list(int kvm_fd, uint32_t **out, uint32_t *n);
/* The size of a vCPU's XSAVE area (KVM_CAP_XSAVE2; 4096 without it). */
uint32_t kvm_x86_xsave_size(int vm_fd);

struct snap_writer;
struct snap_reader;

/* The VM-level x86 state a snapshot holds: the PIC pair, the IOAPIC, the
 * PIT and kvm-clock. */
struct kvm_x86_vm_state {
	struct kvm_irqchip chip[3]; /* KVM_IRQCHIP_PIC_MASTER, _SLAVE, IOAPIC */
	struct kvm_pit_state2 pit;
	uint64_t clock; /* kvm-clock, ns (KVM_GET_CLOCK) */
};

/* Read it from KVM and write it (one SNAP_VM section's payload). 0 or
 * -errno with the ioctl that failed. */
int kvm_x86_vm_state_save(int vm_fd, struct snap_writer *w, char *err,
			  size_t errlen);
/* Decode a section (no ioctl): -EINVAL when it is not one. */
int kvm_x86_vm_state_decode(struct snap_reader *r, struct kvm_x86_vm_state *s);
/* Set it in KVM: the PIT, kvm-clock (the guest's time goes on from the
 * snapshot's), then the PICs and the IOAPIC. */
int kvm_x86_vm_state_apply(int vm_fd, const struct kvm_x86_vm_state *s,
			   char *err, size_t errlen);

#endif /* KVMLITE_ARCH_X86 */

/* /proc/cpuinfo shows no VMX or SVM: this /dev/kvm is a software one (such
 * as PVM) that cannot run a stock Linux kernel at a usable speed. */
bool kvm_host_lacks_hw_virt(void);

#endif
