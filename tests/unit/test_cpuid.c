/*
 * Per-vCPU CPUID over a whole VM: every vCPU must describe the same
 * machine, one package of N cores, as Linux decodes it.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "vcpu/x86_cpuid.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* KVM_GET_SUPPORTED_CPUID as an AMD EPYC host's KVM returned it (the
 * leaves that matter here): 0xb has only an empty subleaf 0. */
static const struct kvm_cpuid_entry2 amd_host[] = {
	{ .function = 0, .eax = 0x10, .ebx = 0x68747541 },
	{ .function = 1,
	  .eax = 0x00a00f11,
	  .ebx = 0x01020800,
	  .ecx = 0x81202000,
	  .edx = 0x078bfbff },
	{ .function = 4, .flags = SIG },
	{ .function = 0xb, .flags = SIG, .edx = 1 },
	{ .function = 0xd, .flags = SIG, .eax = 0x207 },
	{ .function = 0x80000000, .eax = 0x80000022 },
	{ .function = 0x80000001,
	  .eax = 0x00a00f11,
	  .ebx = 0x40000000,
	  .ecx = 0x00400393,
	  .edx = 0x23d3fbff },
	{ .function = 0x80000008,
	  .eax = 0x3030,
	  .ebx = 0x110ad205,
	  .ecx = 0x7001 },
	{ .function = 0x8000001d, .index = 0, .flags = SIG, .eax = 0x121 },
	{ .function = 0x8000001d, .index = 1, .flags = SIG, .eax = 0x122 },
	{ .function = 0x8000001d, .index = 2, .flags = SIG, .eax = 0x143 },
	{ .function = 0x8000001d, .index = 3, .flags = SIG, .eax = 0x4163 },
	{ .function = 0x8000001d, .index = 4, .flags = SIG },
	{ .function = 0x8000001e },
};

/* An Intel-style list: leaf 4 caches, 0xb and 0x1f subleaf 0 only. */
static const struct kvm_cpuid_entry2 intel_host[] = {
	{ .function = 0, .eax = 0x1f, .ebx = 0x756e6547 },
	{ .function = 1, .eax = 0x806f8, .ebx = 0x00400800, .edx = 0x1f8bfbff },
	{ .function = 4, .index = 0, .flags = SIG, .eax = 0x1c004121 },
	{ .function = 4, .index = 1, .flags = SIG, .eax = 0x1c004122 },
	{ .function = 4, .index = 2, .flags = SIG, .eax = 0x1c01c143 },
	{ .function = 4, .index = 3, .flags = SIG, .eax = 0x1c3fc163 },
	{ .function = 4, .index = 4, .flags = SIG },
	{ .function = 0xb, .flags = SIG },
	{ .function = 0x1f, .flags = SIG },
	{ .function = 0x80000000, .eax = 0x80000008 },
	{ .function = 0x80000008, .eax = 0x3030 },
};

static struct kvm_cpuid2 *list(const struct kvm_cpuid_entry2 *e, size_t n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(e[0]));

	c->nent = (uint32_t)n;
	memcpy(c->entries, e, n * sizeof(e[0]));
	return c;
}

/* What CPUID returns in the guest: KVM matches the index only for leaves
 * flagged significant, and returns zeros for anything not in the table. */
static struct kvm_cpuid_entry2 cpuid(const struct kvm_cpuid2 *c, uint32_t fn,
				     uint32_t idx)
{
	struct kvm_cpuid_entry2 none = { 0 };

	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == fn && (!(e->flags & SIG) || e->index == idx))
			return *e;
	}
	return none;
}

struct topo {
	unsigned int apic_id;
	unsigned int pkg_id;
	unsigned int core_id;
	unsigned int cores; /* at the core level */
};

