/*
 * The arm64 smoke stub: prints "hello from arm64 stub" on the UART and
 * ends the VM with test-exit 42. The whole path on arm64: the Image
 * loader, vCPU entry, MMIO exits to the UART and the test-exit byte, the
 * console and the exit status (tests/boot/arm64_stubs.sh).
 */
#include "stub.h"

	.text
	IMAGE_HEADER start, stub_end
start:
	PUTS	hello
	EXIT	42

hello:	.asciz	"hello from arm64 stub\n"
	.balign	8
stub_end:
