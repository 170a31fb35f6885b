#ifndef KVMLITE_CPUID_H
#define KVMLITE_CPUID_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

/*
 * vCPU @id's CPUID in a VM of @ncpus vCPUs, built from KVM's supported list
 * (which is left alone). Every vCPU of the VM describes the same machine:
 * one package of @ncpus cores with one thread each, APIC ID = @id, in every
 * leaf Linux reads topology from (1, 4, 0xb, 0x1f, 0x80000008, 0x8000001d,
 * 0x8000001e), and the hypervisor bit. KVM's list carries only subleaf 0 of
 * 0xb (and of 0x1f), so the topology subleaves are added here. Returns a
 * malloc()ed table, or NULL when out of memory.
 */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported,
				  unsigned int id, unsigned int ncpus);

/* What the VM's CPU model takes from the host besides KVM's list. */
struct cpuid_host {
	bool tsc_deadline;  /* KVM_CAP_TSC_DEADLINE_TIMER */
	uint32_t brand[12]; /* CPUID 0x80000002-4: eax, ebx, ecx, edx each */
};

/* The brand string of the CPU this runs on (zeros when it has none). */
void cpuid_host_brand(uint32_t brand[12]);

/*
 * The VM's CPU model, as good as QEMU's -cpu host: KVM's supported list
 * plus what KVM can virtualize but does not list there, the TSC-deadline
 * timer (leaf 1 ECX[24], emulated by the in-kernel LAPIC) and the host's
 * brand string (0x80000002-4, which KVM leaves out), raising the maximum
 * extended leaf for it. Everything else, leaf 0x40000000 (KVM's signature
 * and features, kvm-clock) included, is KVM's. Returns a malloc()ed table,
 * or NULL when out of memory.
 */
struct kvm_cpuid2 *cpuid_model(const struct kvm_cpuid2 *supported,
			       const struct cpuid_host *host);

#endif
