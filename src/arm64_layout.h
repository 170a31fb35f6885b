/*
 * The arm64 machine's layout: the guest physical address map and the
 * interrupt map that the board (board_arm64.c), the vGIC set-up
 * (kvm_arm64.c) and the device tree (loader/arm64_fdt.c) agree on. Close
 * to QEMU's and kvmtool's "virt" machines: devices below 2 GiB, RAM from
 * 2 GiB up.
 */
#ifndef KVMLITE_ARM64_LAYOUT_H
#define KVMLITE_ARM64_LAYOUT_H

#include "util.h"

#define ARM64_GIC_DIST 0x08000000ULL /* GICv3 distributor, 64 KiB */
#define ARM64_GIC_DIST_SIZE 0x10000ULL
#define ARM64_GIC_REDIST 0x080a0000ULL	    /* redistributors: */
#define ARM64_GIC_REDIST_PER_CPU 0x20000ULL /* RD + SGI frames per vCPU */
#define ARM64_GIC_REDIST_END 0x09000000ULL  /* room for 123 vCPUs */
#define ARM64_MAX_CPUS                                                         \
	((ARM64_GIC_REDIST_END - ARM64_GIC_REDIST) / ARM64_GIC_REDIST_PER_CPU)

#define ARM64_UART 0x09000000ULL /* 16550, 8 byte-wide registers */
#define ARM64_UART_SIZE 8
#define ARM64_UART_CLOCK 1843200
/* The test devices: a byte written to TEST_EXIT ends the VM with that
 * status (as I/O port 0xf4 on x86); a write to BOOT_TIMER marks the boot
 * (port 0xf5). One byte each, strb. */
#define ARM64_TEST_EXIT 0x09010000ULL
#define ARM64_BOOT_TIMER 0x09010001ULL

/* virtio-mmio windows: slot i at ARM64_VIRTIO_MMIO + i * 0x200. */
#define ARM64_VIRTIO_MMIO 0x0a000000ULL

#define ARM64_RAM_BASE GiB(2)
/* The Image goes text_offset above a 2 MiB aligned base: RAM's start. */
#define ARM64_IMAGE_ALIGN MiB(2)
/* The device tree: at most 2 MiB, in RAM's last 2 MiB (booting.rst). */
#define ARM64_FDT_MAX MiB(2)

/* SPIs (shared peripheral interrupts: INTID 32 + n). KVM's irqfd GSIs and
 * KVM_IRQ_LINE's SPI numbers are n; the device tree says n too. */
#define ARM64_SPI_UART 1
#define ARM64_SPI_VIRTIO_BASE 16
#define ARM64_GIC_NR_IRQS 128 /* INTIDs the vGIC has: 32 private + 96 SPIs */

/* Private interrupts of the architected timer (PPI numbers, INTID 16 + n). */
#define ARM64_PPI_TIMER_SEC 13
#define ARM64_PPI_TIMER_PHYS 14
#define ARM64_PPI_TIMER_VIRT 11
#define ARM64_PPI_TIMER_HYP 10

#endif
