/* CPUID: the VM's CPU model (KVM's supported leaves, the TSC-deadline
 * timer, the host's brand string) and each vCPU's place in one package. */
#include "vcpu/x86_cpuid.h"

#include <cpuid.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm.h"
#include "vm.h"

#define CPUID_HYPERVISOR (1u << 31)
#define CPUID_TSC_DEADLINE (1u << 24)
#define CPUID_BRAND_FIRST 0x80000002u
#define CPUID_BRAND_LAST 0x80000004u
#define CPUID_HTT (1u << 28)
#define CPUID_AMD_CMP_LEGACY (1u << 1)
/* 0xb / 0x1f level types (ECX[15:8]). */
#define TOPO_INVALID 0
#define TOPO_SMT 1
#define TOPO_CORE 2
/* Subleaves added for 0xb and 0x1f: SMT, core, the invalid terminator. */
#define TOPO_SUBLEAVES 3

static unsigned int order_of(unsigned int n)
{
	unsigned int s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

static unsigned int min_u(unsigned int a, unsigned int b)
{
	return a < b ? a : b;
}

/* Extended topology (0xb, 0x1f): one thread per core, @ncpus cores. */
static void topo_subleaf(struct kvm_cpuid_entry2 *e, uint32_t fn, uint32_t sub,
			 unsigned int id, unsigned int ncpus)
{
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = sub;
	e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	e->edx = id;
	switch (sub) {
	case 0:
		e->eax = 0; /* no bits for threads: shift to the core level */
		e->ebx = 1;
		e->ecx = TOPO_SMT << 8 | sub;
		break;
	case 1:
		e->eax = order_of(ncpus); /* shift to the package level */
		e->ebx = ncpus;
		e->ecx = TOPO_CORE << 8 | sub;
		break;
	default:
		e->ecx = TOPO_INVALID << 8 | sub;
		break;
	}
}

/* Cache sharing in leaf 4 (Intel) or 0x8000001d (AMD) format: every cache
 * up to L2 belongs to one core, L3 is shared by the package. */
static void cache_sharing(struct kvm_cpuid_entry2 *e, unsigned int ncpus,
			  bool cores_field)
{
	unsigned int level = (e->eax >> 5) & 7;
	unsigned int sharing = level >= 3 ? ncpus - 1 : 0;

	if ((e->eax & 0x1f) == 0)
		return; /* no cache at this subleaf */
	e->eax &= ~(0xfffu << 14);
	e->eax |= (sharing & 0xfff) << 14;
	if (cores_field) {
		e->eax &= 0x03ffffffu;
		e->eax |= (min_u(ncpus, 64) - 1) << 26;
	}
}

static void patch_entry(struct kvm_cpuid_entry2 *e, unsigned int id,
			unsigned int ncpus)
{
	unsigned int core_shift = order_of(ncpus);

	switch (e->function) {
	case 1:
		/* APIC ID, addressable logical processors, HTT. */
		e->ebx = (e->ebx & 0x0000ffff) | (id << 24) |
			 (min_u(ncpus, 255) << 16);
		if (ncpus > 1)
			e->edx |= CPUID_HTT;
		else
			e->edx &= ~CPUID_HTT;
		e->ecx |= CPUID_HYPERVISOR;
		break;
	case 4:
		cache_sharing(e, ncpus, true);
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
	case 0x8000001d:
		cache_sharing(e, ncpus, false);
		break;
	case 0x8000001e:
		/* Extended APIC ID; core id, one thread per core; node 0 of
		 * one node. */
		e->eax = id;
		e->ebx = id & 0xff;
		e->ecx = 0;
		break;
	default:
		break;
	}
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported,
				  unsigned int id, unsigned int ncpus)
{
	uint32_t max_basic = 0, n = 0;
	bool has_0b = false, has_1f = false;
	struct kvm_cpuid2 *c;

	for (uint32_t i = 0; i < supported->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &supported->entries[i];

		if (e->function == 0)
			max_basic = e->eax;
		has_1f |= e->function == 0x1f;
	}
	has_0b = max_basic >= 0xb;
	has_1f &= max_basic >= 0x1f;
	c = calloc(1, sizeof(*c) + (supported->nent + 2 * TOPO_SUBLEAVES) *
					   sizeof(c->entries[0]));
	if (!c)
		return NULL;
	for (uint32_t i = 0; i < supported->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &supported->entries[i];

		/* Replaced below: KVM gives only an empty subleaf 0. */
		if (e->function == 0xb || e->function == 0x1f)
			continue;
		c->entries[n] = *e;
		patch_entry(&c->entries[n], id, ncpus);
		n++;
	}
	for (uint32_t sub = 0; sub < TOPO_SUBLEAVES; sub++) {
		if (has_0b)
			topo_subleaf(&c->entries[n++], 0xb, sub, id, ncpus);
		if (has_1f)
			topo_subleaf(&c->entries[n++], 0x1f, sub, id, ncpus);
	}
	c->nent = n;
	return c;
}

void cpuid_host_brand(uint32_t brand[12])
{
	unsigned int max = __get_cpuid_max(0x80000000u, NULL);

	memset(brand, 0, 12 * sizeof(brand[0]));
	if (max < CPUID_BRAND_LAST)
		return;
	for (unsigned int i = 0; i < 3; i++)
		__cpuid(CPUID_BRAND_FIRST + i, brand[4 * i], brand[4 * i + 1],
			brand[4 * i + 2], brand[4 * i + 3]);
}

static bool brand_present(const uint32_t brand[12])
{
	for (int i = 0; i < 12; i++)
		if (brand[i])
			return true;
	return false;
}

struct kvm_cpuid2 *cpuid_model(const struct kvm_cpuid2 *supported,
			       const struct cpuid_host *host)
{
	bool brand = false, have[3] = { false };
	struct kvm_cpuid2 *c;
	uint32_t n = supported->nent;

	/* Only where the extended leaves exist at all. */
	for (uint32_t i = 0; i < n; i++)
		if (supported->entries[i].function == 0x80000000)
			brand = brand_present(host->brand);

	c = calloc(1, sizeof(*c) + (n + 3) * sizeof(c->entries[0]));
	if (!c)
		return NULL;
	memcpy(c->entries, supported->entries, n * sizeof(c->entries[0]));
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		uint32_t b;

		if (e->function == 1 && host->tsc_deadline)
			e->ecx |= CPUID_TSC_DEADLINE;
		if (e->function == 0x80000000 && brand &&
		    e->eax < CPUID_BRAND_LAST)
			e->eax = CPUID_BRAND_LAST;
		if (!brand || e->function < CPUID_BRAND_FIRST ||
		    e->function > CPUID_BRAND_LAST)
			continue;
		b = 4 * (e->function - CPUID_BRAND_FIRST);
		*e = (struct kvm_cpuid_entry2){
			.function = e->function,
			.eax = host->brand[b],
			.ebx = host->brand[b + 1],
			.ecx = host->brand[b + 2],
			.edx = host->brand[b + 3],
		};
		have[e->function - CPUID_BRAND_FIRST] = true;
	}
	for (uint32_t i = 0; brand && i < 3; i++) {
		if (have[i])
			continue;
		c->entries[n++] = (struct kvm_cpuid_entry2){
			.function = CPUID_BRAND_FIRST + i,
			.eax = host->brand[4 * i],
			.ebx = host->brand[4 * i + 1],
			.ecx = host->brand[4 * i + 2],
			.edx = host->brand[4 * i + 3],
		};
	}
	c->nent = n;
	return c;
}

int x86_cpu_model_setup(struct kvmlite_vm *vm)
{
	struct cpuid_host host = {
		.tsc_deadline = kvm_x86_has_tsc_deadline_timer(vm->kvm_fd),
	};
	struct kvm_cpuid2 *model;

	cpuid_host_brand(host.brand);
	model = cpuid_model(vm->cpuid, &host);
	if (!model)
		return -ENOMEM;
	free(vm->cpuid);
	vm->cpuid = model;
	return 0;
}

int x86_cpuid_setup(struct kvmlite_vm *vm, struct vcpu *v)
{
	/* The whole VM's size, not the vCPUs created so far. */
	struct kvm_cpuid2 *c = cpuid_for_vcpu(vm->cpuid, v->id, vm->cfg.cpus);
	int ret = 0;

	if (!c)
		return -ENOMEM;
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}
