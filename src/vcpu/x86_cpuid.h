#ifndef KVMLITE_CPUID_H
#define KVMLITE_CPUID_H

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

#endif
