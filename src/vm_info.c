/*
 * What a VM tells its owner, and the console calls: the exit and its
 * status, timings, errors and warnings, console statistics, input and
 * expect. Lifecycle is vm.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dumpbuf.h"
#include "vm.h"

unsigned int kvmlite_version(void)
{
	return KVMLITE_VERSION;
}

const char *kvmlite_version_string(void)
{
	return KVMLITE_VERSION_STRING;
}

int kvmlite_exit_status(const struct kvmlite_exit *e)
{
	switch (e->reason) {
	case KVMLITE_EXIT_POWEROFF:
		return KVMLITE_STATUS_POWEROFF;
	case KVMLITE_EXIT_REBOOT:
		return KVMLITE_STATUS_REBOOT;
	case KVMLITE_EXIT_TEST_EXIT:
	case KVMLITE_EXIT_EXEC_FAILED:
		return e->test_exit_value & 0xff;
	case KVMLITE_EXIT_CRASH:
		return KVMLITE_STATUS_CRASH;
	case KVMLITE_EXIT_STOPPED:
		return KVMLITE_STATUS_STOPPED;
	case KVMLITE_EXIT_NONE:
	case KVMLITE_EXIT_ERROR:
	default:
		return KVMLITE_STATUS_VMM_ERROR;
	}
}

void vm_set_error(struct kvmlite_vm *vm, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	va_start(ap, fmt);
	vsnprintf(vm->last_error, sizeof(vm->last_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&vm->lock);
}

void vm_mark_boot(struct kvmlite_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->t.guest_marker)
		vm->t.guest_marker = now_ns();
	pthread_mutex_unlock(&vm->lock);
}

/* Copy @n bytes of a struct to a caller's one of @size bytes (the ABI
 * rule in kvmlite.h): what it holds, zeros beyond ours. */
static void copy_out(void *out, size_t size, const void *in, size_t n)
{
	memcpy(out, in, size < n ? size : n);
	if (size > n)
		memset((char *)out + n, 0, size - n);
}

void kvmlite_vm_exit_info_sized(struct kvmlite_vm *vm, struct kvmlite_exit *out,
				size_t size)
{
	pthread_mutex_lock(&vm->lock);
	copy_out(out, size, &vm->exit, sizeof(vm->exit));
	pthread_mutex_unlock(&vm->lock);
}

void kvmlite_vm_timings_sized(struct kvmlite_vm *vm,
			      struct kvmlite_timings *out, size_t size)
{
	pthread_mutex_lock(&vm->lock);
	copy_out(out, size, &vm->t, sizeof(vm->t));
	pthread_mutex_unlock(&vm->lock);
}

int kvmlite_vm_exit_fd(struct kvmlite_vm *vm)
{
	return vm->exit_fd;
}

const char *kvmlite_vm_warning(struct kvmlite_vm *vm)
{
	return vm->warning;
}

const char *kvmlite_vm_last_error(struct kvmlite_vm *vm)
{
	return vm->last_error;
}

void kvmlite_vm_console_stats_sized(struct kvmlite_vm *vm,
				    struct kvmlite_console_stats *out,
				    size_t size)
{
	struct kvmlite_console_stats st = { 0 };
	struct console_stats s;

	console_get_stats(&vm->console, &s);
	st.written = s.written;
	st.dropped = s.dropped + board_console_overruns(vm);
	st.stalls = s.stalls;
	st.queued = s.queued;
	st.out_error = s.out_error;
	copy_out(out, size, &st, sizeof(st));
}

size_t kvmlite_vm_console_write(struct kvmlite_vm *vm, const void *buf,
				size_t len)
{
	return board_console_input(vm, buf, len);
}

int kvmlite_vm_expect(struct kvmlite_vm *vm, const char *needle, int timeout_ms,
		      char *seen, size_t seen_len)
{
	if (!needle)
		return -EINVAL;
	return console_log_expect(&vm->con, needle, timeout_ms, seen, seen_len);
}

int kvmlite_vm_counters(struct kvmlite_vm *vm, char *buf, size_t len)
{
	struct dumpbuf b = { .buf = buf, .size = len };
	struct kvmlite_console_stats cs;

	if (!vm)
		return -EINVAL;
	if (buf && len)
		buf[0] = '\0';
	kvmlite_vm_console_stats(vm, &cs);
	dumpbuf_printf(&b,
		       "{\"console\":{\"written\":%llu,\"dropped\":%llu,"
		       "\"stalls\":%llu}",
		       (unsigned long long)cs.written,
		       (unsigned long long)cs.dropped,
		       (unsigned long long)cs.stalls);
	if (vm->virtio.nr)
		dumpbuf_printf(&b, ",");
	virtio_slots_counters(&vm->virtio, &b);
	dumpbuf_printf(&b, "}\n");
	return b.need > (size_t)2147483647 ? -E2BIG : (int)b.need;
}
