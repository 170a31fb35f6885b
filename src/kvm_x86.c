/* x86's KVM calls: kvm.h's kvm_x86_* and arch.h's KVM part. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch.h"
#include "err.h"
#include "kvm.h"
#include "snapfile.h"
#include "util.h"
#include "x86_layout.h"

/* Beside the common ones kvm.c checks. */
static const struct kvm_cap required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", true },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", true },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", true },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", true },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", true },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", true },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", true },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", true },
};

int arch_kvm_check_caps(int kvm_fd, char *err, size_t errlen)
{
	return kvm_check_caps(kvm_fd, required_caps, ARRAY_LEN(required_caps),
			      NULL, err, errlen);
}

unsigned long arch_kvm_vm_type(int kvm_fd)
{
	return 0;
}

/* The host CPU's features as KVM can virtualise them; grow the buffer
 * until it fits. */
int kvm_x86_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out)
{
	int nent = 256, ret;

	for (;;) {
		struct kvm_cpuid2 *c;

		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		ret = -errno;
		free(c);
		if (ret != -E2BIG || nent >= 4096)
			return ret;
		nent *= 2;
	}
}

bool kvm_x86_has_tsc_deadline_timer(int kvm_fd)
{
	return ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) >
	       0;
}

/* x86: what the machine needs in the kernel before vCPUs exist. */
int arch_kvm_pre_memory(int kvm_fd, int vm_fd, char *err, size_t errlen)
{
	uint64_t ident = LAYOUT_IDENT_MAP;

	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS) < 0)
		return err_fmt(err, errlen, -errno, "KVM_SET_TSS_ADDR: %s",
			       strerror(errno));
	/* Only meaningful on Intel; harmless (and may be absent) elsewhere. */
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) >
	    0)
		(void)ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident);
	return 0;
}

int arch_kvm_irqchip(int vm_fd, unsigned int cpus, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_fmt(err, errlen, -errno, "KVM_CREATE_IRQCHIP: %s",
			       strerror(errno));
	if (ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return err_fmt(err, errlen, -errno, "KVM_CREATE_PIT2: %s",
			       strerror(errno));
	return 0;
}

int kvm_x86_get_ioapic(int vm_fd, struct kvm_ioapic_state *out)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	if (ioctl(vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
		return -errno;
	*out = chip.chip.ioapic;
	return 0;
}

int kvm_x86_msr_index_list(int kvm_fd, uint32_t **out, uint32_t *n)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	int ret;

	*out = NULL;
	*n = 0;
	/* E2BIG, with the count filled in. */
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	if (probe.nmsrs > 4096)
		return -E2BIG;
	l = calloc(1, sizeof(*l) + (probe.nmsrs + 1) * sizeof(l->indices[0]));
	if (!l)
		return -ENOMEM;
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		ret = -errno;
		free(l);
		return ret;
	}
	*out = malloc((l->nmsrs + 1) * sizeof(uint32_t));
	if (!*out) {
		free(l);
		return -ENOMEM;
	}
	memcpy(*out, l->indices, l->nmsrs * sizeof(uint32_t));
	*n = l->nmsrs;
	free(l);
	return 0;
}

uint32_t kvm_x86_xsave_size(int vm_fd)
{
	int n = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > (int)sizeof(struct kvm_xsave)
		       ? (uint32_t)n
		       : (uint32_t)sizeof(struct kvm_xsave);
}

static const char *const chip_names[] = { "PIC master", "PIC slave", "IOAPIC" };

int kvm_x86_vm_state_save(int vm_fd, struct snap_writer *w, char *err,
			  size_t errlen)
{
	struct kvm_x86_vm_state s;
	struct kvm_clock_data clock;

	memset(&s, 0, sizeof(s));
	for (unsigned int i = 0; i < 3; i++) {
		s.chip[i].chip_id = i;
		if (ioctl(vm_fd, KVM_GET_IRQCHIP, &s.chip[i]) < 0)
			return err_fmt(err, errlen, -errno,
				       "KVM_GET_IRQCHIP (%s): %s",
				       chip_names[i], strerror(errno));
	}
	if (ioctl(vm_fd, KVM_GET_PIT2, &s.pit) < 0)
		return err_fmt(err, errlen, -errno, "KVM_GET_PIT2: %s",
			       strerror(errno));
	memset(&clock, 0, sizeof(clock));
	if (ioctl(vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return err_fmt(err, errlen, -errno, "KVM_GET_CLOCK: %s",
			       strerror(errno));
	for (unsigned int i = 0; i < 3; i++)
		snap_put_bytes(w, &s.chip[i].chip, sizeof(s.chip[i].chip));
	snap_put_bytes(w, &s.pit, sizeof(s.pit));
	snap_put_u64(w, clock.clock);
	return 0;
}

int kvm_x86_vm_state_decode(struct snap_reader *r, struct kvm_x86_vm_state *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned int i = 0; i < 3; i++) {
		s->chip[i].chip_id = i;
		snap_get_bytes(r, &s->chip[i].chip, sizeof(s->chip[i].chip));
	}
	snap_get_bytes(r, &s->pit, sizeof(s->pit));
	s->clock = snap_get_u64(r);
	return snap_reader_done(r);
}

int kvm_x86_vm_state_apply(int vm_fd, const struct kvm_x86_vm_state *s,
			   char *err, size_t errlen)
{
	struct kvm_clock_data clock = { .clock = s->clock };
	struct kvm_irqchip chip;

	if (ioctl(vm_fd, KVM_SET_PIT2, &s->pit) < 0)
		return err_fmt(err, errlen, -errno, "KVM_SET_PIT2: %s",
			       strerror(errno));
	if (ioctl(vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return err_fmt(err, errlen, -errno, "KVM_SET_CLOCK: %s",
			       strerror(errno));
	for (unsigned int i = 0; i < 3; i++) {
		chip = s->chip[i];
		if (ioctl(vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return err_fmt(err, errlen, -errno,
				       "KVM_SET_IRQCHIP (%s): %s",
				       chip_names[i], strerror(errno));
	}
	return 0;
}
