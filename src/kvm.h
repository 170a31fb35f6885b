/*
 * /dev/kvm and VM-level KVM ioctls: the only file that issues them (vCPU
 * ioctls stay in src/vcpu/). Functions take fds and plain values, return
 * 0 (or a new fd) or a negative errno, and those that can fail for a
 * reason a user must see write a one-line message. The x86-only calls are
 * named kvm_x86_*.
 */
#ifndef KVMLITE_KVM_H
#define KVMLITE_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "guest_mem.h"

/* Open /dev/kvm and check every capability kvmlite relies on: -ENODEV
 * (missing, no permission, too old) with the reason, or another errno. */
int kvm_open(int *kvm_fd, char *err, size_t errlen);

/*
 * A VM for @cpus vCPUs with guest RAM @m mapped and the machine's
 * in-kernel devices (x86: TSS and identity map, irqchip, PIT): the VM fd
 * in *vm_fd, or a negative errno with the ioctl that failed.
 */
int kvm_create_vm(int kvm_fd, unsigned int cpus, const struct guest_mem *m,
		  int *vm_fd, char *err, size_t errlen);

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

/* KVM_GET_SUPPORTED_CPUID, as large as it needs (free() it). */
int kvm_x86_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out);
/* KVM_CAP_TSC_DEADLINE_TIMER: the in-kernel LAPIC emulates it. */
bool kvm_x86_has_tsc_deadline_timer(int kvm_fd);
/* The in-kernel IOAPIC's state. */
int kvm_x86_get_ioapic(int vm_fd, struct kvm_ioapic_state *out);

/* /proc/cpuinfo shows no VMX or SVM: this /dev/kvm is a software one (such
 * as PVM) that cannot run a stock Linux kernel at a usable speed. */
bool kvm_host_lacks_hw_virt(void);

#endif
