/* Register and MSR state at power-on, per boot protocol. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vcpu/x86_state.h"
#include "x86_layout.h"
#include "vm.h"

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_MISC_ENABLE_FAST_STRING 1ULL
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRR_ENABLE (1ULL << 11)
#define MTRR_TYPE_WB 6ULL

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

#define X86_CR0_PE (1ULL << 0)
#define X86_CR0_ET (1ULL << 4)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type,
			 bool code64)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code64 ? 0 : 1,
		.s = 1,
		.l = code64 ? 1 : 0,
		.g = 1,
	};
}

/* LINT0 as ExtINT and LINT1 as NMI: the virtual-wire setup a BIOS leaves. */
static int lapic_setup(struct vcpu *v)
{
	struct kvm_lapic_state l;
	uint32_t lvt;

	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	memcpy(&lvt, &l.regs[APIC_LVT0], 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_EXTINT << 8);
	memcpy(&l.regs[APIC_LVT0], &lvt, 4);
	memcpy(&lvt, &l.regs[APIC_LVT1], 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(&l.regs[APIC_LVT1], &lvt, 4);
	if (ioctl(v->fd, KVM_SET_LAPIC, &l) < 0)
		return -errno;
	return 0;
}

int x86_regs_setup_common(struct kvmlite_vm *vm, struct vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[2];
	} msrs = { .hdr.nmsrs = 2,
		   .e = { { .index = MSR_IA32_MISC_ENABLE,
			    .data = MSR_IA32_MISC_ENABLE_FAST_STRING },
			  { .index = MSR_MTRR_DEF_TYPE,
			    .data = MTRR_ENABLE | MTRR_TYPE_WB } } };
	(void)vm;
	/* No KVM_SET_FPU: a new vCPU's FPU is already in its reset state
	 * (FCW 0x37f, MXCSR 0x1f80), and the ioctl costs ~0.1 ms here. */
	/* KVM_SET_MSRS returns how many it set; not every KVM takes all. */
	if (ioctl(v->fd, KVM_SET_MSRS, &msrs) < 0)
		return -errno;
	return lapic_setup(v);
}

int x86_regs_setup_boot(struct kvmlite_vm *vm, struct vcpu *v)
{
	const struct boot_entry *b = &vm->boot;
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.gdt.base = b->gdt_base;
	s.gdt.limit = b->gdt_limit;
	flat_segment(&s.ds, BOOT_SEL_DATA, 0x3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;

	memset(&r, 0, sizeof(r));
	r.rflags = 0x2;
	r.rip = b->entry;

	if (b->proto == BOOT_PROTO_PVH) {
		/* PVH: 32-bit flat protected mode, paging off. */
		flat_segment(&s.cs, BOOT_SEL_CODE32, 0xb, false);
		s.cr0 = X86_CR0_PE | X86_CR0_ET;
		s.cr3 = 0;
		s.cr4 = 0;
		s.efer = 0;
		r.rbx = b->boot_param;
	} else {
		/* 64-bit boot protocol: long mode, identity-mapped. */
		flat_segment(&s.cs, BOOT_SEL_CODE64, 0xb, true);
		s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		s.cr3 = b->cr3;
		s.cr4 = X86_CR4_PAE;
		s.efer = EFER_LME | EFER_LMA;
		r.rsi = b->boot_param;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

void x86_regs_format(const struct kvm_regs *r, const struct kvm_sregs *s,
		     char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len,
		     "  rip=%016llx rsp=%016llx rflags=%08llx\n"
		     "  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
		     "  rsi=%016llx rdi=%016llx rbp=%016llx\n"
		     "  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n"
		     "  r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n"
		     "  cs=%04x ss=%04x cr0=%016llx cr2=%016llx cr3=%016llx\n"
		     "  cr4=%016llx efer=%016llx",
		     r->rip, r->rsp, r->rflags, r->rax, r->rbx, r->rcx, r->rdx,
		     r->rsi, r->rdi, r->rbp, r->r8, r->r9, r->r10, r->r11,
		     r->r12, r->r13, r->r14, r->r15, s->cs.selector,
		     s->ss.selector, s->cr0, s->cr2, s->cr3, s->cr4, s->efer);
	/* KVM on AMD reinitializes a vCPU at its shutdown intercept (the
	 * VMCB is undefined after one): what a triple fault leaves to read
	 * is then the power-on state, not where the guest faulted. */
	if (n > 0 && (size_t)n < len && r->rip == 0xfff0 &&
	    s->cs.selector == 0xf000 && s->cs.base == 0xffff0000 &&
	    !(s->cr0 & X86_CR0_PE) && !s->efer)
		snprintf(buf + n, len - (size_t)n,
			 "\n  (the power-on state: KVM on AMD (SVM) "
			 "reinitializes a vCPU that shut down, so where it "
			 "faulted is not known)");
}

void x86_regs_dump(struct vcpu *v, char *buf, size_t len)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		snprintf(buf, len, "  (registers unavailable: %s)",
			 strerror(errno));
		return;
	}
	x86_regs_format(&r, &s, buf, len);
}
