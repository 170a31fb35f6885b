/*
 * The x86 board: a PC's few legacy devices at their ports (x86_layout.h),
 * their interrupts on the in-kernel IOAPIC, the UART as the VM's console,
 * and virtio-mmio windows above the RAM below 4 GiB. See board.h.
 */
#include "board.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "err.h"
#include "exec/exec.h"
#include "kvm.h"
#include "snapfile.h"
#include "snapshot.h"
#include "virtio/mmio.h"
#include "vm.h"
#include "x86_layout.h"

_Static_assert(GSI_VIRTIO_BASE + KVMLITE_MAX_DEVICES <= GSI_MAX,
	       "every virtio slot has an IOAPIC pin");

/* The port map: every fixed device and where it answers. */
static const struct {
	uint16_t port;
	uint16_t len;
	bus_handler_fn fn;
	size_t dev; /* offsetof(struct board, the device) */
	const char *name;
} port_map[] = {
	{ PORT_SERIAL0, 8, serial8250_io, offsetof(struct board, serial),
	  "serial0" },
	{ PORT_RTC, 2, rtc_io, offsetof(struct board, rtc), "rtc" },
	{ PORT_I8042_DATA, 1, i8042_data_io, offsetof(struct board, i8042),
	  "i8042-data" },
	{ PORT_I8042_CMD, 1, i8042_cmd_io, offsetof(struct board, i8042),
	  "i8042-cmd" },
	{ PORT_TEST_EXIT, 1, test_exit_port_io,
	  offsetof(struct board, test_exit), "test-exit" },
	{ PORT_EXEC_FAIL, 1, test_exit_port_io,
	  offsetof(struct board, exec_fail), "exec-fail" },
	{ PORT_BOOT_TIMER, 1, boot_timer_port_io,
	  offsetof(struct board, boot_timer), "boot-timer" },
	{ PORT_SNAPSHOT, 1, snapshot_port_io, offsetof(struct board, snapshot),
	  "snapshot" },
	{ PORT_ACPI_SLEEP_CTL, 2, acpi_sleep_port_io,
	  offsetof(struct board, acpi_sleep), "acpi-sleep" },
	{ PORT_RESET_CTL, 1, reset_ctl_port_io,
	  offsetof(struct board, reset_ctl), "reset-ctl" },
};

/* What the platform devices ask of the VM. */
static void platform_event(void *opaque, enum platform_event ev, int value)
{
	struct kvmlite_vm *vm = opaque;

	switch (ev) {
	case PLATFORM_POWEROFF:
		vm_request_exit(vm, KVMLITE_EXIT_POWEROFF, 0,
				"guest powered off");
		break;
	case PLATFORM_REBOOT:
		vm_request_exit(vm, KVMLITE_EXIT_REBOOT, 0, "guest rebooted");
		break;
	case PLATFORM_TEST_EXIT:
		vm_request_exit(vm, KVMLITE_EXIT_TEST_EXIT, value & 0xff,
				"guest test-exit with value %d", value & 0xff);
		break;
	case PLATFORM_BOOT_MARK:
		vm_mark_boot(vm);
		break;
	case PLATFORM_SNAPSHOT:
		snapshot_request(vm);
		break;
	case PLATFORM_EXEC_FAIL:
		/* Only exec's own init writes there; elsewhere a no-op. */
		if (vm->exec)
			vm_exec_failed(vm, value & 0xff);
		break;
	}
}

static void irq_set_level(void *opaque, unsigned int gsi, int level)
{
	struct kvmlite_vm *vm = opaque;
	int ret = kvm_irq_line(vm->vm_fd, gsi, level);

	if (ret)
		vm_set_error(vm, "KVM_IRQ_LINE %u: %s", gsi, strerror(-ret));
}

/* The UART as the console: each byte may go when the console's buffer has
 * room (the gate, under the UART's lock); sent bytes feed the expect log
 * and the caller's callback. */
