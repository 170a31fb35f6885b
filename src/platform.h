/* Events that platform devices raise towards the VM. */
#ifndef KVMLITE_PLATFORM_H
#define KVMLITE_PLATFORM_H

enum platform_event {
	PLATFORM_POWEROFF,  /* ACPI S5 */
	PLATFORM_REBOOT,    /* i8042 reset line */
	PLATFORM_TEST_EXIT, /* value: byte written to the test-exit port */
	PLATFORM_BOOT_MARK, /* guest userspace wrote the boot-timer port */
	PLATFORM_SNAPSHOT,  /* the guest asked for a snapshot (port 0xf6) */
	PLATFORM_EXEC_FAIL, /* value: exec's init could not run (port 0xf7) */
};

struct platform_ops {
	/* Called from a vCPU thread, with no device lock held. */
	void (*event)(void *opaque, enum platform_event ev, int value);
	void *opaque;
};

static inline void platform_raise(const struct platform_ops *p,
				  enum platform_event ev, int value)
{
	if (p && p->event)
		p->event(p->opaque, ev, value);
}

#endif
