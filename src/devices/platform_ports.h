/*
 * Tiny platform I/O ports that turn guest writes into platform events:
 *
 *  0xf4   test exit: an 8-bit write of V ends the VM with TEST_EXIT(V)
 *  0xf7   exec failure: the same, EXEC_FAIL(V) (the board acts on it only
 *         in an exec VM)
 *  0xf5   boot timer: any write marks a boot milestone (BOOT_MARK)
 *  0xf6   snapshot: a write asks for a snapshot (SNAPSHOT) when enabled;
 *         a read gives 0 in a VM that booted, 1 in one restored from a
 *         snapshot (or reset to one)
 *  0x3c0  ACPI (hardware-reduced) sleep control register: S5 -> POWEROFF
 *  0x3c1  ACPI sleep status register
 *  0xcf9  reset control register: RST_CPU -> REBOOT (the FADT's reset
 *         register, Linux's reboot=pci, and our reset vector's stub)
 *
 * Events are raised from the vCPU thread doing the access, with no lock
 * held. None of these devices allocate anything: there is nothing to
 * destroy.
 */
#ifndef KVMLITE_DEVICES_PLATFORM_PORTS_H
#define KVMLITE_DEVICES_PLATFORM_PORTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "platform.h"
#include "x86_layout.h"

/* Port 0xf4, one byte (and port 0xf7, with event PLATFORM_EXEC_FAIL). */
struct test_exit_port {
	struct platform_ops plat;
	enum platform_event event;
};

void test_exit_port_init(struct test_exit_port *t,
			 const struct platform_ops *plat);
void test_exit_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write);

/* Port 0xf5, one byte. */
struct boot_timer_port {
	struct platform_ops plat;
};

void boot_timer_port_init(struct boot_timer_port *b,
			  const struct platform_ops *plat);
void boot_timer_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write);

/* Port 0xf6, one byte (wider reads: the value, then zeros). */
struct snapshot_port {
	struct platform_ops plat;
	bool enabled;		  /* writes ask for a snapshot */
	_Atomic uint8_t restored; /* what reads return */
};

void snapshot_port_init(struct snapshot_port *p,
			const struct platform_ops *plat, bool enabled);
/* The VM now runs from a snapshot: reads return 1. */
void snapshot_port_set_restored(struct snapshot_port *p);
void snapshot_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		      bool is_write);

/*
 * Ports 0x3c0-0x3c1, registered as one 2-byte range at 0x3c0. A wider
 * access is split into byte accesses at off, off + 1, ...; bytes beyond
 * the two registers read 0xff and are ignored on writes.
 */
#define ACPI_SLEEP_CTL_OFF 0
#define ACPI_SLEEP_STS_OFF 1
#define ACPI_SLEEP_NR_REGS 2

#define ACPI_SLP_EN 0x20     /* sleep control: start the transition */
#define ACPI_SLP_TYP_SHIFT 2 /* sleep control: SLP_TYPx, bits 4:2 */
#define ACPI_SLP_TYP_MASK 0x1c
#define ACPI_WAK_STS 0x80 /* sleep status: woken up */

struct acpi_sleep_port {
	struct platform_ops plat;
	_Atomic uint8_t status; /* sleep status register, write-1-to-clear */
};

void acpi_sleep_port_init(struct acpi_sleep_port *a,
			  const struct platform_ops *plat);
void acpi_sleep_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write);

struct snap_writer;
struct snap_reader;

/* Snapshots: the sleep status register (the other ports keep no state).
 * -EINVAL for a bad section (nothing changed). */
void acpi_sleep_port_save(struct acpi_sleep_port *a, struct snap_writer *w);
int acpi_sleep_port_restore(struct acpi_sleep_port *a, struct snap_reader *r);

/*
 * Port 0xcf9, one byte: the PC chipset's reset control register. A write
 * with RST_CPU set resets the machine (the guest rebooted), whatever the
 * other bits say (Linux first writes SYS_RST alone, then adds RST_CPU);
 * the register reads back as last written, RST_CPU clear.
 */
#define RESET_CTL_SYS_RST 0x02
#define RESET_CTL_RST_CPU 0x04
/* What the FADT's reset register asks the guest to write. */
#define RESET_CTL_HARD_RESET (RESET_CTL_SYS_RST | RESET_CTL_RST_CPU)

struct reset_ctl_port {
	struct platform_ops plat;
	_Atomic uint8_t value;
};

void reset_ctl_port_init(struct reset_ctl_port *r,
			 const struct platform_ops *plat);
void reset_ctl_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write);

#endif
