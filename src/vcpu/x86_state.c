/* An x86 vCPU's state for snapshots. See x86_state.h. */
#include "vcpu/x86_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "err.h"
#include "snapfile.h"
#include "vcpu/vcpu.h"

#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_KVM_ASYNC_PF_EN 0x4b564d02
/* A TSC frequency this close to the snapshot's is the same clock
 * (calibrations differ that much between boots of one host). */
#define TSC_KHZ_TOLERANCE_PPM 250

/* The MSRs of @index KVM lets this vCPU read, with their values: a batch
 * stops at the first one it cannot read, which is skipped. */
static int read_msrs(int fd, const uint32_t *index, uint32_t n,
		     struct kvm_msrs **out)
{
	size_t size = sizeof(struct kvm_msrs) +
		      (n + 1) * sizeof(struct kvm_msr_entry);
	struct kvm_msrs *m = calloc(1, size), *batch = calloc(1, size);
	uint32_t next = 0;
	int ret = 0;

	if (!m || !batch) {
		ret = -ENOMEM;
		goto out;
	}
	while (next < n) {
		int r;

		batch->nmsrs = n - next;
		for (uint32_t i = 0; i < n - next; i++)
			batch->entries[i] = (struct kvm_msr_entry){
				.index = index[next + i]
			};
		r = ioctl(fd, KVM_GET_MSRS, batch);
		if (r < 0) {
			ret = -errno;
			goto out;
		}
		memcpy(&m->entries[m->nmsrs], batch->entries,
		       (size_t)r * sizeof(batch->entries[0]));
		m->nmsrs += (uint32_t)r;
		next += (uint32_t)r + 1; /* skip the one that failed */
	}
	*out = m;
	m = NULL;
out:
	free(m);
	free(batch);
	return ret;
}

int x86_vcpu_save(struct vcpu *v, const struct kvm_cpuid2 *cpuid,
		  const uint32_t *msr_index, uint32_t nr_msrs,
		  uint32_t xsave_bytes, struct snap_writer *w, char *err,
		  size_t errlen)
{
	struct x86_vcpu_state s;
	struct kvm_msrs *msrs = NULL;
	int ret, khz;

	memset(&s, 0, sizeof(s));
	if (xsave_bytes < sizeof(struct kvm_xsave))
		xsave_bytes = sizeof(struct kvm_xsave);
	s.xsave = calloc(1, xsave_bytes);
	if (!s.xsave)
		return err_fmt(err, errlen, -ENOMEM, "out of memory");
#define GET(req, p, name)                                                      \
	do {                                                                   \
		if (ioctl(v->fd, req, p) < 0) {                                \
			ret = err_fmt(err, errlen, -errno,                     \
				      "vCPU %u: " name ": %s", v->id,          \
				      strerror(errno));                        \
			goto out;                                              \
		}                                                              \
	} while (0)
	GET(KVM_GET_REGS, &s.regs, "KVM_GET_REGS");
	GET(KVM_GET_SREGS, &s.sregs, "KVM_GET_SREGS");
	if (xsave_bytes > sizeof(struct kvm_xsave))
		GET(KVM_GET_XSAVE2, s.xsave, "KVM_GET_XSAVE2");
	else
		GET(KVM_GET_XSAVE, s.xsave, "KVM_GET_XSAVE");
	GET(KVM_GET_XCRS, &s.xcrs, "KVM_GET_XCRS");
	GET(KVM_GET_DEBUGREGS, &s.dbg, "KVM_GET_DEBUGREGS");
	GET(KVM_GET_LAPIC, &s.lapic, "KVM_GET_LAPIC");
	GET(KVM_GET_VCPU_EVENTS, &s.events, "KVM_GET_VCPU_EVENTS");
	GET(KVM_GET_MP_STATE, &s.mp, "KVM_GET_MP_STATE");
#undef GET
	khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0) {
		ret = err_fmt(err, errlen, khz < 0 ? -errno : -EIO,
			      "vCPU %u: KVM_GET_TSC_KHZ: %s", v->id,
			      khz < 0 ? strerror(errno) : "no frequency");
		goto out;
	}
	ret = read_msrs(v->fd, msr_index, nr_msrs, &msrs);
	if (ret) {
		err_fmt(err, errlen, ret, "vCPU %u: KVM_GET_MSRS: %s", v->id,
			strerror(-ret));
		goto out;
	}

	snap_put_u32(w, v->id);
	snap_put_u32(w, cpuid->nent);
	snap_put_bytes(w, cpuid->entries,
		       cpuid->nent * sizeof(cpuid->entries[0]));
	snap_put_bytes(w, &s.regs, sizeof(s.regs));
	snap_put_bytes(w, &s.sregs, sizeof(s.sregs));
	snap_put_u32(w, xsave_bytes);
	snap_put_bytes(w, s.xsave, xsave_bytes);
	snap_put_bytes(w, &s.xcrs, sizeof(s.xcrs));
	snap_put_bytes(w, &s.dbg, sizeof(s.dbg));
	snap_put_bytes(w, &s.lapic, sizeof(s.lapic));
	snap_put_bytes(w, &s.events, sizeof(s.events));
	snap_put_u32(w, s.mp.mp_state);
	snap_put_u32(w, (uint32_t)khz);
	snap_put_u32(w, msrs->nmsrs);
	for (uint32_t i = 0; i < msrs->nmsrs; i++) {
		snap_put_u32(w, msrs->entries[i].index);
		snap_put_u64(w, msrs->entries[i].data);
	}
	ret = 0;
