/* VM lifecycle: create, start, wait, stop, pause, destroy. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "arch.h"
#include "err.h"
#include "kvm.h"
#include "sandbox.h"
#include "vm.h"

/* How long a stop waits for vCPUs to leave, then for the console: at most
 * 100 ms of writing, and 50 ms of a reader that takes nothing. */
#define STOP_VCPU_WAIT_NS (200 * 1000000ULL)
#define STOP_CONSOLE_DRAIN_NS (100 * 1000000ULL)
#define STOP_CONSOLE_IDLE_NS (50 * 1000000ULL)

/* The VM is over for the caller: wake kvmlite_vm_wait() and exit_fd. */
static void finish_locked(struct kvmlite_vm *vm)
{
	if (vm->finished)
		return;
	vm->finished = true;
	/* The counter of a fresh eventfd: this write cannot fail. */
	if (vm->exit_fd >= 0)
		(void)eventfd_write(vm->exit_fd, 1);
	pthread_cond_broadcast(&vm->cond);
}

static void stop_threads_locked(struct kvmlite_vm *vm)
{
	vm->stopping = 1;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	/* The console thread finishes the VM once it has written the last
	 * output; without one, nothing is left to wait for. */
	if (vm->io_started)
		(void)eventfd_write(vm->io.stop_fd, 1);
	else if (!vm->start_in_progress)
		finish_locked(vm);
}