/* Linux's detect_extended_topology() on leaf @fn. */
static bool decode_ext(const struct kvm_cpuid2 *c, uint32_t fn, struct topo *t)
{
	struct kvm_cpuid_entry2 e = cpuid(c, fn, 0);
	unsigned int ht_shift, core_shift = 0, cores = 0;

	if (!e.ebx || ((e.ecx >> 8) & 0xff) != 1)
		return false;
	ht_shift = e.eax & 0x1f;
	t->apic_id = e.edx;
	core_shift = ht_shift;
	for (uint32_t sub = 1; sub < 8; sub++) {
		e = cpuid(c, fn, sub);
		if (((e.ecx >> 8) & 0xff) == 0)
			break;
		ck_assert_uint_eq(e.edx, t->apic_id);
		if (((e.ecx >> 8) & 0xff) == 2) {
			core_shift = e.eax & 0x1f;
			cores = e.ebx & 0xffff;
		}
	}
	t->pkg_id = t->apic_id >> core_shift;
	t->core_id = (t->apic_id & ((1u << core_shift) - 1)) >> ht_shift;
	t->cores = cores;
	return true;
}

static void check_vm(const struct kvm_cpuid_entry2 *host, size_t n,
		     unsigned int ncpus, bool amd)
{
	struct kvm_cpuid2 *sup = list(host, n);
	struct kvm_cpuid2 before;
	bool *seen = calloc(256, sizeof(*seen));

	memcpy(&before, sup, sizeof(before));
	for (unsigned int id = 0; id < ncpus; id++) {
		struct kvm_cpuid2 *c = cpuid_for_vcpu(sup, id, ncpus);
		struct kvm_cpuid_entry2 e;
		struct topo t;

		ck_assert_ptr_nonnull(c);
		/* leaf 1: initial APIC ID, logical count, HTT, hypervisor. */
		e = cpuid(c, 1, 0);
		ck_assert_uint_eq(e.ebx >> 24, id);
		ck_assert_uint_eq((e.ebx >> 16) & 0xff, ncpus);
		ck_assert_uint_eq(!!(e.edx & (1u << 28)), ncpus > 1);
		ck_assert(e.ecx & (1u << 31));
		/* 0xb (and 0x1f where the host has it): one package. */
		ck_assert(decode_ext(c, 0xb, &t));
		ck_assert_uint_eq(t.apic_id, id);
		ck_assert_uint_eq(t.pkg_id, 0);
		ck_assert_uint_eq(t.core_id, id);
		ck_assert_uint_eq(t.cores, ncpus);
		ck_assert(!seen[t.apic_id]);
		seen[t.apic_id] = true;
		if (!amd) {
			struct topo t1f;

			ck_assert(decode_ext(c, 0x1f, &t1f));
			ck_assert_mem_eq(&t, &t1f, sizeof(t));
			/* leaf 4: cores per package; L1/L2 per core, L3
			 * shared by all. */
			for (uint32_t sub = 0; sub < 4; sub++) {
				e = cpuid(c, 4, sub);
				ck_assert_uint_eq((e.eax >> 26) + 1, ncpus);
				ck_assert_uint_eq(((e.eax >> 14) & 0xfff) + 1,
						  sub == 3 ? ncpus : 1);
				/* Geometry untouched. */
				ck_assert_uint_eq(e.eax & 0x3fff,
						  host[2 + sub].eax & 0x3fff);
			}
		} else {
			/* AMD: NC and the APIC ID core bits. */
			e = cpuid(c, 0x80000008, 0);
			ck_assert_uint_eq((e.ecx & 0xff) + 1, ncpus);
			ck_assert_uint_ge(1u << ((e.ecx >> 12) & 0xf), ncpus);
			ck_assert_uint_eq(id >> ((e.ecx >> 12) & 0xf), 0);
			e = cpuid(c, 0x80000001, 0);
			ck_assert_uint_eq(!!(e.ecx & 2), ncpus > 1);
			for (uint32_t sub = 0; sub < 4; sub++) {
				e = cpuid(c, 0x8000001d, sub);
				ck_assert_uint_eq(((e.eax >> 14) & 0xfff) + 1,
						  sub == 3 ? ncpus : 1);
			}
			e = cpuid(c, 0x8000001e, 0);
			ck_assert_uint_eq(e.eax, id);
			ck_assert_uint_eq(e.ebx & 0xff, id);
			ck_assert_uint_eq((e.ebx >> 8) & 0xff, 0);
			ck_assert_uint_eq(e.ecx, 0);
		}
		free(c);
	}
	/* The supported list is left as it was. */
	ck_assert_mem_eq(&before, sup, sizeof(before));
	ck_assert_mem_eq(sup->entries, host, n * sizeof(host[0]));
	free(seen);
	free(sup);
}

