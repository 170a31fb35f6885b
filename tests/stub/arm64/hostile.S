/*
 * The arm64 hostile stub: a guest that does what no driver would and
 * wants kvmlite to live through it and end the VM with test-exit 7, its
 * verdict (tests/boot/arm64_stubs.sh runs it with --memory 64M, a --disk
 * and --rng: virtio-blk and virtio-rng in the first two windows). Each
 * phase says its name on the UART first:
 *
 *   unmapped MMIO: writes and reads of each width (1, 2, 4, 8 bytes) at
 *     addresses no device claims, just past the UART, the test-exit byte
 *     and RAM; 2-, 4- and 8-byte writes of junk to the test-exit byte,
 *     which only a 1-byte write may take;
 *   UART: junk bytes into each of its 8 registers (the divisor latch,
 *     loopback, FIFO control, interrupt enables among them) and wider
 *     accesses; then a sane set-up again, and the next line must print;
 *   virtio-mmio: in each window (the 19 slots, KVMLITE_MAX_DEVICES, and
 *     one past) QueueNotify on queues never set up, a huge QueueNum, a
 *     queue selector out of range, a Status of 0xff, writes to read-only
 *     registers; a driver that negotiates, then points queue 0's rings
 *     outside RAM (at 0, the test-exit byte, its own window) and kicks
 *     it; reads past the config space. Where a device answers (at least
 *     one must: else test-exit 10), junk of each width at every offset
 *     and reads of each, then a reset, after which it must still read
 *     "virt", version 2 and status 0 (else test-exit 9);
 *   PSCI: hvc with function ids no one implements (each must answer
 *     NOT_SUPPORTED, -1: else test-exit 8).
 *
 * An exception taken by the stub (none is expected: KVM answers each of
 * these accesses, or exits to kvmlite with them) ends the VM with
 * test-exit 99.
 */
#include "stub.h"

#define JUNK 0xdeadbeefcafef00d
#define RAM_END 0x84000000 /* 2 GiB + 64 MiB: --memory 64M */
#define NR_WINDOWS 20	   /* KVMLITE_MAX_DEVICES (19), and one past */
#define VERDICT 7
#define VERDICT_BAD_HVC 8
#define VERDICT_BAD_DEVICE 9
#define VERDICT_NO_DEVICE 10
#define VIRTIO_MAGIC 0x74726976 /* "virt" */
#define VERDICT_EXCEPTION 99

/* virtio-mmio registers (virtio 1.2, 4.2.2; src/virtio/mmio.h). */
#define VM_MAGIC 0x000
#define VM_VERSION 0x004
#define VM_DEVICE_ID 0x008
#define VM_VENDOR_ID 0x00c
#define VM_DEV_FEATURES 0x010
#define VM_DEV_FEATURES_SEL 0x014
#define VM_DRV_FEATURES 0x020
#define VM_DRV_FEATURES_SEL 0x024
#define VM_QUEUE_SEL 0x030
#define VM_QUEUE_NUM_MAX 0x034
#define VM_QUEUE_NUM 0x038
#define VM_QUEUE_READY 0x044
#define VM_QUEUE_NOTIFY 0x050
#define VM_INT_STATUS 0x060
#define VM_INT_ACK 0x064
#define VM_STATUS 0x070
#define VM_DESC_LO 0x080
#define VM_DESC_HI 0x084
#define VM_DRIVER_LO 0x090
#define VM_DRIVER_HI 0x094
#define VM_DEVICE_LO 0x0a0
#define VM_DEVICE_HI 0x0a4
#define VM_CONFIG_GEN 0x0fc