void vm_request_exit(struct kvmlite_vm *vm, enum kvmlite_exit_reason reason,
		     int value, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	if (vm->exit.reason == KVMLITE_EXIT_NONE) {
		vm->exit.reason = reason;
		vm->exit.test_exit_value = value;
		va_start(ap, fmt);
		vsnprintf(vm->exit.detail, sizeof(vm->exit.detail), fmt, ap);
		va_end(ap);
		if (reason == KVMLITE_EXIT_ERROR)
			snprintf(vm->last_error, sizeof(vm->last_error), "%.*s",
				 (int)sizeof(vm->last_error) - 1,
				 vm->exit.detail);
		vm->t.exit = now_ns();
		stop_threads_locked(vm);
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
	console_log_close(&vm->con);
}

/* The console's callbacks: input goes to the board's UART, escapes act on
 * the VM, a failed output is an error to report. */
static size_t console_in(void *opaque, const uint8_t *buf, size_t len)
{
	return board_console_input(opaque, buf, len);
}

/* A guest that wrote to the UART and then went idle made no exit to play
 * its coalesced writes: the console thread plays them this often. */
#define CONSOLE_TICK_MS 50

static void console_tick(void *opaque)
{
	struct kvmlite_vm *vm = opaque;

	coalesced_play(&vm->coal);
}

static void console_escape(void *opaque, char key)
{
	if (key == 'x')
		kvmlite_vm_stop(opaque);
	else if (key == 'p')
		(void)kvmlite_vm_shutdown(opaque);
}

static void console_failed(void *opaque, int err)
{
	if (err)
		vm_set_error(opaque,
			     "console output: %s; later output is dropped "
			     "(see kvmlite_vm_console_stats)",
			     strerror(err));
	else
		vm_set_error(opaque,
			     "console output: the reader took nothing for "
			     "%llu s; output is dropped until it catches up",
			     CONSOLE_STALL_NS / 1000000000ULL);
}

/* kvmlite_vm_wait computes CLOCK_MONOTONIC deadlines. */
static void cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

int vm_create_devices(struct kvmlite_vm *vm, const struct config_native *c,
		      char *err, size_t errlen)
{
	struct virtio_slot_ctx ctx = { &c->cfg, &vm->mem, c->cfg.seccomp > 0 };

	return virtio_slots_create(&vm->virtio, &ctx, err, errlen);
}

/* Guest RAM, the virtio devices and the images: before KVM, so that a bad
 * disk or kernel is reported even where KVM is not. */
static int create_guest(struct kvmlite_vm *vm, const struct config_native *c,
			char *err, size_t errlen)
{
	struct boot_images img = {
		.kernel_path = c->cfg.kernel_path,
		.initrd_path = c->cfg.initrd_path,
		.initrd_data = vm->exec_initrd.buf,
		.initrd_size = vm->exec_initrd.len,
		.initrd_name = "(kvmlite exec's, in memory)",
		.cmdline = vm->cmdline,
		.ncpus = c->cfg.cpus,
		.mmio_devs = vm->virtio.wins,
	};
	int ret;

	ret = guest_mem_init_backed(&vm->mem, c->cfg.memory,
				    c->cfg.hugepages ? GMEM_HUGETLB
						     : GMEM_ANON);
	if (ret == -ENOSPC)
		return err_fmt(err, errlen, ret,
			       "guest memory (%llu MiB of huge pages): the "
			       "host's hugetlb pool has too few free 2M pages "
			       "(HugePages_Free in /proc/meminfo; raise "
			       "/proc/sys/vm/nr_hugepages)",
			       (unsigned long long)(c->cfg.memory >> 20));
	if (ret)
		return err_fmt(err, errlen, ret,
			       "guest memory (%llu MiB%s): %s",
			       (unsigned long long)(c->cfg.memory >> 20),
			       c->cfg.hugepages ? " of huge pages" : "",
			       strerror(-ret));
	ret = vm_create_devices(vm, c, err, errlen);
	if (ret)
		return ret;
	img.nr_mmio_devs = vm->virtio.nr;
	ret = boot_load_images(&vm->mem, &img, &vm->boot, err, errlen);
	cpio_free(&vm->exec_initrd); /* in guest memory now */
	if (ret)
		return ret;
	vm->t.loaded = now_ns();
	return 0;
}

/* KVM's VM, the board, the devices' routes, the vCPUs. */
static int create_kvm_vm(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	int ret;

	ret = kvm_open(&vm->kvm_fd, err, errlen);
	if (!ret)
		ret = kvm_create_vm(vm->kvm_fd, vm->cfg.cpus, &vm->mem,
				    &vm->vm_fd, err, errlen);
	if (ret)
		return ret;
	ret = arch_vm_setup(vm, err, errlen);
	if (ret)
		return ret;
	ret = board_create(vm, err, errlen);
	if (!ret)
		ret = virtio_slots_attach(&vm->virtio, &vm->mmio, vm->vm_fd,
					  err, errlen);
	if (ret)
		return ret;
	vm->vcpus = calloc(vm->cfg.cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return err_fmt(err, errlen, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < vm->cfg.cpus; i++) {
		vm->nr_vcpus = i + 1;
		ret = vcpu_create(vm, &vm->vcpus[i], i, err, errlen);
		if (ret)
			return ret;
	}
	ret = arch_vcpus_created(vm, err, errlen);
	if (ret)
		return ret;
	ret = coalesced_init(&vm->coal, vm->vcpus[0].run, vm->vcpus[0].run_size,
			     &vm->pio, &vm->mmio);
	if (ret)
		return err_fmt(err, errlen, ret, "coalesced writes: %s",
			       strerror(-ret));
	vm->coal_ready = true;
	if (vm->coal.ring)
		board_coalesce_writes(vm);
	return virtio_slots_irqfds(&vm->virtio, vm->vm_fd, err, errlen);
}

int vm_create_machine(struct kvmlite_vm *vm, const struct config_native *c,
		      char *err, size_t errlen)
{
	int ret;

	if (vm->boot.linux_kernel && kvm_host_lacks_hw_virt())
		vm->warning =
			"this machine has no hardware virtualization (no vmx "
			"or svm in /proc/cpuinfo): its /dev/kvm is a software "
			"one that runs small guests, but a Linux kernel will "
			"crawl or fail here; boot it in the emulated test host "
			"(tests/testhost/run -- kvmlite run ...) or on a host "
			"with VT-x or AMD-V";
	/* Before the board: the UART is wired to it. */
	ret = console_init(&vm->console, c->cfg.console_out_fd,
			   c->cfg.console_in_fd, console_in, vm, err, errlen);
	if (ret)
		return ret;
	vm->console.out_failed = console_failed;
	vm->console.escape = console_escape;
	vm->console.escapes = c->cfg.console_escapes != 0;
	vm->console.tick = console_tick;
	vm->console.tick_ms = CONSOLE_TICK_MS;
	vm->console_ready = true;
	if (vm->exec && c->cfg.exec.stderr_fd >= 0) {
		ret = console_init(&vm->console_err, c->cfg.exec.stderr_fd, -1,
				   NULL, vm, err, errlen);
		if (ret)
			return ret;
		vm->console_err.out_failed = console_failed;
		vm->console_err_ready = true;
		ret = worker_init(&vm->io_err, vm->cfg.seccomp > 0);
		if (ret)
			return err_fmt(err, errlen, ret, "event loop: %s",
				       strerror(-ret));
	}
	ret = create_kvm_vm(vm, err, errlen);
	if (ret)
		return ret;

	ret = worker_init(&vm->io, vm->cfg.seccomp > 0);
	vm->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ret || vm->exit_fd < 0) {
		ret = ret ? ret : -errno;
		return err_fmt(err, errlen, ret, "event loop: %s",
			       strerror(-ret));
	}
	ret = snapshot_init(vm, c, err, errlen);
	if (ret)
		return ret;
	vm->t.vm_created = now_ns();
	return 0;
}

int vm_alloc(const struct config_native *c, struct kvmlite_vm **out, char *err,
	     size_t errlen)
{
	struct kvmlite_vm *vm;
	int ret;

	*out = NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return err_fmt(err, errlen, -ENOMEM, "out of memory");
	vm->cfg = c->cfg;
	if (!vm->cfg.kick_signal)
		vm->cfg.kick_signal = SIGRTMAX - 1;
	vm->t.process_start = c->cfg.process_start_ns;
	vm->kvm_fd = vm->vm_fd = vm->io.stop_fd = vm->io_err.stop_fd = -1;
	cpio_init(&vm->exec_initrd);
	vm->exit_fd = -1;
	vm->mem.memfd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	cond_init_monotonic(&vm->cond);
	console_log_init(&vm->con);
	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	snapshot_prepare(vm);
	*out = vm;
	/* The caller's strings and arrays are not kept past creation. */
	vm->cfg.kernel_path = vm->cfg.initrd_path = NULL;
	vm->cfg.disks = NULL;
	vm->cfg.nets = NULL;
	vm->cfg.name = NULL;
	vm->cfg.snapshot_dir = NULL;
	vm->exec = c->cfg.exec.argv != NULL;
	vm->cmdline = strdup(c->cfg.cmdline ? c->cfg.cmdline
			     : vm->exec	    ? KVMLITE_EXEC_CMDLINE
					    : KVMLITE_DEFAULT_CMDLINE);
	vm->cfg.cmdline = vm->cmdline;
	if (!vm->cmdline || (c->cfg.name && !(vm->name = strdup(c->cfg.name))))
		return err_fmt(err, errlen, -ENOMEM, "out of memory");
	ret = snapshot_set_dir(vm, c->cfg.snapshot_dir, err, errlen);
	if (ret)
		return ret;
	if (c->cfg.seccomp > 0) {
		ret = sandbox_available();
		if (ret)
			return err_fmt(err, errlen, ret,
				       "seccomp filtering is not available on "
				       "this kernel (turn it off to run "
				       "unfiltered)");
		sandbox_install_reporter();
	}
	return 0;
}

/* exec: the initramfs (from the caller's shares), then the root share
 * first among the VM's. */
static int exec_prepare(struct kvmlite_vm *vm, struct config_native *c,
			char *err, size_t errlen)
{
	int ret = exec_build_initramfs(&c->cfg, &vm->exec_initrd, err, errlen);

	if (ret)
		return ret;
	vm->exec_fs[0] = (struct kvmlite_fs){
		.path = c->cfg.exec.root ? c->cfg.exec.root : "/",
		.tag = KVMLITE_EXEC_ROOT_TAG,
		.read_only = 1,
	};
	for (unsigned int i = 0; c->cfg.fs && i < c->cfg.nr_fs; i++)
		vm->exec_fs[i + 1] = c->cfg.fs[i];
	c->cfg.fs = vm->exec_fs;
	c->cfg.nr_fs++;
	return 0;
}

void vm_exec_failed(struct kvmlite_vm *vm, int status)
{
	char line[sizeof(vm->demux.line)];

	/* The UART's lock orders this after the line's last byte. */
	pthread_mutex_lock(&vm->board.serial.lock);
	memcpy(line, vm->demux.line, sizeof(line));
	pthread_mutex_unlock(&vm->board.serial.lock);
	vm_request_exit(vm, KVMLITE_EXIT_EXEC_FAILED, status, "%s",
			line[0] ? line
				: "kvmlite exec: the guest's init failed");
}

int kvmlite_vm_create(const struct kvmlite_config *cfg, struct kvmlite_vm **out,
		      char *err, size_t errlen)
{
	struct config_native c;
	struct kvmlite_vm *vm;
	int ret;

	*out = NULL;
	ret = config_import(cfg, &c, err, errlen);
	if (!ret)
		ret = config_validate(&c.cfg, err, errlen);
	if (ret)
		return ret;
	ret = vm_alloc(&c, &vm, err, errlen);
	if (!ret && vm->exec)
		ret = exec_prepare(vm, &c, err, errlen);
	if (!ret)
		ret = create_guest(vm, &c, err, errlen);
	if (!ret)
		ret = vm_create_machine(vm, &c, err, errlen);
	if (ret) {
		kvmlite_vm_destroy(vm);
		return ret;
	}
	*out = vm;
	return 0;
}

/* exec's stderr console: its output until the VM stops. */
static void *io_err_thread(void *arg)
{
	struct kvmlite_vm *vm = arg;

	console_run(&vm->console_err, vm->io_err.stop_fd);
	return NULL;
}

/* The console thread: console input and output until the VM stops, then
 * the last output, then the VM is finished. */
static void *io_thread(void *arg)
{
	struct kvmlite_vm *vm = arg;
	struct timespec ts;

	console_run(&vm->console, vm->io.stop_fd);

	/* The vCPUs may still be finishing an exit that prints. */
	deadline_in(&ts, STOP_VCPU_WAIT_NS);
	pthread_mutex_lock(&vm->lock);
	while (vm->vcpus_running &&
	       pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&vm->lock);
	coalesced_play(&vm->coal);
	console_drain(&vm->console, now_ns() + STOP_CONSOLE_DRAIN_NS,
		      STOP_CONSOLE_IDLE_NS);
	if (vm->io_err.started) {
		/* Stopped and joined here (worker_release() then finds it
		 * done), so that its last output is written before finish. */
		(void)eventfd_write(vm->io_err.stop_fd, 1);
		pthread_join(vm->io_err.thread, NULL);
		vm->io_err.started = false;
		console_drain(&vm->console_err,
			      now_ns() + STOP_CONSOLE_DRAIN_NS,
			      STOP_CONSOLE_IDLE_NS);
	}

	pthread_mutex_lock(&vm->lock);
	finish_locked(vm);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

int kvmlite_vm_start(struct kvmlite_vm *vm)
{
	char why[256];
	int ret;

	pthread_mutex_lock(&vm->lock);
	if (vm->started) {
		pthread_mutex_unlock(&vm->lock);
		return -EALREADY;
	}
	vm->started = true;
	vm->start_in_progress = true;
	pthread_mutex_unlock(&vm->lock);

	/* vCPUs first: the I/O thread and device workers are not needed
	 * before the guest's first exit, so their start-up (seccomp filter
	 * compilation above all) overlaps the guest's. */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_start(&vm->vcpus[i]);
		if (ret) {
			vm_request_exit(vm, KVMLITE_EXIT_ERROR, 0,
					"cannot start vCPU %u: %s", i,
					strerror(-ret));
			goto out;
		}
	}

	/* exec's stderr thread before the I/O thread, which stops it. */
	if (vm->console_err_ready) {
		ret = worker_run(&vm->io_err, io_err_thread, vm);
		if (ret) {
			vm_request_exit(vm, KVMLITE_EXIT_ERROR, 0,
					"cannot start the stderr thread: %s",
					strerror(-ret));
			goto out;
		}
	}
	ret = worker_run(&vm->io, io_thread, vm);
	if (ret) {
		vm_request_exit(vm, KVMLITE_EXIT_ERROR, 0,
				"cannot start the I/O thread: %s",
				strerror(-ret));
		goto out;
	}
	pthread_mutex_lock(&vm->lock);
	vm->io_started = true;
	/* A stop that came meanwhile did not reach the new thread. */
	if (vm->stopping)
		(void)eventfd_write(vm->io.stop_fd, 1);
	pthread_mutex_unlock(&vm->lock);
	ret = virtio_slots_start(&vm->virtio, why, sizeof(why));
	if (!ret)
		ret = snapshot_start(vm, why, sizeof(why));
	if (ret)
		vm_request_exit(vm, KVMLITE_EXIT_ERROR, 0, "%s", why);
out:
	pthread_mutex_lock(&vm->lock);
	vm->start_in_progress = false;
	if (vm->stopping && !vm->io_started)
		finish_locked(vm);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int kvmlite_vm_wait(struct kvmlite_vm *vm, int timeout_ms)
{
	struct timespec deadline;
	int ret = 0;

	if (timeout_ms >= 0)
		deadline_in(&deadline, (uint64_t)timeout_ms * 1000000ULL);
	pthread_mutex_lock(&vm->lock);
	while (!vm->finished) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&vm->cond, &vm->lock);
		} else if (pthread_cond_timedwait(&vm->cond, &vm->lock,
						  &deadline) == ETIMEDOUT) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

void kvmlite_vm_stop(struct kvmlite_vm *vm)
{
	vm_request_exit(vm, KVMLITE_EXIT_STOPPED, 0, "stopped by the host");
}

int kvmlite_vm_shutdown(struct kvmlite_vm *vm)
{
	int ret = -ESRCH;

	/* Under the lock so the VM cannot be torn down meanwhile. */
	pthread_mutex_lock(&vm->lock);
	if (vm->started && !vm->stopping)
		ret = board_power_button(vm);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

bool vm_pause_wanted(struct kvmlite_vm *vm)
{
	return __atomic_load_n(&vm->pause_requested, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&vm->internal_pause, __ATOMIC_SEQ_CST);
}

void vm_park_vcpu(struct kvmlite_vm *vm, struct vcpu *v)
{
	pthread_mutex_lock(&vm->lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->cond);
	while ((vm->pause_requested || vm->internal_pause) && !vm->stopping) {
		pthread_cond_wait(&vm->cond, &vm->lock);
		/* A dump asked while paused. */
		if (v->snap_seq != vm->dump_seq) {
			pthread_mutex_unlock(&vm->lock);
			vcpu_answer_dump(v);
			pthread_mutex_lock(&vm->lock);
		}
	}
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->lock);
}

/* Ask for a pause (@internal: the snapshot's) and, with @wait, wait until
 * every vCPU is parked. Under vm->lock. */
static int pause_locked(struct kvmlite_vm *vm, bool internal, bool wait)
{
	if (!vm->started || vm->stopping)
		return -EINVAL;
	if (internal)
		vm->internal_pause = true;
	else
		vm->pause_requested = true;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	while (wait && vm->nr_parked < vm->nr_vcpus && !vm->stopping)
		pthread_cond_wait(&vm->cond, &vm->lock);
	return vm->stopping ? -EINVAL : 0;
}

int kvmlite_vm_pause(struct kvmlite_vm *vm)
{
	int ret;

	pthread_mutex_lock(&vm->lock);
	ret = pause_locked(vm, false, true);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

void vm_request_pause(struct kvmlite_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	(void)pause_locked(vm, true, false);
	pthread_mutex_unlock(&vm->lock);
}

int vm_pause_vcpus(struct kvmlite_vm *vm)
{
	int ret;

	pthread_mutex_lock(&vm->lock);
	ret = pause_locked(vm, true, true);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

void vm_resume_vcpus(struct kvmlite_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->internal_pause = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

int kvmlite_vm_resume(struct kvmlite_vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	if (!vm->pause_requested || vm->stopping)
		ret = -EINVAL;
	vm->pause_requested = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

void kvmlite_vm_destroy(struct kvmlite_vm *vm)
{
	if (!vm)
		return;
	if (vm->started)
		kvmlite_vm_stop(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].thread_started)
			pthread_join(vm->vcpus[i].thread, NULL);
	}
	worker_release(&vm->io); /* the stop was signalled */
	worker_release(&vm->io_err);
	/* Its thread uses the vCPUs and devices. */
	snapshot_release(vm);
	if (vm->coal_ready)
		coalesced_free(&vm->coal); /* its ring is vCPU 0's page */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	/* After the vCPUs: no guest access can reach a device any more. */
	virtio_slots_destroy(&vm->virtio);
	free(vm->vcpus);
	board_destroy(vm);
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->console_ready)
		console_free(&vm->console);
	if (vm->console_err_ready)
		console_free(&vm->console_err);
	cpio_free(&vm->exec_initrd);
	if (vm->exit_fd >= 0)
		close(vm->exit_fd);
	guest_mem_free(&vm->mem);
	free(vm->cpuid);
	free(vm->cmdline);
	free(vm->name);
	console_log_free(&vm->con);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}
