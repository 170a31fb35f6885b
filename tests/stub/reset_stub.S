/*
 * Stub guests that reboot the way Linux does (arch/x86/kernel/reboot.c),
 * one way each; a guest still running afterwards writes 1 to the
 * test-exit port, so a reset that did nothing fails at once:
 *   RESET_KBD   poll the i8042 status for an empty input buffer, then
 *               command 0xfe (pulse the reset line): reboot=kbd
 *   RESET_CF9   0x02, then 0x06 to the reset control port: reboot=pci,
 *               and what the FADT's reset register says: reboot=acpi
 *   RESET_BIOS  back to real mode and a far jump to F000:FFF0, the reset
 *               vector, as machine_real_restart() does: Linux's default
 *               on a hardware-reduced ACPI machine without EFI
 */
	.section .note.Xen, "a"
	.align 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.text
	.code32
	.globl pvh_start
pvh_start:
#if defined(RESET_KBD)
	movw $0x64, %dx
1:	inb %dx, %al
	testb $0x02, %al	/* input buffer full: wait */
	jnz 1b
	movb $0xfe, %al
	outb %al, %dx
#elif defined(RESET_CF9)
	movw $0xcf9, %dx
	movb $0x02, %al
	outb %al, %dx
	movb $0x06, %al
	outb %al, %dx
#else
	lgdt gdt_desc
	/* A 16-bit code segment based at this code, then real mode. */
	ljmp $0x08, $(pm16 - pvh_start)
	.code16
pm16:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr0, %eax
	andl $0xfffffffe, %eax
	movl %eax, %cr0
	ljmp $0xf000, $0xfff0
	.code32
#endif
	movb $1, %al
	outb %al, $0xf4
2:	hlt
	jmp 2b

#if !defined(RESET_KBD) && !defined(RESET_CF9)
	.section .rodata
	.align 8
gdt:
	.quad 0
	.quad 0x00009a100000ffff	/* 16-bit code, base 0x100000 */
	.quad 0x000092000000ffff	/* 16-bit data, base 0 */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt
#endif
