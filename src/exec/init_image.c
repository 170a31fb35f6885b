/* The exec init (src/guest/exec_init.c), built static by CMake and
 * embedded here as it is (EXEC_INIT_PATH names the binary). */
#include "exec/exec.h"

__asm__(".section .rodata\n"
	".balign 16\n"
	".globl exec_init_image\n"
	".hidden exec_init_image\n"
	"exec_init_image:\n"
	".incbin \"" EXEC_INIT_PATH "\"\n"
	".globl exec_init_image_end\n"
	".hidden exec_init_image_end\n"
	"exec_init_image_end:\n"
	".previous\n");
