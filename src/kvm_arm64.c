/* arm64's KVM calls (arch.h): the capabilities, the in-kernel vGICv3 and
 * its addresses (KVM_CREATE_DEVICE, KVM_DEV_TYPE_ARM_VGIC_V3), initialized
 * once every vCPU exists. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch.h"
#include "arm64_layout.h"
#include "err.h"
#include "kvm.h"
#include "kvm_arm64.h"
#include "util.h"

static const struct kvm_cap required_caps[] = {
	{ KVM_CAP_ARM_PSCI_0_2, "KVM_CAP_ARM_PSCI_0_2", true },
	{ KVM_CAP_ONE_REG, "KVM_CAP_ONE_REG", true },
	{ KVM_CAP_DEVICE_CTRL, "KVM_CAP_DEVICE_CTRL", true },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", true },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", true },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", true },
};

int arch_kvm_check_caps(int kvm_fd, char *err, size_t errlen)
{
	return kvm_check_caps(kvm_fd, required_caps, ARRAY_LEN(required_caps),
			      NULL, err, errlen);
}

/* The default IPA size (40 bits, 1 TiB) holds RAM from 2 GiB. */
unsigned long arch_kvm_vm_type(int kvm_fd)
{
	return 0;
}

int arch_kvm_pre_memory(int kvm_fd, int vm_fd, char *err, size_t errlen)
{
	return 0;
}

static int set_attr(int fd, uint32_t group, uint64_t attr, void *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uint64_t)(uintptr_t)val,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

/* The vGIC is a device with an fd of its own, which the board keeps
 * (board_arm64.c: kvm_arm64_vgic_create() from arch_vm_setup(),
 * kvm_arm64_vgic_init() once the vCPUs exist). */
int arch_kvm_irqchip(int vm_fd, unsigned int cpus, char *err, size_t errlen)
{
	return 0;
}

int kvm_arm64_vgic_create(int vm_fd, unsigned int cpus, int *gic_fd, char *err,
			  size_t errlen)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	uint64_t dist = ARM64_GIC_DIST, redist = ARM64_GIC_REDIST;
	int ret;

	*gic_fd = -1;
	if (cpus > ARM64_MAX_CPUS)
		return err_fmt(err, errlen, -EINVAL,
			       "--cpus %u: the arm64 machine has room for %llu",
			       cpus, (unsigned long long)ARM64_MAX_CPUS);
	if (ioctl(vm_fd, KVM_CREATE_DEVICE, &dev) < 0)
		return err_fmt(
			err, errlen, -errno, "KVM_CREATE_DEVICE (GICv3): %s%s",
			strerror(errno),
			errno == ENODEV ? " (this host has no GICv3)" : "");
	ret = set_attr((int)dev.fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
		       KVM_VGIC_V3_ADDR_TYPE_DIST, &dist);
	if (!ret)
		ret = set_attr((int)dev.fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
			       KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist);
	if (ret) {
		close((int)dev.fd);
		return err_fmt(err, errlen, ret,
			       "KVM_SET_DEVICE_ATTR (GICv3 addresses): %s",
			       strerror(-ret));
	}
	*gic_fd = (int)dev.fd;
	return 0;
}

int kvm_arm64_vgic_init(int gic_fd, char *err, size_t errlen)
{
	uint32_t nr_irqs = ARM64_GIC_NR_IRQS;
	int ret;

	ret = set_attr(gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
	if (!ret)
		ret = set_attr(gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
			       KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
	if (ret)
		return err_fmt(err, errlen, ret, "GICv3 init: %s",
			       strerror(-ret));
	return 0;
}

int kvm_arm64_spi_line(int vm_fd, unsigned int spi, int level)
{
	struct kvm_irq_level l = {
		.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) |
		       (spi + 32),
		.level = (uint32_t)level,
	};

	return ioctl(vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}
