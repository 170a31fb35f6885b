/*
 * The x86 machine's layout: the guest physical address map, the I/O port
 * and IRQ map, and the constants the loaders, the firmware tables, the
 * register set-up and the devices must agree on. The board (board_x86.c)
 * wires devices to these addresses.
 */
#ifndef KVMLITE_X86_LAYOUT_H
#define KVMLITE_X86_LAYOUT_H

#include "util.h"

/* Low memory, all inside the first 640 KiB unless noted. */
#define LAYOUT_GDT 0x500ULL	     /* boot GDT (4 entries) */
#define LAYOUT_BOOT_PARAMS 0x7000ULL /* zero page / PVH start_info */
#define LAYOUT_PVH_MEMMAP 0x8000ULL  /* PVH memory map entries */
#define LAYOUT_PML4 0x9000ULL	     /* identity page tables: */
#define LAYOUT_PDPT 0xa000ULL	     /*   PML4, PDPT, 4 PDs of 2 MiB */
#define LAYOUT_PD 0xb000ULL	     /*   pages: first 4 GiB mapped */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL /* bytes, NUL included */
#define LAYOUT_EBDA 0x9fc00ULL	      /* MP table lives here */
#define LAYOUT_LOWMEM_END 0xa0000ULL  /* 640 KiB */
#define LAYOUT_ACPI 0xe0000ULL	      /* RSDP + tables, BIOS area */
#define LAYOUT_ACPI_END 0x100000ULL
/* Where a CPU starts after reset (F000:FFF0): Linux's BIOS reboot jumps
 * there, so a stub that resets through PORT_RESET_CTL sits there. */
#define LAYOUT_RESET_VECTOR 0xffff0ULL
#define LAYOUT_KERNEL 0x100000ULL /* 1 MiB: protected-mode kernel */

/* The 32-bit MMIO hole: RAM beyond this continues at 4 GiB. */
#define LAYOUT_MMIO_HOLE GiB(3)
#define LAYOUT_MMIO_HOLE_END GiB(4)
#define LAYOUT_VIRTIO_MMIO 0xd0000000ULL /* virtio-mmio windows */
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_TSS 0xfffbd000ULL /* KVM_SET_TSS_ADDR, 3 pages */
#define LAYOUT_IDENT_MAP 0xfffbc000ULL

/* I/O ports. */
#define PORT_SERIAL0 0x3f8
#define IRQ_SERIAL0 4
#define IRQ_GED 3     /* ACPI Generic Event Device: the power button */
#define PORT_RTC 0x70 /* index 0x70, data 0x71 */
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD 0x64
#define PORT_TEST_EXIT 0xf4
#define PORT_BOOT_TIMER 0xf5
#define PORT_SNAPSHOT 0xf6
#define PORT_EXEC_FAIL 0xf7
#define PORT_ACPI_SLEEP_CTL 0x3c0 /* FADT sleep control register */
#define PORT_ACPI_SLEEP_STS 0x3c1 /* FADT sleep status register */
#define PORT_RESET_CTL 0xcf9	  /* reset control: FADT reset register */

/* virtio-mmio windows: slot i at LAYOUT_VIRTIO_MMIO + i * 0x200 (the
 * transport's VIRTIO_MMIO_WINDOW), GSI GSI_VIRTIO_BASE + i. */
#define GSI_VIRTIO_BASE 5
#define GSI_MAX 24 /* the in-kernel IOAPIC's pins */

/* ACPI sleep type of S5: the DSDT's \_S5 package and the sleep control
 * register's check agree on it. */
#define ACPI_SLP_TYP_S5 5

/* The boot GDT (x86_boot.c writes it, x86_regs.c loads these selectors). */
#define BOOT_GDT_ENTRIES 5
#define BOOT_SEL_CODE64 0x10
#define BOOT_SEL_DATA 0x18
#define BOOT_SEL_CODE32 0x20

#endif