/* Register \off of the window at x20 := \val (a 32-bit immediate). */
	.macro VW off, val
	ldr	w0, =\val
	str	w0, [x20, #\off]
	.endm

/* Every width, written with x21's junk and read back, at the 8-aligned
 * address in \a. */
	.macro POKE a
	strb	w21, [\a]
	strh	w21, [\a]
	str	w21, [\a]
	str	x21, [\a]
	ldrb	w0, [\a]
	ldrh	w0, [\a]
	ldr	w0, [\a]
	ldr	x0, [\a]
	.endm

/* An hvc with function id \fn (and junk arguments) must return -1. */
	.macro HVC_UNKNOWN fn, imm=0
	ldr	x0, =\fn
	mov	x1, x21
	mov	x2, x21
	mov	x3, x21
	hvc	#\imm
	cmn	w0, #1			/* 32 bits: SMC32 ids answer in w0 */
	b.ne	bad_hvc
	.endm

	.text
	IMAGE_HEADER start, stub_end
start:
	adr	x0, vectors
	msr	vbar_el1, x0
	isb
	ldr	x21, =JUNK

	PUTS	msg_unmapped
	adr	x22, unmapped
	adr	x23, unmapped_end
1:	ldr	x24, [x22], #8		/* the table is RAM: writeback is fine */
	POKE	x24
	cmp	x22, x23
	b.lo	1b
	/* Wider than the test-exit byte: must not end the VM. */
	mov	x24, #TEST_EXIT
	strh	w21, [x24]
	str	w21, [x24]
	str	x21, [x24]
	ldrb	w0, [x24]
	ldr	x0, [x24]

	PUTS	msg_uart
	mov	x20, #UART
	mov	x22, #0			/* register offset */
2:	adr	x23, uart_junk
	adr	x24, uart_junk_end
3:	ldrb	w25, [x23], #1
	strb	w25, [x20, x22]
	ldrb	w0, [x20, x22]
	cmp	x23, x24
	b.lo	3b
	add	x22, x22, #1
	cmp	x22, #8
	b.lo	2b
	/* Wider than its byte registers, at each aligned offset. */
	mov	x22, #0
4:	strh	w21, [x20, x22]
	ldrh	w0, [x20, x22]
	tst	x22, #3
	b.ne	5f
	str	w21, [x20, x22]
	ldr	w0, [x20, x22]
5:	add	x22, x22, #2
	cmp	x22, #8
	b.lo	4b
	str	x21, [x20]
	ldr	x0, [x20]
	/* A sane UART again: divisor 1, 8N1, FIFOs on and cleared, no
	 * interrupts, no loopback; then drain what loopback received. */
	mov	w0, #0x80
	strb	w0, [x20, #3]		/* LCR: DLAB */
	mov	w0, #1
	strb	w0, [x20, #0]		/* DLL */
	strb	wzr, [x20, #1]		/* DLM */
	mov	w0, #0x03
	strb	w0, [x20, #3]		/* LCR: 8N1 */
	strb	wzr, [x20, #1]		/* IER */
	mov	w0, #0x07
	strb	w0, [x20, #2]		/* FCR */
	strb	wzr, [x20, #4]		/* MCR */
	mov	x22, #64
6:	ldrb	w0, [x20, #UART_LSR]
	tbz	w0, #0, 7f		/* bit 0: data ready */
	ldrb	w0, [x20, #0]		/* RBR */
	subs	x22, x22, #1
	b.ne	6b
7:
	PUTS	msg_virtio
	mov	x20, #VIRTIO_MMIO
	mov	x26, #NR_WINDOWS
	mov	x28, #0			/* windows a device answered in */
window:
	/* A device here reads "virt" (MMIO no one claims reads all ones):
	 * the slow sweep below (an exit each access) only where one is. */
	ldr	w0, [x20, #VM_MAGIC]
	ldr	w1, =VIRTIO_MAGIC
	cmp	w0, w1
	cset	x27, eq
	add	x28, x28, x27
	/* Nonsense, register by register. */
	VW	VM_STATUS, 0xff		/* every bit: FAILED, DRIVER_OK, ... */
	VW	VM_QUEUE_NOTIFY, 0	/* queues never set up */
	VW	VM_QUEUE_NOTIFY, 1
	VW	VM_QUEUE_NOTIFY, 7
	VW	VM_QUEUE_NOTIFY, 8	/* past VIRTIO_MMIO_MAX_QUEUES */
	VW	VM_QUEUE_NOTIFY, 0xffffffff
	VW	VM_QUEUE_SEL, 0
	VW	VM_QUEUE_NUM, 0xffffffff
	VW	VM_QUEUE_NUM, 0x10000	/* one past the spec's largest */
	VW	VM_QUEUE_READY, 1	/* with no rings */
	VW	VM_QUEUE_NOTIFY, 0
	VW	VM_QUEUE_SEL, 0xffffffff
	VW	VM_QUEUE_NUM, 16
	VW	VM_DESC_LO, 0x80000000
	VW	VM_QUEUE_READY, 1
	ldr	w0, [x20, #VM_QUEUE_NUM_MAX]
	ldr	w0, [x20, #VM_QUEUE_READY]
	VW	VM_DEV_FEATURES_SEL, 0xffffffff
	ldr	w0, [x20, #VM_DEV_FEATURES]
	VW	VM_DRV_FEATURES_SEL, 0xffffffff
	VW	VM_DRV_FEATURES, 0xffffffff
	VW	VM_INT_ACK, 0xffffffff
	VW	VM_MAGIC, 0		/* read-only, all of them */
	VW	VM_VERSION, 0xffffffff
	VW	VM_DEVICE_ID, 0xffffffff
	VW	VM_VENDOR_ID, 0
	VW	VM_QUEUE_NUM_MAX, 0xffffffff
	VW	VM_INT_STATUS, 0xffffffff
	VW	VM_CONFIG_GEN, 0xffffffff
	VW	VM_STATUS, 0
	VW	VM_STATUS, 0xff
	/* A driver that negotiates VIRTIO_F_VERSION_1 and nothing else,
	 * then gives queue 0 rings outside RAM and kicks it. */
	VW	VM_STATUS, 0
	VW	VM_STATUS, 0x01		/* ACKNOWLEDGE */
	VW	VM_STATUS, 0x03		/* DRIVER */
	VW	VM_DRV_FEATURES_SEL, 1
	VW	VM_DRV_FEATURES, 1	/* bit 32: VERSION_1 */
	VW	VM_DRV_FEATURES_SEL, 0
	VW	VM_DRV_FEATURES, 0
	VW	VM_STATUS, 0x0b		/* FEATURES_OK */
	VW	VM_QUEUE_SEL, 0
	VW	VM_QUEUE_NUM, 16
	VW	VM_DESC_LO, 0		/* below RAM: nothing there */
	VW	VM_DESC_HI, 0
	VW	VM_DRIVER_LO, TEST_EXIT
	VW	VM_DRIVER_HI, 0
	mov	w0, w20			/* its own window */
	str	w0, [x20, #VM_DEVICE_LO]
	VW	VM_DEVICE_HI, 0
	VW	VM_QUEUE_READY, 1
	VW	VM_STATUS, 0x0f		/* DRIVER_OK */
	VW	VM_QUEUE_NOTIFY, 0
	VW	VM_QUEUE_NOTIFY, 0
	ldr	w0, [x20, #VM_STATUS]
	ldr	w0, [x20, #VM_QUEUE_READY]
	VW	VM_QUEUE_NOTIFY, 0
	/* Reads past the config space (blk's is 60 bytes), each width. */
	ldr	w0, [x20, #0x13c]
	ldr	w0, [x20, #0x140]
	ldr	x0, [x20, #0x180]
	ldrh	w0, [x20, #0x1fe]
	ldrb	w0, [x20, #0x1ff]
	str	w21, [x20, #0x140]
	cbz	x27, 9f
	/* Junk at every offset, each width, and reads of each. */
	mov	x22, #0
8:	add	x23, x20, x22
	strb	w21, [x23]
	strb	w21, [x23, #3]
	strh	w21, [x23, #2]
	strh	w21, [x23, #6]
	str	w21, [x23]
	str	w21, [x23, #4]
	str	x21, [x23]
	ldrb	w0, [x23]
	ldrb	w0, [x23, #5]
	ldrh	w0, [x23, #6]
	ldr	w0, [x23]
	ldr	w0, [x23, #4]
	ldr	x0, [x23]
	add	x22, x22, #8
	cmp	x22, #VIRTIO_WINDOW
	b.lo	8b
	/* After a reset the device is still itself. */
	VW	VM_STATUS, 0
	ldr	w0, [x20, #VM_MAGIC]
	ldr	w1, =VIRTIO_MAGIC
	cmp	w0, w1
	b.ne	bad_device
	ldr	w0, [x20, #VM_VERSION]
	cmp	w0, #2
	b.ne	bad_device
	ldr	w0, [x20, #VM_STATUS]
	cbnz	w0, bad_device
9:	VW	VM_STATUS, 0		/* reset */
	ror	x21, x21, #8		/* other junk for the next window */
	add	x20, x20, #VIRTIO_WINDOW
	subs	x26, x26, #1
	b.ne	window

	cbz	x28, no_device
	PUTS	msg_psci
	HVC_UNKNOWN 0x840000ff		/* PSCI's range (SMC32), unassigned */
	HVC_UNKNOWN 0xc40000ff		/* the same, SMC64 */
	HVC_UNKNOWN 0x8400ffff
	HVC_UNKNOWN 0x00000000		/* not a fast call */
	HVC_UNKNOWN 0xffffffff
	HVC_UNKNOWN 0x840000ff, 0xffff	/* an immediate other than 0 */

	PUTS	msg_survived
	EXIT	VERDICT

bad_hvc:
	PUTS	msg_bad_hvc
	EXIT	VERDICT_BAD_HVC
bad_device:
	PUTS	msg_bad_device
	EXIT	VERDICT_BAD_DEVICE
no_device:
	PUTS	msg_no_device
	EXIT	VERDICT_NO_DEVICE

	.ltorg
msg_unmapped:	.asciz	"hostile: unmapped MMIO\n"
msg_uart:	.asciz	"hostile: UART\n"
msg_virtio:	.asciz	"hostile: virtio-mmio\n"
msg_psci:	.asciz	"hostile: PSCI\n"
msg_survived:	.asciz	"hostile: survived\n"
msg_bad_hvc:	.asciz	"hostile: an unknown hvc did not return NOT_SUPPORTED (-1)\n"
msg_bad_device:	.asciz	"hostile: after the junk and a reset, a virtio device does not read virt, version 2, status 0\n"
msg_no_device:	.asciz	"hostile: no virtio-mmio window has a device (no --disk, no --rng?)\n"
uart_junk:	.byte	0xff, 0x00, 0x80, 0x1f, 0x10, 0x5a, 0xa5, 0xc7
uart_junk_end:

	.balign	8
unmapped:
	.quad	0x00000000		/* below the GIC */
	.quad	0x04000000
	.quad	UART + 8		/* just past the UART */
	.quad	UART + 0x1000
	.quad	TEST_EXIT + 8		/* past test-exit and boot-timer */
	.quad	TEST_EXIT + 0x10000
	.quad	0x0b000000		/* past the virtio-mmio windows */
	.quad	0x3ffffff8
	.quad	0x7ffffff8		/* just below RAM */
	.quad	RAM_END			/* just past it */
	.quad	0xfffffff8
unmapped_end:

/* VBAR_EL1: any exception ends the VM with VERDICT_EXCEPTION. */
	.balign	0x800
vectors:
	.rept	16
	.balign	0x80
	EXIT	VERDICT_EXCEPTION
	.endr
	.balign	8
stub_end:
