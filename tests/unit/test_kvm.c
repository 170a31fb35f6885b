/*
 * kvm.c on plain fds: errors come back as negative errnos (a file that is
 * not KVM, a closed fd), a capability table is checked as it says, and, where
 * /dev/kvm is usable, a VM is made, its interrupt lines driven and its IOAPIC
 * read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm.h"
#include "unit.h"

START_TEST(not_kvm)
{
	struct kvm_ioapic_state io;
	int fd = open("/dev/null", O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(kvm_irq_line(fd, 4, 1), -ENOTTY);
	ck_assert_int_eq(kvm_ioeventfd(fd, 0xd0000050, 4, 0, fd), -ENOTTY);
	ck_assert_int_eq(kvm_irqfd(fd, fd, 5), -ENOTTY);
	ck_assert_int_eq(kvm_x86_get_ioapic(fd, &io), -ENOTTY);
	ck_assert_int_eq(kvm_create_vcpu(fd, 0), -ENOTTY);
	ck_assert_int_lt(kvm_vcpu_mmap_size(fd), 0);
	close(fd);
	ck_assert_int_eq(kvm_irq_line(-1, 4, 1), -EBADF);
}
END_TEST

/* A capability table: the first required one lacking fails, named;
 * optional ones only show in the mask. /dev/null has none of them. */
START_TEST(check_caps_table)
{
	static const struct kvm_cap optional[] = {
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", false },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", false },
	};
	static const struct kvm_cap mixed[] = {
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", false },
		{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", true },
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", true },
	};
	uint64_t have = ~0ULL;
	char err[256] = "";
	int fd = open("/dev/null", O_RDWR), kvm;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(
		kvm_check_caps(fd, optional, 2, &have, err, sizeof(err)), 0);
	ck_assert_uint_eq(have, 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(kvm_check_caps(fd, mixed, 3, NULL, err, sizeof(err)),
			 -ENODEV);
	ck_assert_str_eq(
		err, "/dev/kvm lacks required capability KVM_CAP_IOEVENTFD");
	close(fd);
	if (kvm_open(&kvm, err, sizeof(err)))
		return; /* no usable /dev/kvm: the rest needs one */
	ck_assert_int_eq(
		kvm_check_caps(kvm, optional, 2, &have, err, sizeof(err)), 0);
	ck_assert_uint_eq(have, 3); /* kvm_open() checked both */
	close(kvm);
}
END_TEST

START_TEST(hw_virt_matches_cpuinfo)
{
	char line[4096];
	bool flags = false, hw = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		flags = true;
		hw |= strstr(line, " vmx") || strstr(line, " svm");
	}
	fclose(f);
	ck_assert_int_eq(kvm_host_lacks_hw_virt(), flags && !hw);
}
END_TEST

START_TEST(a_vm)
{
	struct guest_mem m;
	struct kvm_ioapic_state io;
	struct kvm_cpuid2 *cpuid = NULL;
	char err[256];
	int kvm, vm, vcpu, ev;

	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr,
			"test_kvm: no usable /dev/kvm: VM part not run\n");
		return;
	}
	ck_assert_int_eq(kvm_open(&kvm, err, sizeof(err)), 0);
	ck_assert_int_eq(guest_mem_init(&m, 16 << 20), 0);
	ck_assert_int_eq(kvm_create_vm(kvm, 1, &m, &vm, err, sizeof(err)), 0);
	ck_assert_int_eq(kvm_x86_supported_cpuid(kvm, &cpuid), 0);
	ck_assert_uint_gt(cpuid->nent, 0);
	ck_assert_int_eq(kvm_irq_line(vm, 4, 1), 0);
	ck_assert_int_eq(kvm_x86_get_ioapic(vm, &io), 0);
	ck_assert(io.irr & (1u << 4)); /* line 4 high */
	ck_assert_int_eq(kvm_irq_line(vm, 4, 0), 0);
	ev = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_eq(kvm_ioeventfd(vm, 0xd0000050, 4, 0, ev), 0);
	ck_assert_int_eq(kvm_irqfd(vm, ev, 5), 0);
	vcpu = kvm_create_vcpu(vm, 0);
	ck_assert_int_ge(vcpu, 0);
	ck_assert_int_ge(kvm_vcpu_mmap_size(kvm), (int)sizeof(struct kvm_run));
	/* More vCPUs than KVM has: refused with a reason. */
	close(vcpu);
	close(ev);
	close(vm);
	ck_assert_int_eq(kvm_create_vm(kvm, 100000, &m, &vm, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "supports at most"));
	free(cpuid);
	guest_mem_free(&m);
	close(kvm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kvm");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, not_kvm);
	tcase_add_test(tc, check_caps_table);
	tcase_add_test(tc, hw_virt_matches_cpuinfo);
	tcase_add_test(tc, a_vm);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
