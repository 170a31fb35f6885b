#ifndef KVMLITE_CPUID_H
#define KVMLITE_CPUID_H

#include <linux/kvm.h>

/*
 * Adapt KVM's supported CPUID to vCPU @id of @ncpus: APIC IDs, a topology
 * of ncpus cores in one package with one thread each, the hypervisor bit.
 * Works in place on a copy of the supported list.
 */
void cpuid_patch(struct kvm_cpuid2 *c, unsigned int id, unsigned int ncpus);

#endif
