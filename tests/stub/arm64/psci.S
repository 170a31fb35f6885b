/*
 * A stub that ends its VM through PSCI, as Linux's poweroff and reboot
 * do: PSCI_FN (PSCI_SYSTEM_OFF, kvmlite's status 0, or PSCI_SYSTEM_RESET,
 * 80) by hvc #0, the conduit kvmlite's device tree gives. It says which
 * first; a call that returns ends the VM with test-exit 3 instead.
 */
#include "stub.h"

#ifndef PSCI_FN
#error PSCI_FN: PSCI_SYSTEM_OFF or PSCI_SYSTEM_RESET
#endif

	.text
	IMAGE_HEADER start, stub_end
start:
	PUTS	what
	ldr	x0, =PSCI_FN
	mov	x1, #0			/* SYSTEM_RESET/OFF take no arguments */
	mov	x2, #0
	mov	x3, #0
	hvc	#0
	EXIT	3

#if PSCI_FN == PSCI_SYSTEM_OFF
what:	.asciz	"psci stub: SYSTEM_OFF\n"
#else
what:	.asciz	"psci stub: SYSTEM_RESET\n"
#endif
	.ltorg
	.balign	8
stub_end:
