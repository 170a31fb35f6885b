/*
 * The smallest guest: a PVH-bootable ELF whose first instructions write the
 * test-exit port. Used by the startup benchmark and local smoke tests.
 * The exit value is STUB_EXIT_VALUE (default 42); with STUB_HANG the guest
 * prints a line on the UART and halts forever instead (for tests that
 * wait for output and stop a VM from the host); with STUB_SPEW it prints
 * lines on the UART forever (for tests of a console nobody reads), with
 * STUB_SPEW_POLITE the same but waiting for THRE before each byte, as a
 * driver does; with STUB_ECHO it prints "ready> " and echoes what it
 * reads from the UART (polling LSR), a new prompt after each newline,
 * and "x" followed by a byte V ends it with test-exit V (for tests that
 * type at a guest); with
 * STUB_TRIPLE it loads an empty IDT and traps: a triple fault; with
 * STUB_WIDE_WRITES (with STUB_HANG) the greeting is written 16 bits at a
 * time, which KVM does not coalesce: every byte an exit; with
 * STUB_LINUX_NOTE it also carries an ELF note owned by "Linux", as every
 * vmlinux does (kvmlite then takes it for a Linux kernel).
 *
 * With STUB_SNAPSHOT it exercises snapshots: it marks the boot timer
 * (0xf5), stores 0x5a at 2 MiB,
 * writes the snapshot port 0xf6, and reads it back. In a VM that booted
 * (0) it prints "stub: booted" and, with STUB_SNAPSHOT_EXIT, clears the
 * byte and exits with 10; without, it reads the port until it is non-zero
 * (a reset in place, or a restore of a snapshot the host took meanwhile).
 * Restored, it marks the boot timer (0xf5), prints "stub: restored 5a"
 * when the byte still holds 0x5a ("stub: restored ??" else), clears it
 * and exits with 20 (STUB_SNAPSHOT_EXIT) or halts.
 *
 * With STUB_COUNT it keeps a counter in guest RAM (a byte at 2 MiB, for
 * snapshot, reset and restore tests): it prints "stub: counting\n", then
 * for each byte it reads from the UART adds one to the counter and prints
 * "count=NN f6=BB\n" (the counter and a read of port 0xf6, both in hex);
 * the byte "x" instead ends it with test-exit NN.
 *
 * With STUB_PAGING it checks that a reset leaves KVM no stale shadow of a
 * guest page table: it turns on long mode's paging (tables at 3 MiB; 'A'
 * at 4 MiB, 'B' at 8 MiB; virtual 4 MiB through page table 1 to 'A'),
 * reads 4 MiB and asks for a snapshot (0xf6). Then it points virtual
 * 4 MiB at table 2 (to 'B'), prints "stub: 4M reads B" and spins until a
 * reset. Reset (the directory in RAM points at table 1 again), it prints
 * "stub: restored, 4M reads A", then points table 1 at 'B', reloads CR3
 * and prints "stub: table 1 changed, 4M reads B" (a shadow of table 2
 * left in table 1's place reads 'A'), and goes on as after the snapshot.
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

#if defined(STUB_ECHO) || defined(STUB_COUNT)
	/* A byte from the UART into %al, polling LSR (no stack in PVH). */
	.macro GETC label
	movw $0x3fd, %dx
\label:	inb %dx, %al
	testb $0x01, %al
	jz \label\()b
	movw $0x3f8, %dx
	inb %dx, %al
	.endm
#endif

	.text
	.code32
	.globl pvh_start
pvh_start:
#if defined(STUB_TRIPLE)
	lidt idt_empty
	int3
#elif defined(STUB_ECHO)
5:	movl $prompt, %esi	/* print the prompt */
	movw $0x3f8, %dx
6:	lodsb
	testb %al, %al
	jz 7f
	outb %al, %dx
	jmp 6b
7:	GETC 9
	cmpb $'x', %al
	je 8f
	movw $0x3f8, %dx
	outb %al, %dx		/* echo */
	cmpb $'\n', %al
	je 5b
	jmp 7b
8:	GETC 10
	outb %al, $0xf4
	jmp 1f
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
#elif defined(STUB_SNAPSHOT)
	movl $0x90000, %esp	/* PVH gives no stack */
	outb %al, $0xf5		/* the cold boot's marker */
	movb $0x5a, 0x200000
	outb %al, $0xf6
	inb $0xf6, %al
	testb %al, %al
	jnz 5f
	movl $booted, %esi
	call puts
#ifdef STUB_SNAPSHOT_EXIT
	movb $0, 0x200000
	movb $10, %al
	outb %al, $0xf4
#endif
4:	inb $0xf6, %al
	testb %al, %al
	jz 4b
5:	outb %al, $0xf5
	movl $restored, %esi
	call puts
	movl $good, %esi
	cmpb $0x5a, 0x200000
	je 6f
	movl $bad, %esi
6:	call puts
	movb $0, 0x200000
#ifdef STUB_SNAPSHOT_EXIT
	movb $20, %al
	outb %al, $0xf4
#endif
	jmp 1f
#elif defined(STUB_COUNT)
	movl $0x90000, %esp	/* PVH gives no stack */
	movb $0, 0x200000	/* the counter, in guest RAM */
	movl $counting, %esi
	call puts
11:	GETC 12
	cmpb $'x', %al
	je 16f
	incb 0x200000
	movl $count_is, %esi
	call puts
	movb 0x200000, %al
	call hex2
	movl $f6_is, %esi
	call puts
	inb $0xf6, %al
	call hex2
	movb $'\n', %al
	movw $0x3f8, %dx
	outb %al, %dx
	jmp 11b
16:	movb 0x200000, %al
	outb %al, $0xf4
	jmp 1f
hex2:	movb %al, %ah		/* %al as two hex digits */
	shrb $4, %al
	call hexdig
	movb %ah, %al
hexdig:	andb $0x0f, %al
	addb $'0', %al
	cmpb $'9', %al
	jbe 15f
	addb $('a' - '0' - 10), %al
15:	movw $0x3f8, %dx
	outb %al, %dx
	ret
#elif defined(STUB_PAGING)
	/* Long mode's paging (this KVM has no other; the code stays 32-bit,
	 * in compatibility mode): PML4 at 3 MiB, PDPT, directory, and two
	 * page tables for virtual 4 MiB. */
	movl $0x90000, %esp	/* PVH gives no stack */
	movl $0x300000, %edi
	xorl %eax, %eax
	movl $5120, %ecx
	cld
	rep stosl
	movl $0x301003, 0x300000
	movl $0x302003, 0x301000
	movl $0x000083, 0x302000	/* present, writable, 2 MiB */
	movl $0x200083, 0x302008
	movl $0x303003, 0x302010	/* virtual 4 MiB: page table 1 */
	movl $0x600083, 0x302018
	movl $0x800083, 0x302020
	movl $0x400003, 0x303000	/* table 1: 4 MiB -> 4 MiB ('A') */
	movl $0x800003, 0x304000	/* table 2: 4 MiB -> 8 MiB ('B') */
	movb $'A', 0x400000
	movb $'B', 0x800000
	movl %cr4, %eax
	orl $0x20, %eax		/* PAE */
	movl %eax, %cr4
	movl $0x300000, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000000, %eax	/* PG */
	movl %eax, %cr0
	movb 0x400000, %bl	/* KVM shadows table 1 now */
	outb %al, $0xf6
	inb $0xf6, %al
	testb %al, %al
	jz 4f
	movb 0x400000, %bl	/* reset: through table 1, as in RAM */
	movl $pt_restored, %esi
	call puts
	movb %bl, %al
	call pputc
	movl $0x800003, 0x303000	/* table 1: 4 MiB -> 8 MiB */
	movl %cr3, %eax		/* flush the TLB */
	movl %eax, %cr3
	movb 0x400000, %bl
	movl $pt_changed, %esi
	call puts
	movb %bl, %al
	call pputc
4:	movl $0x304003, 0x302010	/* virtual 4 MiB: page table 2 */
	invlpg 0x400000
	movb 0x400000, %bl
	movl $pt_reads, %esi
	call puts
	movb %bl, %al
	call pputc
5:	jmp 5b			/* until a reset */
pputc:	movw $0x3f8, %dx	/* %al, then a newline */
	outb %al, %dx
	movb $'\n', %al
	outb %al, %dx
	ret
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
#ifdef STUB_WIDE_WRITES
	/* 16 bits wide: KVM's coalesced zone is THR's one byte, so each
	 * write exits, and its byte reaches the UART on the vCPU thread. */
	movzbw %al, %ax
	outw %ax, %dx
#else
	outb %al, %dx
#endif
	jmp 2b
#endif
1:	hlt
	jmp 1b

#if defined(STUB_SNAPSHOT) || defined(STUB_COUNT) || defined(STUB_PAGING)
puts:	movw $0x3f8, %dx	/* the string at %esi on the UART */
2:	lodsb
	testb %al, %al
	jz 3f
	outb %al, %dx
	jmp 2b
3:	ret
#endif

#ifdef STUB_SNAPSHOT
	.section .rodata
booted:
	.asciz "stub: booted\n"
restored:
	.asciz "stub: restored "
good:
	.asciz "5a\n"
bad:
	.asciz "??\n"
#endif
#ifdef STUB_COUNT
	.section .rodata
counting:
	.asciz "stub: counting\n"
count_is:
	.asciz "count="
f6_is:
	.asciz " f6="
#endif
#ifdef STUB_PAGING
	.section .rodata
pt_reads:
	.asciz "stub: 4M reads "
pt_restored:
	.asciz "stub: restored, 4M reads "
pt_changed:
	.asciz "stub: table 1 changed, 4M reads "
#endif
#ifdef STUB_ECHO
	.section .rodata
prompt:
	.asciz "ready> "
#endif
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