static const unsigned int sizes[] = { 1, 2, 3, 4, 8, 64 };

START_TEST(amd_vm)
{
	check_vm(amd_host, sizeof(amd_host) / sizeof(amd_host[0]), sizes[_i],
		 true);
}
END_TEST

START_TEST(intel_vm)
{
	check_vm(intel_host, sizeof(intel_host) / sizeof(intel_host[0]),
		 sizes[_i], false);
}
END_TEST

/* A host whose basic leaves stop before 0xb gets no 0xb added. */
START_TEST(old_host)
{
	static const struct kvm_cpuid_entry2 old[] = {
		{ .function = 0, .eax = 0xa },
		{ .function = 1, .ebx = 0x800 },
	};
	struct kvm_cpuid2 *sup = list(old, 2);
	struct kvm_cpuid2 *c = cpuid_for_vcpu(sup, 1, 2);

	ck_assert_uint_eq(c->nent, 2);
	ck_assert_uint_eq(cpuid(c, 1, 0).ebx >> 24, 1);
	ck_assert_uint_eq(cpuid(c, 0xb, 0).ebx, 0);
	free(c);
	free(sup);
}
END_TEST

static const char brand_text[48] = "AMD EPYC 7B13 64-Core Processor";

static struct cpuid_host host_with(bool tsc_deadline, bool brand)
{
	struct cpuid_host h = { .tsc_deadline = tsc_deadline };

	if (brand)
		memcpy(h.brand, brand_text, sizeof(h.brand));
	return h;
}

/* The guest's brand string, read as Linux's get_model_name() does. */
static void guest_brand(const struct kvm_cpuid2 *c, char out[49])
{
	for (uint32_t i = 0; i < 3; i++) {
		struct kvm_cpuid_entry2 e = cpuid(c, 0x80000002 + i, 0);
		uint32_t r[4] = { e.eax, e.ebx, e.ecx, e.edx };

		memcpy(out + 16 * i, r, 16);
	}
	out[48] = '\0';
}

/* KVM (6.1) lists 0x80000002-4 as zeros: the model fills them from the
 * host, as QEMU's -cpu host does, and adds the TSC-deadline timer. */
START_TEST(model_adds_deadline_and_brand)
{
	struct kvm_cpuid_entry2
		host[sizeof(amd_host) / sizeof(amd_host[0]) + 2];
	size_t n = sizeof(amd_host) / sizeof(amd_host[0]);
	struct cpuid_host h = host_with(true, true);
	struct kvm_cpuid2 *sup, *m;
	char name[49];

	memcpy(host, amd_host, sizeof(amd_host));
	/* KVM's empty 0x80000002; no 0x80000003/4 at all. */
	host[n++] = (struct kvm_cpuid_entry2){ .function = 0x80000002 };
	sup = list(host, n);
	m = cpuid_model(sup, &h);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(cpuid(m, 1, 0).ecx, amd_host[1].ecx | (1u << 24));
	ck_assert_uint_eq(cpuid(m, 1, 0).edx, amd_host[1].edx);
	ck_assert_uint_eq(cpuid(m, 0x80000000, 0).eax, 0x80000022);
	guest_brand(m, name);
	ck_assert_str_eq(name, brand_text);
	ck_assert_uint_eq(m->nent, n + 2);
	free(m);
	free(sup);
}
END_TEST

/* Without KVM_CAP_TSC_DEADLINE_TIMER or a host brand string, nothing is
 * added; a host whose extended leaves stop early gets them raised. */
