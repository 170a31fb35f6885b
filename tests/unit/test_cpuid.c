/* Per-vCPU CPUID patching: APIC IDs and topology. */
#include <stdlib.h>

#include "unit.h"
#include "vcpu/cpuid.h"

static struct kvm_cpuid2 *make(void)
{
	static const struct kvm_cpuid_entry2 e[] = {
		{ .function = 1,
		  .eax = 0x800f12,
		  .ebx = 0x0000800,
		  .ecx = 0x1,
		  .edx = 0x178bfbff },
		{ .function = 4, .index = 0, .eax = 0x121 },
		{ .function = 4, .index = 3, .eax = 0x163 },
		{ .function = 0xb, .index = 0 },
		{ .function = 0xb, .index = 1 },
		{ .function = 0xb, .index = 2 },
		{ .function = 0x80000008, .ecx = 0x7007 },
		{ .function = 0x80000001 },
	};
	size_t n = sizeof(e) / sizeof(e[0]);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(e[0]));

	c->nent = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		c->entries[i] = e[i];
	return c;
}

START_TEST(apic_ids_and_topology)
{
	struct kvm_cpuid2 *c = make();

	cpuid_patch(c, 3, 4);
	/* leaf 1: APIC ID 3, 4 logical CPUs, HTT, hypervisor bit. */
	ck_assert_uint_eq(c->entries[0].ebx >> 24, 3);
	ck_assert_uint_eq((c->entries[0].ebx >> 16) & 0xff, 4);
	ck_assert_uint_eq(c->entries[0].ebx & 0xffff, 0x0800);
	ck_assert(c->entries[0].edx & (1u << 28));
	ck_assert(c->entries[0].ecx & (1u << 31));
	/* leaf 4: cores per package - 1 = 3; L3 shared by all 4. */
	ck_assert_uint_eq(c->entries[1].eax >> 26, 3);
	ck_assert_uint_eq((c->entries[1].eax >> 14) & 0xfff, 0);
	ck_assert_uint_eq((c->entries[2].eax >> 14) & 0xfff, 3);
	ck_assert_uint_eq(c->entries[2].eax & 0x3fff, 0x163);
	/* leaf 0xb: x2APIC id everywhere, 1 thread, 4 cores (shift 2). */
	ck_assert_uint_eq(c->entries[3].edx, 3);
	ck_assert_uint_eq(c->entries[3].ebx, 1);
	ck_assert_uint_eq((c->entries[3].ecx >> 8) & 0xff, 1);
	ck_assert_uint_eq(c->entries[4].eax, 2);
	ck_assert_uint_eq(c->entries[4].ebx, 4);
	ck_assert_uint_eq((c->entries[4].ecx >> 8) & 0xff, 2);
	ck_assert_uint_eq((c->entries[5].ecx >> 8) & 0xff, 0);
	ck_assert_uint_eq(c->entries[6].ecx & 0xff, 3);
	ck_assert(c->entries[7].ecx & 2);
	free(c);
}
END_TEST

START_TEST(single_cpu)
{
	struct kvm_cpuid2 *c = make();

	c->entries[0].edx |= 1u << 28;
	cpuid_patch(c, 0, 1);
	ck_assert_uint_eq(c->entries[0].ebx >> 24, 0);
	ck_assert(!(c->entries[0].edx & (1u << 28)));
	ck_assert_uint_eq(c->entries[4].ebx, 1);
	ck_assert_uint_eq(c->entries[4].eax, 0);
	ck_assert_uint_eq(c->entries[6].ecx & 0xff, 0);
	free(c);
}
END_TEST

START_TEST(non_power_of_two)
{
	struct kvm_cpuid2 *c = make();

	cpuid_patch(c, 2, 3);
	ck_assert_uint_eq(c->entries[4].eax, 2); /* 3 cores need 2 bits */
	ck_assert_uint_eq((c->entries[6].ecx >> 12) & 0xf, 2);
	free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cpuid");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, apic_ids_and_topology);
	tcase_add_test(tc, single_cpu);
	tcase_add_test(tc, non_power_of_two);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
