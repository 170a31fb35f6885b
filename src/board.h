/*
 * The board: the machine's fixed devices at their addresses, its
 * interrupt lines, and where virtio devices go. One implementation per
 * architecture (board_x86.c: the PC ports, the UART, i8042, RTC, the ACPI,
 * reset and test ports, the power button's GED line, virtio-mmio windows;
 * board_arm64.c: the UART and the test devices by MMIO, the vGIC's SPIs,
 * virtio-mmio windows, PSCI for power); board_console.c has what the
 * console's UART does alike on both.
 */
#ifndef KVMLITE_BOARD_H
#define KVMLITE_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "devices/platform_ports.h"
#include "devices/serial8250.h"
#include "dumpbuf.h"
#include "loader/loader.h"
#ifdef KVMLITE_ARCH_X86
#include "devices/i8042.h"
#include "devices/rtc.h"
#endif

struct kvmlite_vm;

#ifdef KVMLITE_ARCH_X86
struct board {
	struct serial8250 serial; /* the console's UART */
	struct i8042 i8042;
	struct rtc rtc;
	struct test_exit_port test_exit;
	struct test_exit_port exec_fail;
	struct boot_timer_port boot_timer;
	struct snapshot_port snapshot;
	struct acpi_sleep_port acpi_sleep;
	struct reset_ctl_port reset_ctl;
	struct platform_ops plat;
	bool ready;
};
#else
struct board {
	struct serial8250 serial; /* the console's UART, by MMIO */
	struct test_exit_port test_exit;
	struct boot_timer_port boot_timer;
	struct platform_ops plat;
	int gic_fd; /* the vGICv3 device, when gic_open */
	bool gic_open;
	bool ready;
};
#endif

/*
 * Create the fixed devices, wire their events to the VM's exit, their
 * interrupts to KVM and the UART to the VM's console, and register them on
 * the buses. After kvm_create_vm(). The snapshot port takes writes when
 * the VM has a snapshot directory. 0 or -errno with a message.
 */
int board_create(struct kvmlite_vm *vm, char *err, size_t errlen);
/* Zones whose guest writes KVM may coalesce (coalesced.h), once the
 * vCPUs exist; best effort: without them every write exits. */
void board_coalesce_writes(struct kvmlite_vm *vm);
void board_destroy(struct kvmlite_vm *vm);

/* Virtio slot @slot's MMIO window and GSI (slots < KVMLITE_MAX_DEVICES). */
void board_virtio_window(unsigned int slot, struct boot_mmio_dev *w);

/* Press the power button: 0 or -errno. */
int board_power_button(struct kvmlite_vm *vm);

/* The console's UART, alike on every board (board_console.c): the UART's
 * sent-bytes callback (@opaque the VM), and the console's tx_ready. */
void board_console_sent(void *opaque, const uint8_t *buf, size_t len);
void board_console_tx_ready(void *opaque);
/* Host input for the console's UART; returns the bytes it took. */
size_t board_console_input(struct kvmlite_vm *vm, const uint8_t *buf,
			   size_t len);
/* Bytes the guest lost writing to a busy console UART. */
uint64_t board_console_overruns(struct kvmlite_vm *vm);

struct snap_writer;
struct snapfile;

/* Snapshots: the fixed devices' sections (UART, RTC, i8042, platform).
 * board_restore() refuses a missing or bad one (-EINVAL, naming it) and
 * drives the UART's line to the restored level; then the VM runs from a
 * snapshot (port 0xf6 reads 1). */
void board_save(struct kvmlite_vm *vm, struct snap_writer *w);
int board_restore(struct kvmlite_vm *vm, const struct snapfile *f, char *err,
		  size_t errlen);

/* The fixed devices' lines for the state dump. */
void board_dump(struct kvmlite_vm *vm, struct dumpbuf *b);

#endif