out:
	free(msrs);
	free(s.xsave);
	return ret;
}

void x86_vcpu_state_free(struct x86_vcpu_state *s)
{
	free(s->cpuid);
	free(s->xsave);
	free(s->msrs);
	memset(s, 0, sizeof(*s));
}

int x86_vcpu_state_decode(struct snap_reader *r, struct x86_vcpu_state *s)
{
	uint32_t nent, nmsrs;

	memset(s, 0, sizeof(*s));
	s->id = snap_get_u32(r);
	nent = snap_get_u32(r);
	if (r->err || nent > X86_STATE_MAX_CPUID)
		return -EINVAL;
	s->cpuid = calloc(1, sizeof(*s->cpuid) +
				     (nent + 1) * sizeof(s->cpuid->entries[0]));
	if (!s->cpuid)
		return -ENOMEM;
	s->cpuid->nent = nent;
	snap_get_bytes(r, s->cpuid->entries,
		       nent * sizeof(s->cpuid->entries[0]));
	/* One entry per leaf and subleaf, as KVM_SET_CPUID2 wants. */
	for (uint32_t i = 0; i < nent && !r->err; i++)
		for (uint32_t j = 0; j < i; j++)
			if (s->cpuid->entries[i].function ==
				    s->cpuid->entries[j].function &&
			    s->cpuid->entries[i].index ==
				    s->cpuid->entries[j].index)
				return -EINVAL;
	snap_get_bytes(r, &s->regs, sizeof(s->regs));
	snap_get_bytes(r, &s->sregs, sizeof(s->sregs));
	s->xsave_bytes = snap_get_u32(r);
	if (r->err || s->xsave_bytes < sizeof(struct kvm_xsave) ||
	    s->xsave_bytes > X86_STATE_MAX_XSAVE || s->xsave_bytes % 4)
		return -EINVAL;
	s->xsave = calloc(1, s->xsave_bytes);
	if (!s->xsave)
		return -ENOMEM;
	snap_get_bytes(r, s->xsave, s->xsave_bytes);
	snap_get_bytes(r, &s->xcrs, sizeof(s->xcrs));
	snap_get_bytes(r, &s->dbg, sizeof(s->dbg));
	snap_get_bytes(r, &s->lapic, sizeof(s->lapic));
	snap_get_bytes(r, &s->events, sizeof(s->events));
	s->mp.mp_state = snap_get_u32(r);
	s->tsc_khz = snap_get_u32(r);
	nmsrs = snap_get_u32(r);
	if (r->err || nmsrs > X86_STATE_MAX_MSRS || !s->tsc_khz ||
	    s->xcrs.nr_xcrs > KVM_MAX_XCRS)
		return -EINVAL;
	s->msrs = calloc(1, sizeof(*s->msrs) +
				    (nmsrs + 1) * sizeof(s->msrs->entries[0]));
	if (!s->msrs)
		return -ENOMEM;
	s->msrs->nmsrs = nmsrs;
	for (uint32_t i = 0; i < nmsrs; i++) {
		s->msrs->entries[i].index = snap_get_u32(r);
		s->msrs->entries[i].data = snap_get_u64(r);
	}
	return snap_reader_done(r);
}

