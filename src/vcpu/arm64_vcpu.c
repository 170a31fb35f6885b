/*
 * arm64's vCPU part of arch.h: KVM_ARM_PREFERRED_TARGET and
 * KVM_ARM_VCPU_INIT with PSCI 0.2 (vCPUs other than 0 start powered off,
 * for the guest's PSCI CPU_ON, handled in KVM), the boot CPU's entry
 * registers (booting.rst: EL1h, DAIF masked, x0 = the DTB, x1-x3 zero),
 * and the state the dump shows.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch.h"
#include "dumpbuf.h"
#include "vm.h"

const char arch_shutdown_exit_name[] = "KVM_EXIT_SHUTDOWN";

#define CORE_REG(name)                                                         \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |                 \
	 KVM_REG_ARM_CORE_REG(name))
/* PSTATE at entry: EL1 with SP_EL1 (EL1h), D, A, I and F masked. */
#define ARM64_PSTATE_EL1H 0x5ULL
#define ARM64_PSTATE_DAIF (0xfULL << 6)

static int set_reg(int fd, uint64_t id, uint64_t v)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)&v };

	return ioctl(fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

static int get_reg(int fd, uint64_t id, uint64_t *v)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)v };

	return ioctl(fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

int arch_vcpu_setup(struct kvmlite_vm *vm, struct vcpu *v, char *err,
		    size_t errlen)
{
	struct kvm_vcpu_init init;
	int ret = 0;

	memset(&init, 0, sizeof(init));
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM_ARM_PREFERRED_TARGET: %s",
			 strerror(errno));
		return ret;
	}
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (v->id != 0)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM_ARM_VCPU_INIT on vCPU %u: %s", v->id,
			 strerror(errno));
		return ret;
	}
	if (v->id != 0)
		return 0;
	ret = set_reg(v->fd, CORE_REG(regs.pstate),
		      ARM64_PSTATE_EL1H | ARM64_PSTATE_DAIF);
	if (!ret)
		ret = set_reg(v->fd, CORE_REG(regs.regs[0]),
			      vm->boot.boot_param);
	for (unsigned int i = 1; i < 4 && !ret; i++)
		ret = set_reg(v->fd, CORE_REG(regs.regs[i]), 0);
	if (!ret)
		ret = set_reg(v->fd, CORE_REG(regs.pc), vm->boot.entry);
	if (ret)
		snprintf(err, errlen, "vCPU 0 boot state: %s", strerror(-ret));
	return ret;
}

void arch_vcpu_state_read(struct vcpu *v, struct vcpu_snapshot *s)
{
	int ret = get_reg(v->fd, CORE_REG(regs.pc), &s->pc);

	if (!ret)
		ret = get_reg(v->fd, CORE_REG(sp_el1), &s->sp);
	if (!ret)
		ret = get_reg(v->fd, CORE_REG(regs.pstate), &s->pstate);
	if (!ret)
		ret = get_reg(v->fd, CORE_REG(regs.regs[0]), &s->x0);
	if (ret) {
		s->err = ret;
		return;
	}
	/* The timer apart: a dump with it missing still shows the rest. */
	ret = get_reg(v->fd, KVM_REG_ARM_TIMER_CTL, &s->tmr_ctl);
	if (!ret)
		ret = get_reg(v->fd, KVM_REG_ARM_TIMER_CVAL, &s->tmr_cval);
	if (!ret)
		ret = get_reg(v->fd, KVM_REG_ARM_TIMER_CNT, &s->tmr_cnt);
	s->tmr_err = ret;
}

void arch_vcpu_state_dump(unsigned int id, const struct vcpu_snapshot *s,
			  double age_ms, struct dumpbuf *b)
{
	dumpbuf_printf(b,
		       "vcpu%u: read %.1f ms ago: mp_state=%s pc=0x%llx "
		       "sp_el1=0x%llx pstate=0x%llx x0=0x%llx\n",
		       id, age_ms, vcpu_mp_state_name(s->mp.mp_state),
		       (unsigned long long)s->pc, (unsigned long long)s->sp,
		       (unsigned long long)s->pstate,
		       (unsigned long long)s->x0);
	if (s->tmr_err) {
		dumpbuf_printf(b, "vcpu%u: vtimer: unreadable: %s\n", id,
			       strerror(-s->tmr_err));
		return;
	}
	/* CTL: ENABLE bit 0, IMASK bit 1, ISTATUS bit 2. due: CVAL <= CNT,
	 * so its line is up (when enabled, unmasked): a vCPU in WFI with a
	 * due timer for long is a wake-up that did not happen. */
	dumpbuf_printf(b,
		       "vcpu%u: vtimer: ctl=0x%llx%s%s%s cval=0x%llx cnt=0x%llx "
		       "due=%s\n",
		       id, (unsigned long long)s->tmr_ctl,
		       (s->tmr_ctl & 1) ? " enabled" : " disabled",
		       (s->tmr_ctl & 2) ? " masked" : "",
		       (s->tmr_ctl & 4) ? " istatus" : "",
		       (unsigned long long)s->tmr_cval,
		       (unsigned long long)s->tmr_cnt,
		       s->tmr_cval <= s->tmr_cnt ? "yes" : "no");
}

void arch_regs_dump(struct vcpu *v, char *buf, size_t len)
{
	struct vcpu_snapshot s;

	memset(&s, 0, sizeof(s));
	arch_vcpu_state_read(v, &s);
	if (s.err)
		snprintf(buf, len, "registers unreadable: %s",
			 strerror(-s.err));
	else
		snprintf(buf, len, "pc=0x%llx sp_el1=0x%llx pstate=0x%llx",
			 (unsigned long long)s.pc, (unsigned long long)s.sp,
			 (unsigned long long)s.pstate);
}
