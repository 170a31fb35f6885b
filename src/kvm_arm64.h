/* arm64's own KVM calls (kvm_arm64.c), beside arch.h's. */
#ifndef KVMLITE_KVM_ARM64_H
#define KVMLITE_KVM_ARM64_H

#include <stddef.h>

/* The in-kernel GICv3 at the layout's addresses (arm64_layout.h), for
 * @cpus vCPUs: its device fd in *gic_fd. Before the vCPUs run. 0 or
 * -errno with a message. */
int kvm_arm64_vgic_create(int vm_fd, unsigned int cpus, int *gic_fd, char *err,
			  size_t errlen);
/* Its interrupt count and init: after every vCPU is created. */
int kvm_arm64_vgic_init(int gic_fd, char *err, size_t errlen);
/* Drive SPI @spi (INTID 32 + @spi) to @level. */
int kvm_arm64_spi_line(int vm_fd, unsigned int spi, int level);

#endif