static bool console_gate_fn(void *opaque, uint8_t byte)
{
	struct kvmlite_vm *vm = opaque;
	struct console *to = &vm->console;

	if (!vm->exec)
		return console_gate(to, byte);
	/* exec: the init's frames split into stdout and stderr. */
	switch (exec_demux_route(&vm->demux, byte)) {
	case EXEC_SINK_STDERR:
		if (vm->console_err_ready)
			to = &vm->console_err;
		break;
	case EXEC_SINK_NONE:
		to = NULL;
		break;
	case EXEC_SINK_STDOUT:
		break;
	}
	if (to && !console_gate(to, byte))
		return false;
	exec_demux_took(&vm->demux, byte);
	return true;
}

/* ---- arch.h: x86's machine ---- */

int arch_vm_setup(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	int ret = kvm_x86_supported_cpuid(vm->kvm_fd, &vm->cpuid);

	if (!ret)
		ret = x86_cpu_model_setup(vm);
	if (ret)
		return err_fmt(err, errlen, ret, "KVM_GET_SUPPORTED_CPUID: %s",
			       strerror(-ret));
	return 0;
}

int arch_vcpus_created(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	return 0;
}

int arch_ram_regions(uint64_t size, uint8_t *base, struct guest_region *r)
{
	uint64_t low = size < LAYOUT_MMIO_HOLE ? size : LAYOUT_MMIO_HOLE;

	r[0] = (struct guest_region){ 0, low, base };
	if (size == low)
		return 1;
	r[1] = (struct guest_region){ LAYOUT_MMIO_HOLE_END, size - low,
				      base + low };
	return 2;
}

int board_create(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	struct board *b = &vm->board;
	struct irq_line serial_irq = { irq_set_level, vm, IRQ_SERIAL0 };
	int ret;

	b->plat = (struct platform_ops){ platform_event, vm };
	ret = serial8250_init(&b->serial, &serial_irq, board_console_sent, vm);
	if (ret)
		goto fail;
	ret = i8042_init(&b->i8042, &b->plat);
	if (ret)
		goto fail_serial;
	ret = rtc_init(&b->rtc);
	if (ret)
		goto fail_i8042;
	test_exit_port_init(&b->test_exit, &b->plat);
	test_exit_port_init(&b->exec_fail, &b->plat);
	b->exec_fail.event = PLATFORM_EXEC_FAIL;
	boot_timer_port_init(&b->boot_timer, &b->plat);
	snapshot_port_init(&b->snapshot, &b->plat, snapshot_enabled(vm));
	acpi_sleep_port_init(&b->acpi_sleep, &b->plat);
	reset_ctl_port_init(&b->reset_ctl, &b->plat);
	b->ready = true;
	serial8250_set_tx_gate(&b->serial, console_gate_fn, vm);
	vm->console.tx_ready = board_console_tx_ready;
	vm->console_err.tx_ready = board_console_tx_ready;

	for (size_t i = 0; i < ARRAY_LEN(port_map); i++) {
		ret = bus_register(&vm->pio, port_map[i].port, port_map[i].len,
				   port_map[i].fn, (char *)b + port_map[i].dev,
				   port_map[i].name);
		if (ret)
			return err_fmt(err, errlen, ret, "device setup: %s: %s",
				       port_map[i].name, strerror(-ret));
	}
	return 0;

fail_i8042:
	i8042_destroy(&b->i8042);
fail_serial:
	serial8250_destroy(&b->serial);
fail:
	return err_fmt(err, errlen, ret, "device setup: %s", strerror(-ret));
}

void board_coalesce_writes(struct kvmlite_vm *vm)
{
	/* THR only: a byte written there needs no answer, and the guest
	 * reads IIR or LSR (an exit, which plays it first) before it relies
	 * on its effect. */
	(void)kvm_coalesce_writes(vm->vm_fd, PORT_SERIAL0 + U8250_TX, 1, true);
}

void board_destroy(struct kvmlite_vm *vm)
{
	struct board *b = &vm->board;

	if (!b->ready)
		return;
	serial8250_destroy(&b->serial);
	i8042_destroy(&b->i8042);
	rtc_destroy(&b->rtc);
	b->ready = false;
}

