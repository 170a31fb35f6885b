/*
 * The special registers a snapshot's vCPU is given back: TR as SVM's
 * KVM_GET_SREGS reports it (busy) goes back available on an AMD or Hygon
 * host, where QEMU's emulated SVM refuses a user-mode in/out otherwise,
 * and stays busy on an Intel host, whose VM entry needs it so.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "vcpu/x86_state.h"

static struct kvm_cpuid2 *vendor(uint32_t ebx, uint32_t edx, uint32_t ecx)
{
	struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + 2 * sizeof(c->entries[0]));

	ck_assert_ptr_nonnull(c);
	c->nent = 2;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1 };
	c->entries[1] = (struct kvm_cpuid_entry2){
		.function = 0, .eax = 0x10, .ebx = ebx, .edx = edx, .ecx = ecx
	};
	return c;
}

static struct kvm_sregs busy_tr(void)
{
	struct kvm_sregs s;

	memset(&s, 0, sizeof(s));
	s.tr = (struct kvm_segment){ .base = 0xfffffe0000003000,
				     .limit = 0x4087,
				     .selector = 0x40,
				     .type = 11,
				     .present = 1 };
	s.cs.type = 11; /* code, not TR: never touched */
	return s;
}

static void check(struct kvm_cpuid2 *c, unsigned int want_type)
{
	struct kvm_sregs s = busy_tr(), before = s;

	x86_sregs_for_set(&s, c);
	ck_assert_uint_eq(s.tr.type, want_type);
	before.tr.type = (uint8_t)want_type;
	ck_assert_mem_eq(&s, &before, sizeof(s));
	free(c);
}

START_TEST(amd_available)
{
	check(vendor(0x68747541, 0x69746e65, 0x444d4163), 9);
}
END_TEST

START_TEST(hygon_available)
{
	check(vendor(0x6f677948, 0x6e65476e, 0x656e6975), 9);
}
END_TEST

START_TEST(intel_busy)
{
	check(vendor(0x756e6547, 0x49656e69, 0x6c65746e), 11);
}
END_TEST

START_TEST(no_leaf0_busy)
{
	struct kvm_cpuid2 *c = vendor(0x68747541, 0x69746e65, 0x444d4163);

	c->nent = 1; /* leaf 1 only */
	check(c, 11);
}
END_TEST

START_TEST(available_stays)
{
	struct kvm_sregs s = busy_tr();
	struct kvm_cpuid2 *c = vendor(0x756e6547, 0x49656e69, 0x6c65746e);

	s.tr.type = 9;
	x86_sregs_for_set(&s, c);
	ck_assert_uint_eq(s.tr.type, 9);
	free(c);
}
END_TEST

/* What KVM on AMD leaves in a vCPU after KVM_EXIT_SHUTDOWN. */
static void power_on(struct kvm_regs *r, struct kvm_sregs *s)
{
	memset(r, 0, sizeof(*r));
	memset(s, 0, sizeof(*s));
	r->rip = 0xfff0;
	r->rflags = 0x2;
	s->cs.selector = 0xf000;
	s->cs.base = 0xffff0000;
	s->cr0 = 0x60000010;
}

START_TEST(crash_regs_power_on_noted)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	char buf[1200];

	power_on(&r, &s);
	x86_regs_format(&r, &s, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "rip=000000000000fff0"));
	ck_assert_ptr_nonnull(strstr(buf, "(the power-on state: KVM on AMD"));
}
END_TEST

START_TEST(crash_regs_guest_state_not_noted)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	char buf[1200];

	/* A kernel's long-mode state. */
	power_on(&r, &s);
	r.rip = 0xffffffff81a5a4d8;
	s.cs.selector = 0x10;
	s.cs.base = 0;
	s.cr0 = 0x80050033;
	s.efer = 0xd01;
	x86_regs_format(&r, &s, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "rip=ffffffff81a5a4d8"));
	ck_assert_ptr_null(strstr(buf, "power-on"));
	/* Real mode at the reset vector's offset, another CS: a guest's. */
	power_on(&r, &s);
	s.cs.selector = 0x1000;
	s.cs.base = 0x10000;
	x86_regs_format(&r, &s, buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "power-on"));
	/* Too small a buffer: truncated, no note, no overrun. */
	power_on(&r, &s);
	x86_regs_format(&r, &s, buf, 40);
	ck_assert_uint_eq(strlen(buf), 39);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("x86_sregs");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, amd_available);
	tcase_add_test(tc, hygon_available);
	tcase_add_test(tc, intel_busy);
	tcase_add_test(tc, no_leaf0_busy);
	tcase_add_test(tc, available_stays);
	tcase_add_test(tc, crash_regs_power_on_noted);
	tcase_add_test(tc, crash_regs_guest_state_not_noted);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
