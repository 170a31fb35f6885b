/*
 * The arm64 board (arm64_layout.h): the in-kernel GICv3, the 16550 UART
 * on the MMIO bus as the VM's console (its line an SPI), the test-exit and
 * boot-timer bytes by MMIO, virtio-mmio windows with an SPI each. Power
 * is PSCI's, in KVM: SYSTEM_OFF and SYSTEM_RESET come back as
 * KVM_EXIT_SYSTEM_EVENT (vcpu/exit.c). See board.h.
 */
#include "board.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "arm64_layout.h"
#include "err.h"
#include "kvm.h"
#include "kvm_arm64.h"
#include "snapfile.h"
#include "snapshot.h"
#include "virtio/mmio.h"
#include "vm.h"

_Static_assert(ARM64_SPI_VIRTIO_BASE + KVMLITE_MAX_DEVICES + 32 <=
		       ARM64_GIC_NR_IRQS,
	       "every virtio slot has an SPI");

/* The vGIC's device fd, kept with the board. */
static int *gic_fd(struct kvmlite_vm *vm)
{
	return &vm->board.gic_fd;
}

int arch_vm_setup(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	int ret = kvm_arm64_vgic_create(vm->vm_fd, vm->cfg.cpus, gic_fd(vm),
					err, errlen);

	vm->board.gic_open = !ret;
	return ret;
}

int arch_vcpus_created(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	return kvm_arm64_vgic_init(*gic_fd(vm), err, errlen);
}

int arch_ram_regions(uint64_t size, uint8_t *base, struct guest_region *r)
{
	r[0] = (struct guest_region){ ARM64_RAM_BASE, size, base };
	return 1;
}

static void platform_event(void *opaque, enum platform_event ev, int value)
{
	struct kvmlite_vm *vm = opaque;

	switch (ev) {
	case PLATFORM_TEST_EXIT:
		vm_request_exit(vm, KVMLITE_EXIT_TEST_EXIT, value & 0xff,
				"guest test-exit with value %d", value & 0xff);
		break;
	case PLATFORM_BOOT_MARK:
		vm_mark_boot(vm);
		break;
	case PLATFORM_POWEROFF:
	case PLATFORM_REBOOT:
	case PLATFORM_SNAPSHOT:
	case PLATFORM_EXEC_FAIL:
		/* PSCI's, in KVM; no snapshots or exec on arm64 yet */
		break;
	}
}

static void irq_set_level(void *opaque, unsigned int spi, int level)
{
	struct kvmlite_vm *vm = opaque;
	int ret = kvm_arm64_spi_line(vm->vm_fd, spi, level);

	if (ret)
		vm_set_error(vm, "KVM_IRQ_LINE SPI %u: %s", spi,
			     strerror(-ret));
}

static bool console_gate_fn(void *opaque, uint8_t byte)
{
	struct kvmlite_vm *vm = opaque;

	return console_gate(&vm->console, byte);
}

int board_create(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	struct board *b = &vm->board;
	struct irq_line serial_irq = { irq_set_level, vm, ARM64_SPI_UART };
	int ret;

	b->plat = (struct platform_ops){ platform_event, vm };
	ret = serial8250_init(&b->serial, &serial_irq, board_console_sent, vm);
	if (ret)
		return err_fmt(err, errlen, ret, "device setup: %s",
			       strerror(-ret));
	test_exit_port_init(&b->test_exit, &b->plat);
	boot_timer_port_init(&b->boot_timer, &b->plat);
	b->ready = true;
	serial8250_set_tx_gate(&b->serial, console_gate_fn, vm);
	vm->console.tx_ready = board_console_tx_ready;

	ret = bus_register(&vm->mmio, ARM64_UART, ARM64_UART_SIZE,
			   serial8250_io, &b->serial, "uart");
	if (!ret)
		ret = bus_register(&vm->mmio, ARM64_TEST_EXIT, 1,
				   test_exit_port_io, &b->test_exit,
				   "test-exit");
	if (!ret)
		ret = bus_register(&vm->mmio, ARM64_BOOT_TIMER, 1,
				   boot_timer_port_io, &b->boot_timer,
				   "boot-timer");
	if (ret)
		return err_fmt(err, errlen, ret, "device setup: %s",
			       strerror(-ret));
	return 0;
}

void board_coalesce_writes(struct kvmlite_vm *vm)
{
	/* THR only, as on x86 (board_x86.c). */
	(void)kvm_coalesce_writes(vm->vm_fd, ARM64_UART + U8250_TX, 1, false);
}

void board_destroy(struct kvmlite_vm *vm)
{
	struct board *b = &vm->board;

	if (b->gic_open)
		close(b->gic_fd);
	b->gic_open = false;
	if (!b->ready)
		return;
	serial8250_destroy(&b->serial);
	b->ready = false;
}

void board_virtio_window(unsigned int slot, struct boot_mmio_dev *w)
{
	*w = (struct boot_mmio_dev){
		.base = ARM64_VIRTIO_MMIO + slot * VIRTIO_MMIO_WINDOW,
		.size = VIRTIO_MMIO_WINDOW,
		.gsi = ARM64_SPI_VIRTIO_BASE + slot,
	};
}

/* No power button on this board yet (it would be a GPIO key). */
int board_power_button(struct kvmlite_vm *vm)
{
	return -ENOTSUP;
}

void board_save(struct kvmlite_vm *vm, struct snap_writer *w)
{
	snap_begin(w, SNAP_UART, 0);
	serial8250_save(&vm->board.serial, w);
	snap_end(w);
}

int board_restore(struct kvmlite_vm *vm, const struct snapfile *f, char *err,
		  size_t errlen)
{
	return err_fmt(err, errlen, -ENOTSUP,
		       "snapshots are not supported on arm64 yet");
}

void board_dump(struct kvmlite_vm *vm, struct dumpbuf *b)
{
	if (vm->board.ready) {
		dumpbuf_printf(b, "uart:");
		serial8250_dump(&vm->board.serial, b);
		dumpbuf_printf(b, "\n");
	}
}