static const char *const reg_names[] = { "eax", "ebx", "ecx", "edx" };

int x86_vcpu_cpuid_matches(const struct x86_vcpu_state *s,
			   const struct kvm_cpuid2 *here, char *err,
			   size_t errlen)
{
	const struct kvm_cpuid2 *c = s->cpuid;

	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *a = &c->entries[i];
		const struct kvm_cpuid_entry2 *b = NULL;
		uint32_t ra[4], rb[4];

		for (uint32_t j = 0; j < here->nent && !b; j++)
			if (here->entries[j].function == a->function &&
			    here->entries[j].index == a->index)
				b = &here->entries[j];
		if (!b)
			return err_fmt(err, errlen, -ENOEXEC,
				       "taken on another CPU: CPUID leaf "
				       "0x%x.%u is missing here",
				       a->function, a->index);
		memcpy(ra, &a->eax, sizeof(ra));
		memcpy(rb, &b->eax, sizeof(rb));
		for (unsigned int k = 0; k < 4; k++)
			if (ra[k] != rb[k])
				return err_fmt(err, errlen, -ENOEXEC,
					       "taken on another CPU: CPUID "
					       "leaf 0x%x.%u %s is 0x%08x "
					       "there, 0x%08x here",
					       a->function, a->index,
					       reg_names[k], ra[k], rb[k]);
	}
	if (here->nent != c->nent)
		return err_fmt(err, errlen, -ENOEXEC,
			       "taken on another CPU: %u CPUID leaves there, "
			       "%u here",
			       c->nent, here->nent);
	return 0;
}

/* KVM_SET_MSRS for @n entries of @e; one KVM refuses but already holds
 * (an MSR it reports and lets no one write) is no error. */
static int write_msrs(struct vcpu *v, const struct kvm_msr_entry *e, uint32_t n,
		      char *err, size_t errlen)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + (n + 1) * sizeof(*e));
	uint32_t done = 0;
	int ret = 0;

	if (!m)
		return err_fmt(err, errlen, -ENOMEM, "out of memory");
	while (done < n) {
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e;
		} one = { .hdr.nmsrs = 1, .e = { .index = e[done].index } };
		int r;

		m->nmsrs = n - done;
		memcpy(m->entries, e + done, (n - done) * sizeof(*e));
		r = ioctl(v->fd, KVM_SET_MSRS, m);
		if (r < 0) {
			ret = err_fmt(err, errlen, -errno,
				      "vCPU %u: KVM_SET_MSRS: %s", v->id,
				      strerror(errno));
			break;
		}
		done += (uint32_t)r;
		if (done >= n)
			break;
		one.e.index = e[done].index;
		if (ioctl(v->fd, KVM_GET_MSRS, &one) != 1 ||
		    one.e.data != e[done].data) {
			ret = err_fmt(err, errlen, -EINVAL,
				      "vCPU %u: KVM refuses MSR 0x%x = 0x%llx",
				      v->id, e[done].index,
				      (unsigned long long)e[done].data);
			break;
		}
		done++;
	}
	free(m);
	return ret;
}

static int apply_tsc_khz(struct vcpu *v, uint32_t khz, char *err, size_t errlen)
{
	int here = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	uint64_t diff;

	if (here <= 0)
		return err_fmt(err, errlen, here < 0 ? -errno : -EIO,
			       "vCPU %u: KVM_GET_TSC_KHZ: %s", v->id,
			       here < 0 ? strerror(errno) : "no frequency");
	diff = (uint64_t)(here > (int)khz ? (uint32_t)here - khz
					  : khz - (uint32_t)here);
	if (diff * 1000000ULL <= (uint64_t)khz * TSC_KHZ_TOLERANCE_PPM)
		return 0;
	if (ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0)
		return err_fmt(err, errlen, -ENOEXEC,
			       "taken on a host whose TSC runs at %u kHz; "
			       "this one's runs at %d kHz and KVM cannot "
			       "scale it (%s)",
			       khz, here, strerror(errno));
	return 0;
}