void board_virtio_window(unsigned int slot, struct boot_mmio_dev *w)
{
	*w = (struct boot_mmio_dev){
		.base = LAYOUT_VIRTIO_MMIO + slot * VIRTIO_MMIO_WINDOW,
		.size = VIRTIO_MMIO_WINDOW,
		.gsi = GSI_VIRTIO_BASE + slot,
	};
}

int board_power_button(struct kvmlite_vm *vm)
{
	/* A pulse on the GED's edge-triggered line: a button press. */
	int ret = kvm_irq_line(vm->vm_fd, IRQ_GED, 1);

	return ret ? ret : kvm_irq_line(vm->vm_fd, IRQ_GED, 0);
}

void board_save(struct kvmlite_vm *vm, struct snap_writer *w)
{
	struct board *b = &vm->board;

	snap_begin(w, SNAP_UART, 0);
	serial8250_save(&b->serial, w);
	snap_end(w);
	snap_begin(w, SNAP_RTC, 0);
	rtc_save(&b->rtc, w);
	snap_end(w);
	snap_begin(w, SNAP_I8042, 0);
	i8042_save(&b->i8042, w);
	snap_end(w);
	snap_begin(w, SNAP_PLATFORM, 0);
	acpi_sleep_port_save(&b->acpi_sleep, w);
	snap_end(w);
}

int board_restore(struct kvmlite_vm *vm, const struct snapfile *f, char *err,
		  size_t errlen)
{
	struct board *b = &vm->board;
	struct snap_reader r;
	const char *bad = NULL;

	if (snapfile_section(f, SNAP_UART, 0, &r) ||
	    serial8250_restore(&b->serial, &r))
		bad = "UART";
	else if (snapfile_section(f, SNAP_RTC, 0, &r) ||
		 rtc_restore(&b->rtc, &r))
		bad = "RTC";
	else if (snapfile_section(f, SNAP_I8042, 0, &r) ||
		 i8042_restore(&b->i8042, &r))
		bad = "i8042";
	else if (snapfile_section(f, SNAP_PLATFORM, 0, &r) ||
		 acpi_sleep_port_restore(&b->acpi_sleep, &r))
		bad = "platform";
	if (bad)
		return err_fmt(err, errlen, -EINVAL,
			       "the %s section is missing or invalid", bad);
	snapshot_port_set_restored(&b->snapshot);
	/* Its console starts empty: a byte the gate held may go. */
	serial8250_tx_ready(&b->serial);
	return 0;
}

void board_dump(struct kvmlite_vm *vm, struct dumpbuf *b)
{
	struct kvm_ioapic_state io;
	int ret;

	if (vm->vm_fd >= 0) {
		/* The IOAPIC pins in use: unmasked, or an interrupt waiting. */
		ret = kvm_x86_get_ioapic(vm->vm_fd, &io);
		if (ret) {
			dumpbuf_printf(b, "ioapic: unreadable: %s\n",
				       strerror(-ret));
		} else {
			dumpbuf_printf(b, "ioapic: irr=0x%06x", io.irr);
			for (unsigned int pin = 0; pin < KVM_IOAPIC_NUM_PINS;
			     pin++) {
				const typeof(io.redirtbl[0].fields) *f =
					&io.redirtbl[pin].fields;

				if (f->mask && !(io.irr & (1u << pin)))
					continue;
				dumpbuf_printf(
					b, " pin%u=vec0x%02x,%s,%s%s%s,dest%u",
					pin, f->vector,
					f->trig_mode ? "level" : "edge",
					f->mask ? "masked" : "unmasked",
					f->remote_irr ? ",remote_irr" : "",
					f->delivery_status ? ",pending" : "",
					f->dest_id);
			}
			dumpbuf_printf(b, "\n");
		}
	}
	if (vm->board.ready) {
		dumpbuf_printf(b, "uart:");
		serial8250_dump(&vm->board.serial, b);
		dumpbuf_printf(b, "\n");
	}
}
