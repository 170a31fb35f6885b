/* Per-vCPU CPUID: KVM's supported leaves plus our topology. */
#include "vcpu/cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vm.h"

#define CPUID_HYPERVISOR (1u << 31)
#define CPUID_AMD_CMP_LEGACY (1u << 1)

static unsigned int order_of(unsigned int n)
{
	unsigned int s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

void cpuid_patch(struct kvm_cpuid2 *c, unsigned int id, unsigned int ncpus)
{
	unsigned int core_shift = order_of(ncpus);

	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* APIC ID, logical processor count, HTT. */
			e->ebx = (e->ebx & 0x0000ffff) | (id << 24) |
				 ((ncpus > 255 ? 255 : ncpus) << 16);
			if (ncpus > 1)
				e->edx |= 1u << 28;
			else
				e->edx &= ~(1u << 28);
			e->ecx |= CPUID_HYPERVISOR;
			break;
		case 4: {
			/* Deterministic cache parameters: cores per package
			 * and sharing; leave the cache geometry as is. */
			unsigned int level = (e->eax >> 5) & 7;
			unsigned int sharing = level >= 3 ? ncpus - 1 : 0;

			if ((e->eax & 0x1f) == 0)
				break;
			e->eax &= 0x3fff;
			e->eax |= (sharing & 0xfff) << 14;
			e->eax |= ((ncpus - 1) & 0x3f) << 26;
			break;
		}
		case 0xb:
		case 0x1f:
			/* Extended topology: SMT level (1 thread), core level
			 * (ncpus cores), then the invalid level. */
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = core_shift;
				e->ebx = ncpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = 0;
				e->ebx = 0;
				e->ecx = e->index & 0xff;
			}
			break;
		case 0x80000001:
			if (ncpus > 1)
				e->ecx |= CPUID_AMD_CMP_LEGACY;
			else
				e->ecx &= ~CPUID_AMD_CMP_LEGACY;
			break;
		case 0x80000008:
			/* AMD: NC = cores - 1, ApicIdCoreIdSize. */
			e->ecx = (e->ecx & ~0xf0ffu) | ((ncpus - 1) & 0xff) |
				 (core_shift << 12);
			break;
		default:
			break;
		}
	}
}

int cpuid_setup(struct kvmlite_vm *vm, struct vcpu *v)
{
	size_t sz = sizeof(*vm->cpuid) +
		    vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	int ret = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, vm->cpuid, sz);
	cpuid_patch(c, v->id, vm->nr_vcpus);
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}