START_TEST(model_without_extras)
{
	static const struct kvm_cpuid_entry2 low[] = {
		{ .function = 0, .eax = 0xd },
		{ .function = 1, .ecx = 0x80000000 },
		{ .function = 0x80000000, .eax = 0x80000001 },
		{ .function = 0x80000001, .ecx = 1 },
	};
	struct kvm_cpuid2 *sup = list(low, 4), *m;
	struct cpuid_host h = host_with(false, false);
	char name[49];

	m = cpuid_model(sup, &h);
	ck_assert_uint_eq(m->nent, 4);
	ck_assert_mem_eq(m->entries, low, sizeof(low));
	free(m);
	h = host_with(false, true);
	m = cpuid_model(sup, &h);
	ck_assert_uint_eq(m->nent, 7);
	ck_assert_uint_eq(cpuid(m, 0x80000000, 0).eax, 0x80000004);
	ck_assert_uint_eq(cpuid(m, 1, 0).ecx, 0x80000000);
	guest_brand(m, name);
	ck_assert_str_eq(name, brand_text);
	free(m);
	free(sup);
}
END_TEST

/* The leaves kvmlite changes, pinned: any other leaf the guest reads is
 * KVM's, word for word (0x40000000-1: KVM's signature and features, so
 * kvm-clock; 7, 0xd: features and XSAVE). */
START_TEST(model_changes_only_these_leaves)
{
	static const uint32_t changed[] = {
		1,	    0x4,	0xb,	    0x1f,
		0x80000000, 0x80000001, 0x80000002, 0x80000003,
		0x80000004, 0x80000008, 0x8000001d, 0x8000001e
	};
	struct kvm_cpuid_entry2
		host[sizeof(amd_host) / sizeof(amd_host[0]) + 4];
	size_t n = sizeof(amd_host) / sizeof(amd_host[0]);
	struct cpuid_host h = host_with(true, true);
	struct kvm_cpuid2 *sup, *m, *c;

	memcpy(host, amd_host, sizeof(amd_host));
	host[n++] = (struct kvm_cpuid_entry2){ .function = 0x40000000,
					       .eax = 0x40000001,
					       .ebx = 0x4b4d564b,
					       .ecx = 0x564b4d56,
					       .edx = 0x4d };
	host[n++] = (struct kvm_cpuid_entry2){ .function = 0x40000001,
					       .eax = 0x01007afb };
	host[n++] = (struct kvm_cpuid_entry2){ .function = 7,
					       .flags = SIG,
					       .ebx = 0x219c91a9 };
	sup = list(host, n);
	m = cpuid_model(sup, &h);
	c = cpuid_for_vcpu(m, 1, 2);
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		struct kvm_cpuid_entry2 kvm;
		bool listed = false;

		for (size_t k = 0; k < sizeof(changed) / sizeof(changed[0]);
		     k++)
			listed |= e->function == changed[k];
		if (listed)
			continue;
		/* Unchanged: the same entry is in KVM's list. */
		kvm = cpuid(sup, e->function, e->index);
		ck_assert_msg(!memcmp(e, &kvm, sizeof(kvm)),
			      "leaf 0x%x.%u changed", e->function, e->index);
	}
	ck_assert_uint_eq(cpuid(c, 0x40000000, 0).ebx, 0x4b4d564b);
	ck_assert_uint_eq(cpuid(c, 0x40000001, 0).eax, 0x01007afb);
	free(c);
	free(m);
	free(sup);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cpuid");
	TCase *tc = tcase_create("core");
	int n = (int)(sizeof(sizes) / sizeof(sizes[0]));

	tcase_add_loop_test(tc, amd_vm, 0, n);
	tcase_add_loop_test(tc, intel_vm, 0, n);
	tcase_add_test(tc, old_host);
	tcase_add_test(tc, model_adds_deadline_and_brand);
	tcase_add_test(tc, model_without_extras);
	tcase_add_test(tc, model_changes_only_these_leaves);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
