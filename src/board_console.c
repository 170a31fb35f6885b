/*
 * The board's UART as the VM's console, the same on every architecture
 * (board.h): what it sent goes to the caller's callback and the expect
 * log, and the console wakes it when a byte its gate refused may go.
 */
#include "board.h"

#include "console_log.h"
#include "vm.h"

void board_console_sent(void *opaque, const uint8_t *buf, size_t len)
{
	struct kvmlite_vm *vm = opaque;

	if (vm->cfg.console_cb)
		vm->cfg.console_cb(vm->cfg.console_opaque, (const char *)buf,
				   len);
	console_log_append(&vm->con, (const char *)buf, len);
}

void board_console_tx_ready(void *opaque)
{
	struct kvmlite_vm *vm = opaque;

	serial8250_tx_ready(&vm->board.serial);
}

size_t board_console_input(struct kvmlite_vm *vm, const uint8_t *buf,
			   size_t len)
{
	return vm->board.ready ? serial8250_receive(&vm->board.serial, buf, len)
			       : 0;
}

uint64_t board_console_overruns(struct kvmlite_vm *vm)
{
	return vm->board.ready ? serial8250_tx_overruns(&vm->board.serial) : 0;
}
