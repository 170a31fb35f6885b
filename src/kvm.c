/* /dev/kvm: open, check every capability we rely on, create the VM. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "layout.h"
#include "vm.h"

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
};

int kvm_open_checked(int *kvm_fd, char *err, size_t errlen)
{
	int fd, ver, ret;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open /dev/kvm: %s%s",
			 strerror(errno),
			 errno == ENOENT ? " (is the kvm module loaded?)" : "");
		return ret == -ENOENT || ret == -EACCES || ret == -EPERM ||
				       ret == -ENXIO || ret == -ENODEV
			       ? -ENODEV
			       : ret;
	}
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm: API version %d, need %d", ver,
			 KVM_API_VERSION);
		close(fd);
		return -ENODEV;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]);
	     i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			snprintf(err, errlen,
				 "/dev/kvm lacks required capability %s",
				 required_caps[i].name);
			close(fd);
			return -ENODEV;
		}
	}
	*kvm_fd = fd;
	return 0;
}

bool kvm_host_lacks_hw_virt(void)
{
	char line[4096];
	bool flags_seen = false, hw = false;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (!f)
		return false; /* cannot tell: say nothing */
	while (!hw && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		flags_seen = true;
		hw = strstr(line, " vmx") || strstr(line, " svm");
	}
	fclose(f);
	return flags_seen && !hw;
}

static int set_region(struct kvmlite_vm *vm, unsigned int slot,
		      const struct guest_region *r)
{
	struct kvm_userspace_memory_region reg = {
		.slot = slot,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (uint64_t)(uintptr_t)r->hva,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0 ? -errno
								      : 0;
}

/* The host CPU's features as KVM can virtualise them; grow the buffer
 * until it fits. */
static int cpuid_fetch(int kvm_fd, struct kvm_cpuid2 **out)
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

static int pit_create(int vm_fd)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	return ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0 ? -errno : 0;
}

int kvm_vm_setup(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	int max_vcpus, ret;
	uint64_t ident = LAYOUT_IDENT_MAP;

	max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
				  KVM_CAP_NR_VCPUS);
	if (max_vcpus > 0 && vm->cfg.cpus > (unsigned int)max_vcpus) {
		snprintf(err, errlen, "--cpus %u: this KVM supports at most %d",
			 vm->cfg.cpus, max_vcpus);
		return -EINVAL;
	}

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return ret;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS) < 0)
		goto fail_errno_tss;
	/* Only meaningful on Intel; harmless (and may be absent) elsewhere. */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		  KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0)
		(void)ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident);
	/* Memory before the irqchip: once an irqchip exists, the first
	 * memslot costs milliseconds (measured: 6-11 ms vs 0.1 ms). */
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		ret = set_region(vm, (unsigned int)i, &vm->mem.regions[i]);
		if (ret) {
			snprintf(err, errlen,
				 "KVM_SET_USER_MEMORY_REGION (%llu MiB): %s",
				 (unsigned long long)(vm->mem.regions[i].size >>
						      20),
				 strerror(-ret));
			return ret;
		}
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM_CREATE_IRQCHIP: %s",
			 strerror(errno));
		return ret;
	}
	ret = pit_create(vm->vm_fd);
	if (ret) {
		snprintf(err, errlen, "KVM_CREATE_PIT2: %s", strerror(-ret));
		return ret;
	}
	ret = cpuid_fetch(vm->kvm_fd, &vm->cpuid);
	if (ret)
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s",
			 strerror(-ret));
	return ret;

fail_errno_tss:
	ret = -errno;
	snprintf(err, errlen, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	return ret;
}
