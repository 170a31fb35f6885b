/*
 * Entry of the hostile guests: PVH (32-bit flat protected mode, paging
 * off, interrupts off). Sets up a stack, clears .bss, calls
 * guest_main() and writes its return value (the verdict) to the test-exit
 * port. Assembled with -m32; the ELF is converted to ELFCLASS64, which
 * the kvmlite loader wants (see CMakeLists.txt).
 */
	.section .note.Xen, "a"
	.align 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.section .text.start, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	movl $stack_top, %esp
	xorl %ebp, %ebp
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	call guest_main
	outb %al, $0xf4
1:	hlt
	jmp 1b

	.section .bss
	.align 16
	.space 65536
stack_top:

	.section .note.GNU-stack, "", @progbits
