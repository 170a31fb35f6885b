/* x86's part of a snapshot (arch.h): the PICs, IOAPIC, PIT and clock
 * (kvm_x86.c) and each vCPU's registers, MSRs, XSAVE and CPUID
 * (vcpu/x86_state.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "err.h"
#include "kvm.h"
#include "snapfile.h"
#include "vcpu/x86_cpuid.h"
#include "vcpu/x86_state.h"
#include "vm.h"

const bool arch_snapshots_supported = true;

struct arch_cpu_state {
	struct x86_vcpu_state *st; /* one per vCPU */
	struct kvm_x86_vm_state vs;
};

int arch_snapshot_save(struct kvmlite_vm *vm, struct snap_writer *w, char *err,
		       size_t errlen)
{
	struct snapshots *s = &vm->snaps;
	int ret;

	if (!s->msrs) {
		ret = kvm_x86_msr_index_list(vm->kvm_fd, &s->msrs, &s->nr_msrs);
		if (ret)
			return err_fmt(err, errlen, ret,
				       "KVM_GET_MSR_INDEX_LIST: %s",
				       strerror(-ret));
		s->xsave_bytes = kvm_x86_xsave_size(vm->vm_fd);
	}
	snap_begin(w, SNAP_VM, 0);
	ret = kvm_x86_vm_state_save(vm->vm_fd, w, err, errlen);
	snap_end(w);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct kvm_cpuid2 *c =
			cpuid_for_vcpu(vm->cpuid, i, vm->nr_vcpus);

		if (!c)
			return err_fmt(err, errlen, -ENOMEM, "out of memory");
		snap_begin(w, SNAP_VCPU, i);
		ret = x86_vcpu_save(&vm->vcpus[i], c, s->msrs, s->nr_msrs,
				    s->xsave_bytes, w, err, errlen);
		snap_end(w);
		free(c);
		if (ret)
			return ret;
	}
	return 0;
}

int arch_snapshot_decode(struct kvmlite_vm *vm, const struct snapfile *f,
			 bool in_place, struct arch_cpu_state **out, char *err,
			 size_t errlen)
{
	struct arch_cpu_state *cs;
	struct snap_reader r;
	int ret = 0;

	*out = NULL;
	cs = calloc(1, sizeof(*cs));
	if (cs)
		cs->st = calloc(vm->nr_vcpus, sizeof(*cs->st));
	if (!cs || !cs->st) {
		free(cs);
		return err_fmt(err, errlen, -ENOMEM, "out of memory");
	}
	*out = cs;
	for (unsigned int i = 0; i < vm->nr_vcpus && !ret; i++) {
		if (snapfile_section(f, SNAP_VCPU, i, &r) ||
		    x86_vcpu_state_decode(&r, &cs->st[i]) || cs->st[i].id != i)
			ret = err_fmt(err, errlen, -EINVAL,
				      "the section of vCPU %u is missing or "
				      "invalid",
				      i);
	}
	for (unsigned int i = 0; i < vm->nr_vcpus && !ret && !in_place; i++) {
		struct kvm_cpuid2 *c =
			cpuid_for_vcpu(vm->cpuid, i, vm->nr_vcpus);

		ret = c ? x86_vcpu_cpuid_matches(&cs->st[i], c, err, errlen)
			: err_fmt(err, errlen, -ENOMEM, "out of memory");
		free(c);
	}
	if (!ret && (snapfile_section(f, SNAP_VM, 0, &r) ||
		     kvm_x86_vm_state_decode(&r, &cs->vs)))
		ret = err_fmt(err, errlen, -EINVAL,
			      "the VM section is missing or invalid");
	return ret;
}

int arch_snapshot_apply(struct kvmlite_vm *vm, struct arch_cpu_state *cs,
			char *err, size_t errlen)
{
	int ret = kvm_x86_vm_state_apply(vm->vm_fd, &cs->vs, err, errlen);

	for (unsigned int i = 0; i < vm->nr_vcpus && !ret; i++)
		ret = x86_vcpu_state_apply(&vm->vcpus[i], &cs->st[i], err,
					   errlen);
	return ret;
}

void arch_snapshot_free(struct kvmlite_vm *vm, struct arch_cpu_state *cs)
{
	if (!cs)
		return;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		x86_vcpu_state_free(&cs->st[i]);
	free(cs->st);
	free(cs);
}
