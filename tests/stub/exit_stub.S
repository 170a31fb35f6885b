/*
 * The smallest guest: a PVH-bootable ELF whose first instructions write the
 * test-exit port. Used by the startup benchmark and local smoke tests.
 * The exit value is STUB_EXIT_VALUE (default 42); with STUB_HANG the guest
 * prints a line on the UART and halts forever instead (for tests that
 * wait for output and stop a VM from the host); with STUB_SPEW it prints
 * lines on the UART forever (for tests of a console nobody reads), with
 * STUB_SPEW_POLITE the same but waiting for THRE before each byte, as a
 * driver does; with
 * STUB_TRIPLE it loads an empty IDT and traps: a triple fault; with
 * STUB_LINUX_NOTE it also carries an ELF note owned by "Linux", as every
 * vmlinux does (kvmlite then takes it for a Linux kernel).
 */
#ifndef STUB_EXIT_VALUE
#define STUB_EXIT_VALUE 42
#endif

	.section .note.Xen, "a"
	.align 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start
#ifdef STUB_LINUX_NOTE
	.align 4
	.long 6			/* name size: "Linux\0" */
	.long 4
	.long 0x100		/* LINUX_ELFNOTE_BUILD_SALT */
	.asciz "Linux"
	.align 4
	.long 0
#endif

	.text
	.code32
	.globl pvh_start
pvh_start:
#if defined(STUB_TRIPLE)
	lidt idt_empty
	int3
#elif defined(STUB_SPEW) && defined(STUB_SPEW_POLITE)
3:	movl $spew, %esi
2:	lodsb
	testb %al, %al
	jz 3b
	movb %al, %bl
	movw $0x3fd, %dx	/* LSR: wait for THRE */
4:	inb %dx, %al
	testb $0x20, %al
	jz 4b
	movw $0x3f8, %dx
	movb %bl, %al
	outb %al, %dx
	jmp 2b
#elif defined(STUB_SPEW)
	movw $0x3f8, %dx
3:	movl $spew, %esi
2:	lodsb
	testb %al, %al
	jz 3b
	outb %al, %dx
	jmp 2b
#elif !defined(STUB_HANG)
	movb $STUB_EXIT_VALUE, %al
	outb %al, $0xf4
#else
	/* Say hello on the UART (THR at 0x3f8), then halt forever. */
	movl $hello, %esi
	movw $0x3f8, %dx
2:	lodsb
	testb %al, %al
	jz 1f
	outb %al, %dx
	jmp 2b
#endif
1:	hlt
	jmp 1b

#ifdef STUB_HANG
	.section .rodata
hello:
	.asciz "stub: hello from the guest\n"
#endif
#ifdef STUB_TRIPLE
	.section .rodata
idt_empty:
	.word 0
	.long 0
#endif
#ifdef STUB_SPEW
	.section .rodata
spew:
	.asciz "stub: 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
#endif