/* CPUID leaf 0's vendor: AMD's and Hygon's KVM runs guests with SVM. */
static bool cpuid_vendor_is_svm(const struct kvm_cpuid2 *cpuid)
{
	for (uint32_t i = 0; cpuid && i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != 0)
			continue;
		return (e->ebx == 0x68747541 && e->edx == 0x69746e65 &&
			e->ecx == 0x444d4163) || /* AuthenticAMD */
		       (e->ebx == 0x6f677948 && e->edx == 0x6e65476e &&
			e->ecx == 0x656e6975); /* HygonGenuine */
	}
	return false;
}

void x86_sregs_for_set(struct kvm_sregs *sregs, const struct kvm_cpuid2 *cpuid)
{
	/* SVM's KVM_GET_SREGS reports TR busy (type 11) whatever the VMCB
	 * holds; QEMU's TCG, the nested SVM of the test host, keeps an
	 * ltr'd TR as available (type 9) and refuses every I/O bitmap
	 * check (#GP, a user-mode inb's SIGSEGV) of a TR of type 11.
	 * VMRUN ignores the type on AMD hardware; VMX needs it busy. */
	if (sregs->tr.type == 11 && cpuid_vendor_is_svm(cpuid))
		sregs->tr.type = 9;
}

int x86_vcpu_state_apply(struct vcpu *v, const struct x86_vcpu_state *s,
			 char *err, size_t errlen)
{
	struct kvm_sregs sregs = s->sregs;
	const struct kvm_msrs *m = s->msrs;
	struct kvm_msr_entry deadline = { .index = 0 };
	struct kvm_msr_entry *rest;
	struct kvm_vcpu_events ev = s->events;
	uint32_t nrest = 0;
	bool have_deadline = false;
	int ret;

	ret = apply_tsc_khz(v, s->tsc_khz, err, errlen);
	if (ret)
		return ret;
#define SET(req, p, name)                                                      \
	do {                                                                   \
		if (ioctl(v->fd, req, p) < 0)                                  \
			return err_fmt(err, errlen, -errno,                    \
				       "vCPU %u: " name ": %s", v->id,         \
				       strerror(errno));                       \
	} while (0)
	SET(KVM_SET_REGS, &s->regs, "KVM_SET_REGS");
	x86_sregs_for_set(&sregs, s->cpuid);
	SET(KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	SET(KVM_SET_XSAVE, s->xsave, "KVM_SET_XSAVE");
	SET(KVM_SET_XCRS, &s->xcrs, "KVM_SET_XCRS");
	/* The TSC deadline only sticks once the APIC is in that mode. */
	rest = calloc(m->nmsrs + 1, sizeof(*rest));
	if (!rest)
		return err_fmt(err, errlen, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < m->nmsrs; i++) {
		if (m->entries[i].index == MSR_IA32_TSC_DEADLINE) {
			deadline = m->entries[i];
			have_deadline = true;
		} else {
			rest[nrest++] = m->entries[i];
		}
	}
	/* Off first: KVM then drops the async page faults it still has
	 * queued for the state being replaced (a reset in place); the
	 * saved value turns them on again and wakes every waiter. */
	for (uint32_t i = 0; i < nrest && !ret; i++)
		if (rest[i].index == MSR_KVM_ASYNC_PF_EN) {
			struct kvm_msr_entry off = { .index = rest[i].index };

			ret = write_msrs(v, &off, 1, err, errlen);
		}
	if (!ret)
		ret = write_msrs(v, rest, nrest, err, errlen);
	free(rest);
	if (ret)
		return ret;
	SET(KVM_SET_MP_STATE, &s->mp, "KVM_SET_MP_STATE");
	SET(KVM_SET_LAPIC, &s->lapic, "KVM_SET_LAPIC");
	if (have_deadline) {
		ret = write_msrs(v, &deadline, 1, err, errlen);
		if (ret)
			return ret;
	}
	/* The pending NMI and SIPI vector count only when flagged so. */
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING |
		    KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	SET(KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS");
	SET(KVM_SET_DEBUGREGS, &s->dbg, "KVM_SET_DEBUGREGS");
#undef SET
	return 0;
}
