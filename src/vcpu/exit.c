/* KVM exit dispatch: I/O and MMIO to the buses, the rest to exit states. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vm.h"

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *p;
	uint32_t size = run->io.size;
	uint64_t total = (uint64_t)run->io.count * size;

	/* data_offset/count come from KVM, but stay inside the run page. */
	if (size == 0 || size > 8 || run->io.data_offset >= v->run_size ||
	    total > v->run_size - run->io.data_offset)
		return;
	p = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, p += size)
		bus_dispatch(&v->vm->pio, run->io.port, p, size,
			     run->io.direction == KVM_EXIT_IO_OUT);
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;

	if (len == 0 || len > 8)
		return;
	bus_dispatch(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
		     run->mmio.is_write);
}

static void crash(struct vcpu *v, const char *what)
{
	char regs[1200];

	arch_regs_dump(v, regs, sizeof(regs));
	vm_request_exit(v->vm, KVMLITE_EXIT_CRASH, 0,
			"guest crashed: %s on vCPU %u\n%s", what, v->id, regs);
}

/* Returns non-zero when this vCPU must stop. */
int vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[160];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return 0;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return 0;
	case KVM_EXIT_INTR:
		return 0;
	case KVM_EXIT_SHUTDOWN:
		crash(v, arch_shutdown_exit_name);
		return 1;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_exit(v->vm, KVMLITE_EXIT_POWEROFF, 0,
					"guest powered off");
			return 1;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_exit(v->vm, KVMLITE_EXIT_REBOOT, 0,
					"guest rebooted");
			return 1;
		default:
			snprintf(what, sizeof(what),
				 "system event %u (KVM_EXIT_SYSTEM_EVENT)",
				 run->system_event.type);
			crash(v, what);
			return 1;
		}
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what),
			 "KVM internal error, suberror %u%s",
			 run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
				 ? " (instruction emulation failed)"
				 : "");
		crash(v, what);
		return 1;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what),
			 "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)
				 run->fail_entry.hardware_entry_failure_reason);
		crash(v, what);
		return 1;
	default:
		snprintf(what, sizeof(what), "unexpected KVM exit reason %u",
			 run->exit_reason);
		crash(v, what);
		return 1;
	}
}
