/*
 * What the arm64 stub guests share (the .S files beside it): the board's
 * addresses (src/arm64_layout.h), PSCI's function ids, and macros for the
 * Image header, UART output and the test-exit byte.
 *
 * The stubs run as kvmlite enters an Image: EL1, MMU and caches off,
 * interrupts masked, x0 the device tree (unused here), no stack. With the
 * MMU off every data access is Device memory: each one must be aligned,
 * and MMIO goes through plain ldr/str (no writeback, no pairs) so that
 * KVM gets a valid syndrome and exits to kvmlite instead of failing.
 */
#ifndef KVMLITE_STUB_ARM64_H
#define KVMLITE_STUB_ARM64_H

#define UART 0x09000000	     /* 16550, byte registers */
#define UART_THR 0	     /* write: transmit */
#define UART_LSR 5	     /* read: line status */
#define UART_LSR_THRE_BIT 5  /* set: the transmitter takes a byte */
#define TEST_EXIT 0x09010000 /* strb V: the VM ends with status V */
#define VIRTIO_MMIO 0x0a000000
#define VIRTIO_WINDOW 0x200

/* PSCI 0.2 (SMC32 ids), by hvc #0 as the device tree's /psci says. */
#define PSCI_SYSTEM_OFF 0x84000008
#define PSCI_SYSTEM_RESET 0x84000009

#ifdef __ASSEMBLER__

/* The 64-byte arm64 Image header (Documentation/arch/arm64/booting.rst)
 * that kvmlite's loader checks: code0 branches to \entry; text_offset 0
 * (RAM's 2 MiB aligned start); image_size up to \end (nonzero, else the
 * loader takes an old kernel's text_offset); flags 0 (little-endian). */
.macro IMAGE_HEADER entry, end
	.globl	image_head		/* the entry stub.ld names */
image_head:
	b	\entry			/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset */
	.quad	\end - image_head	/* image_size */
	.quad	0			/* flags */
	.quad	0, 0, 0			/* res2, res3, res4 */
	.ascii	"ARM\x64"		/* magic, at offset 56 */
	.long	0			/* res5 */
	.endm

/* Print the NUL-terminated string at \label, waiting for THRE before each
 * byte as a driver does. Clobbers x1-x4. */
	.macro PUTS label
	adr	x1, \label
	mov	x2, #UART
1:	ldrb	w3, [x1], #1		/* RAM, not MMIO: writeback is fine */
	cbz	w3, 3f
2:	ldrb	w4, [x2, #UART_LSR]
	tbz	w4, #UART_LSR_THRE_BIT, 2b
	strb	w3, [x2, #UART_THR]
	b	1b
3:
	.endm

/* End the VM with status \value (0-255); should the write not end it,
 * the vCPU idles rather than run off into whatever follows. */
	.macro EXIT value
	mov	x9, #TEST_EXIT
	mov	w10, #\value
	strb	w10, [x9]
4:	wfi
	b	4b
	.endm

#endif /* __ASSEMBLER__ */
#endif
