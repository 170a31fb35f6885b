/* x86's vCPU part of arch.h: set-up (x86_cpuid.c, x86_regs.c) and the
 * state the dump shows. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch.h"
#include "dumpbuf.h"
#include "vm.h"

const char arch_shutdown_exit_name[] = "triple fault (KVM_EXIT_SHUTDOWN)";

int arch_vcpu_setup(struct kvmlite_vm *vm, struct vcpu *v, char *err,
		    size_t errlen)
{
	int ret;

	ret = x86_cpuid_setup(vm, v);
	if (ret) {
		snprintf(err, errlen, "KVM_SET_CPUID2 on vCPU %u: %s", v->id,
			 strerror(-ret));
		return ret;
	}
	ret = x86_regs_setup_common(vm, v);
	if (ret) {
		snprintf(err, errlen, "vCPU %u register setup: %s", v->id,
			 strerror(-ret));
		return ret;
	}
	/* Secondary vCPUs wait for INIT/SIPI from the guest. */
	if (v->id == 0) {
		ret = x86_regs_setup_boot(vm, v);
		if (ret) {
			snprintf(err, errlen, "vCPU 0 boot state: %s",
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void arch_vcpu_state_read(struct vcpu *v, struct vcpu_snapshot *s)
{
	s->if_flag = v->run->if_flag;
	if (ioctl(v->fd, KVM_GET_REGS, &s->regs) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s->sregs) < 0 ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &s->ev) < 0 ||
	    ioctl(v->fd, KVM_GET_LAPIC, &s->lapic) < 0)
		s->err = -errno;
}

void arch_regs_dump(struct vcpu *v, char *buf, size_t len)
{
	x86_regs_dump(v, buf, len);
}

static uint32_t lapic_reg(const struct kvm_lapic_state *l, unsigned int off)
{
	uint32_t v;

	memcpy(&v, l->regs + off, 4);
	return v;
}

/* The vectors set in the 256-bit LAPIC register array at @off (IRR, ISR),
 * highest first, at most 8. */
static void lapic_vectors(const struct kvm_lapic_state *l, unsigned int off,
			  struct dumpbuf *b)
{
	int shown = 0;

	for (int v = 255; v >= 0 && shown < 8; v--) {
		if (!(lapic_reg(l, off + 0x10 * (unsigned int)(v / 32)) &
		      (1u << (v % 32))))
			continue;
		dumpbuf_printf(b, "%s0x%02x", shown ? "," : "", v);
		shown++;
	}
	if (!shown)
		dumpbuf_printf(b, "-");
}

void arch_vcpu_state_dump(unsigned int id, const struct vcpu_snapshot *s,
			  double age_ms, struct dumpbuf *b)
{
	const struct kvm_regs *r = &s->regs;
	const struct kvm_sregs *sr = &s->sregs;
	const struct kvm_vcpu_events *ev = &s->ev;

	dumpbuf_printf(b,
		       "vcpu%u: read %.1f ms ago: mp_state=%s rip=0x%llx "
		       "rsp=0x%llx rflags=0x%llx if=%u cs=0x%x cpl=%u "
		       "cr0=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx\n",
		       id, age_ms, vcpu_mp_state_name(s->mp.mp_state),
		       (unsigned long long)r->rip, (unsigned long long)r->rsp,
		       (unsigned long long)r->rflags, s->if_flag,
		       sr->cs.selector, sr->cs.dpl, (unsigned long long)sr->cr0,
		       (unsigned long long)sr->cr3, (unsigned long long)sr->cr4,
		       (unsigned long long)sr->efer);
	dumpbuf_printf(b, "vcpu%u: pending: interrupt=", id);
	if (ev->interrupt.injected)
		dumpbuf_printf(b, "0x%02x", ev->interrupt.nr);
	else
		dumpbuf_printf(b, "-");
	dumpbuf_printf(b, " exception=");
	if (ev->exception.injected || ev->exception.pending)
		dumpbuf_printf(b, "%u", ev->exception.nr);
	else
		dumpbuf_printf(b, "-");
	dumpbuf_printf(b, " nmi_pending=%u nmi_injected=%u lapic_irr=",
		       ev->nmi.pending, ev->nmi.injected);
	lapic_vectors(&s->lapic, 0x200, b);
	dumpbuf_printf(b, " lapic_isr=");
	lapic_vectors(&s->lapic, 0x100, b);
	dumpbuf_printf(
		b, " tpr=0x%x svr=0x%x lvt_timer=0x%x timer_initial=%u\n",
		lapic_reg(&s->lapic, 0x80), lapic_reg(&s->lapic, 0xf0),
		lapic_reg(&s->lapic, 0x320), lapic_reg(&s->lapic, 0x380));
}
