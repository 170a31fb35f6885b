/* VM lifecycle: create, start, wait, stop, destroy. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "sandbox.h"
#include "vm.h"
#include "worker.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

unsigned int kvmlite_version(void)
{
	return KVMLITE_VERSION;
}

const char *kvmlite_version_string(void)
{
	return KVMLITE_VERSION_STRING;
}

void kvmlite_config_init(struct kvmlite_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->memory = 256ULL << 20;
	cfg->console_in_fd = -1;
	cfg->console_out_fd = -1;
	cfg->seccomp = -1;
}

int kvmlite_exit_status(const struct kvmlite_exit *e)
{
	switch (e->reason) {
	case KVMLITE_EXIT_POWEROFF:
		return KVMLITE_STATUS_POWEROFF;
	case KVMLITE_EXIT_REBOOT:
		return KVMLITE_STATUS_REBOOT;
	case KVMLITE_EXIT_TEST_EXIT:
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

/* The VM is over for the caller: wake kvmlite_vm_wait() and exit_fd. */
static void finish_locked(struct kvmlite_vm *vm)
{
	uint64_t one = 1;

	if (vm->finished)
		return;
	vm->finished = true;
	/* The counter of a fresh eventfd: this write cannot fail. */
	if (vm->exit_fd >= 0 && write(vm->exit_fd, &one, sizeof(one)) < 0)
		vm->finished = true;
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

static void platform_event(void *opaque, enum platform_event ev, int value)
{
	struct kvmlite_vm *vm = opaque;

	switch (ev) {
	case PLATFORM_POWEROFF:
		vm_request_exit(vm, KVMLITE_EXIT_POWEROFF, 0,
				"guest powered off");
		break;
	case PLATFORM_REBOOT:
		vm_request_exit(vm, KVMLITE_EXIT_REBOOT, 0, "guest rebooted");
		break;
	case PLATFORM_TEST_EXIT:
		vm_request_exit(vm, KVMLITE_EXIT_TEST_EXIT, value & 0xff,
				"guest test-exit with value %d", value & 0xff);
		break;
	case PLATFORM_BOOT_MARK:
		pthread_mutex_lock(&vm->lock);
		if (!vm->t.guest_marker)
			vm->t.guest_marker = now_ns();
		pthread_mutex_unlock(&vm->lock);
		break;
	}
}

static int irq_line(struct kvmlite_vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static void irq_set_level(void *opaque, unsigned int gsi, int level)
{
	struct kvmlite_vm *vm = opaque;
	int ret = irq_line(vm, gsi, level);

	if (ret)
		vm_set_error(vm, "KVM_IRQ_LINE %u: %s", gsi, strerror(-ret));
}

/* Bytes the UART sent (the gate took them): the log and the callback. */
static void console_out(void *opaque, const uint8_t *buf, size_t len)
{
	struct kvmlite_vm *vm = opaque;

	if (vm->cfg.console_cb)
		vm->cfg.console_cb(vm->cfg.console_opaque, (const char *)buf,
				   len);
	console_log_append(&vm->con, (const char *)buf, len);
}

static size_t console_in(void *opaque, const uint8_t *buf, size_t len)
{
	struct kvmlite_vm *vm = opaque;

	return serial8250_receive(&vm->serial, buf, len);
}

/* Under the UART's lock: may the byte go to console_out_fd now? */
static bool console_gate_fn(void *opaque, uint8_t byte)
{
	struct kvmlite_vm *vm = opaque;

	return console_gate(&vm->console, byte);
}

static void console_tx_ready(void *opaque)
{
	struct kvmlite_vm *vm = opaque;

	serial8250_tx_ready(&vm->serial);
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

/*
 * Map a whole file read-only; an empty file is an error. Every failure is
 * -ENOEXEC (a kernel or initrd that cannot be used, KVMLITE_STATUS_BAD_IMAGE
 * in the command), with the errno text in the message.
 */
static int map_file(const char *path, const char *what, uint8_t **data,
		    size_t *size, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret = -ENOEXEC;

	/* O_NONBLOCK: opening a FIFO (refused below) must not wait for a
	 * writer. The descriptor is only mapped, never read. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
		goto out;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "%s %s: file is empty", what, path);
		goto out;
	}
	*data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*data == MAP_FAILED) {
		*data = NULL;
		snprintf(err, errlen, "%s %s: cannot map it: %s", what, path,
			 strerror(errno));
		goto out;
	}
	*size = (size_t)st.st_size;
	ret = 0;
out:
	close(fd);
	return ret;
}

static int vm_load_kernel(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t ksize = 0, isize = 0;
	char why[400];
	struct boot_args a;
	int ret;

	ret = map_file(vm->cfg.kernel_path, "kernel", &kernel, &ksize, err,
		       errlen);
	if (ret)
		return ret;
	if (vm->cfg.initrd_path) {
		ret = map_file(vm->cfg.initrd_path, "initrd", &initrd, &isize,
			       err, errlen);
		if (ret)
			goto out;
	}
	a = (struct boot_args){
		.kernel = kernel,
		.kernel_size = ksize,
		.initrd = initrd,
		.initrd_size = isize,
		.cmdline = vm->cmdline,
		.ncpus = vm->cfg.cpus,
		.mmio_devs = vm->mmio_devs,
		.nr_mmio_devs = vm->nr_mmio_devs,
	};
	why[0] = '\0';
	ret = x86_boot_prepare(&vm->mem, &a, &vm->boot, why, sizeof(why));
	if (ret) {
		if (ret == -EINVAL)
			ret = -ENOEXEC;
		if (!why[0])
			snprintf(why, sizeof(why), "%s", strerror(-ret));
		switch (vm->boot.culprit) {
		case BOOT_INPUT_INITRD:
			snprintf(err, errlen, "initrd %s: %s",
				 vm->cfg.initrd_path, why);
			break;
		case BOOT_INPUT_CMDLINE:
			snprintf(err, errlen, "--cmdline: %s", why);
			break;
		case BOOT_INPUT_KERNEL:
			snprintf(err, errlen, "kernel %s: %s",
				 vm->cfg.kernel_path, why);
			break;
		}
	}
out:
	if (kernel)
		munmap(kernel, ksize);
	if (initrd)
		munmap(initrd, isize);
	return ret;
}

static int vm_setup_devices(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	struct irq_line serial_irq = { irq_set_level, vm, IRQ_SERIAL0 };
	int ret;

	vm->plat = (struct platform_ops){ platform_event, vm };
	ret = serial8250_init(&vm->serial, &serial_irq, console_out, vm);
	if (ret)
		goto fail;
	ret = i8042_init(&vm->i8042, &vm->plat);
	if (ret) {
		serial8250_destroy(&vm->serial);
		goto fail;
	}
	ret = rtc_init(&vm->rtc);
	if (ret) {
		serial8250_destroy(&vm->serial);
		i8042_destroy(&vm->i8042);
		goto fail;
	}
	vm->devices_ready = true;
	test_exit_port_init(&vm->test_exit, &vm->plat);
	boot_timer_port_init(&vm->boot_timer, &vm->plat);
	acpi_sleep_port_init(&vm->acpi_sleep, &vm->plat);

	ret = bus_register(&vm->pio, PORT_SERIAL0, 8, serial8250_io,
			   &vm->serial, "serial0");
	if (!ret)
		ret = bus_register(&vm->pio, PORT_RTC, 2, rtc_io, &vm->rtc,
				   "rtc");
	if (!ret)
		ret = bus_register(&vm->pio, PORT_I8042_DATA, 1, i8042_data_io,
				   &vm->i8042, "i8042-data");
	if (!ret)
		ret = bus_register(&vm->pio, PORT_I8042_CMD, 1, i8042_cmd_io,
				   &vm->i8042, "i8042-cmd");
	if (!ret)
		ret = bus_register(&vm->pio, PORT_TEST_EXIT, 1,
				   test_exit_port_io, &vm->test_exit,
				   "test-exit");
	if (!ret)
		ret = bus_register(&vm->pio, PORT_BOOT_TIMER, 1,
				   boot_timer_port_io, &vm->boot_timer,
				   "boot-timer");
	if (!ret)
		ret = bus_register(&vm->pio, PORT_ACPI_SLEEP_CTL, 2,
				   acpi_sleep_port_io, &vm->acpi_sleep,
				   "acpi-sleep");
	if (ret)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "device setup: %s", strerror(-ret));
	return ret;
}

/* The next virtio-mmio window and its GSI. */
static const struct boot_mmio_dev *vm_add_mmio_window(struct kvmlite_vm *vm)
{
	struct boot_mmio_dev *w = &vm->mmio_devs[vm->nr_mmio_devs];

	*w = (struct boot_mmio_dev){
		.base = LAYOUT_VIRTIO_MMIO +
			vm->nr_mmio_devs * VIRTIO_MMIO_WINDOW,
		.size = VIRTIO_MMIO_WINDOW,
		.gsi = VIRTIO_GSI_BASE + vm->nr_mmio_devs,
	};
	vm->nr_mmio_devs++;
	return w;
}

/* Whether two stat()s name one disk: the same block device (through any
 * device node), or the same file. */
static bool same_disk(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Open the disks (before KVM: a bad image is a configuration error) and
 * give each a virtio-mmio window and GSI. */
static int vm_open_disks(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	struct stat seen[KVMLITE_MAX_DISKS];
	bool known[KVMLITE_MAX_DISKS];

	for (unsigned int i = 0; i < vm->cfg.nr_disks; i++) {
		const struct kvmlite_disk *d = &vm->cfg.disks[i];
		struct virtio_blk_config_opts o = {
			.path = d->path,
			.read_only = d->read_only != 0,
			.serial = d->serial,
			.seccomp = vm->cfg.seccomp > 0,
		};
		int ret;

		/* Before opening and locking it: our own lock on the first
		 * description would make the second look "in use". A path
		 * that cannot be stat'ed is left to the open's message. */
		known[i] = stat(d->path, &seen[i]) == 0;
		for (unsigned int j = 0; known[i] && j < i; j++) {
			if (known[j] && same_disk(&seen[i], &seen[j])) {
				snprintf(err, errlen,
					 "disk %s: given twice (as disk %u and "
					 "disk %u)",
					 d->path, j, i);
				return -EINVAL;
			}
		}
		ret = virtio_blk_create(&vm->disks[i], &o, &vm->mem, err,
					errlen);
		if (ret)
			return ret;
		vm->nr_disks = i + 1;
		vm_add_mmio_window(vm);
	}
	return 0;
}

/* Open the TAPs and make their virtio-net devices. */
static int vm_open_nets(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < vm->cfg.nr_nets; i++) {
		const struct kvmlite_net *n = &vm->cfg.nets[i];
		struct virtio_net_config_opts o = {
			.name = n->tap,
			.seccomp = vm->cfg.seccomp > 0,
		};
		uint8_t mac[6];
		int fd, ret;

		if (n->mac) {
			if (mac_parse(n->mac, mac)) {
				snprintf(err, errlen,
					 "net %s: invalid MAC '%s' (want a "
					 "unicast xx:xx:xx:xx:xx:xx)",
					 n->tap, n->mac);
				return -EINVAL;
			}
		} else {
			mac_default(mac, vm->cfg.name ? vm->cfg.name : "", i);
		}
		ret = tap_open(n->tap, true, &fd, err, errlen);
		if (ret)
			return ret;
		o.tap_fd = fd;
		o.mac = mac;
		ret = virtio_net_create(&vm->nets[i], &o, &vm->mem, err,
					errlen);
		if (ret) {
			close(fd);
			return ret;
		}
		vm->nr_nets = i + 1;
		vm_add_mmio_window(vm);
	}
	return 0;
}

/* Route a virtio-mmio device's window, notifications and interrupt. */
static int vm_attach_virtio(struct kvmlite_vm *vm, struct virtio_mmio_dev *d,
			    const struct boot_mmio_dev *w,
			    unsigned int nr_queues, const char *name, char *err,
			    size_t errlen)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)virtio_mmio_call_fd(d),
		.gsi = w->gsi,
	};
	int ret;

	ret = bus_register(&vm->mmio, w->base, w->size, virtio_mmio_io, d,
			   name);
	if (ret) {
		snprintf(err, errlen, "%s window: %s", name, strerror(-ret));
		return ret;
	}
	/* A guest notify then wakes the device without leaving the kernel. */
	for (unsigned int q = 0; q < nr_queues; q++) {
		struct kvm_ioeventfd io = {
			.datamatch = q,
			.addr = w->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.fd = virtio_mmio_kick_fd(d, q),
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: KVM_IOEVENTFD: %s", name,
				 strerror(errno));
			return ret;
		}
	}
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: KVM_IRQFD: %s", name,
			 strerror(errno));
		return ret;
	}
	return 0;
}

static int check_config(const struct kvmlite_config *c, char *err,
			size_t errlen)
{
	if (!c->kernel_path || !c->kernel_path[0]) {
		snprintf(err, errlen, "no kernel image given");
		return -EINVAL;
	}
	if (c->cpus < 1 || c->cpus > KVMLITE_MAX_CPUS) {
		snprintf(err, errlen, "cpus %u out of range 1..%d", c->cpus,
			 KVMLITE_MAX_CPUS);
		return -EINVAL;
	}
	if (c->memory < KVMLITE_MIN_MEMORY || c->memory % 4096 ||
	    c->memory > (1ULL << 40)) {
		snprintf(err, errlen,
			 "memory %llu bytes: need a multiple of 4 KiB from "
			 "16 MiB to 1 TiB",
			 (unsigned long long)c->memory);
		return -EINVAL;
	}
	if (c->nr_disks > KVMLITE_MAX_DISKS || (c->nr_disks && !c->disks)) {
		snprintf(err, errlen, "%u disks: at most %d", c->nr_disks,
			 KVMLITE_MAX_DISKS);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < c->nr_disks; i++) {
		if (!c->disks[i].path || !c->disks[i].path[0]) {
			snprintf(err, errlen, "disk %u: no path given", i);
			return -EINVAL;
		}
	}
	if (c->nr_nets > KVMLITE_MAX_NETS || (c->nr_nets && !c->nets)) {
		snprintf(err, errlen, "%u networks: at most %d", c->nr_nets,
			 KVMLITE_MAX_NETS);
		return -EINVAL;
	}
	if (c->nr_disks + c->nr_nets > KVMLITE_MAX_DEVICES) {
		snprintf(err, errlen,
			 "%u disks and %u networks: at most %d devices in all "
			 "(one interrupt line each)",
			 c->nr_disks, c->nr_nets, KVMLITE_MAX_DEVICES);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < c->nr_nets; i++) {
		if (!c->nets[i].tap || !c->nets[i].tap[0]) {
			snprintf(err, errlen, "net %u: no tap name given", i);
			return -EINVAL;
		}
	}
	if (c->kick_signal &&
	    (c->kick_signal < SIGRTMIN || c->kick_signal > SIGRTMAX)) {
		snprintf(err, errlen,
			 "kick_signal %d is not a real-time signal",
			 c->kick_signal);
		return -EINVAL;
	}
	return 0;
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

int kvmlite_vm_create(const struct kvmlite_config *cfg, struct kvmlite_vm **out,
		      char *err, size_t errlen)
{
	struct kvmlite_vm *vm;
	int ret;

	*out = NULL;
	ret = check_config(cfg, err, errlen);
	if (ret)
		return ret;

	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vm->cfg = *cfg;
	if (!vm->cfg.kick_signal)
		vm->cfg.kick_signal = SIGRTMAX - 1;
	vm->t.process_start = cfg->process_start_ns;
	vm->kvm_fd = vm->vm_fd = vm->io.stop_fd = -1;
	vm->exit_fd = -1;
	vm->mem.memfd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	cond_init_monotonic(&vm->cond);
	console_log_init(&vm->con);
	bus_init(&vm->pio);
	bus_init(&vm->mmio);

	vm->cmdline =
		strdup(cfg->cmdline ? cfg->cmdline : KVMLITE_DEFAULT_CMDLINE);
	if (!vm->cmdline) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	vm->cfg.cmdline = vm->cmdline;
	if (cfg->name && !(vm->name = strdup(cfg->name))) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	vm->cfg.kernel_path = NULL; /* the caller's strings: not kept */
	vm->cfg.initrd_path = NULL;

	if (cfg->seccomp > 0) {
		ret = sandbox_available();
		if (ret) {
			snprintf(err, errlen,
				 "seccomp filtering is not available on this "
				 "kernel (turn it off to run unfiltered)");
			goto fail;
		}
		sandbox_install_reporter();
	}
	ret = guest_mem_init(&vm->mem, cfg->memory);

	if (ret) {
		snprintf(err, errlen, "guest memory (%llu MiB): %s",
			 (unsigned long long)(cfg->memory >> 20),
			 strerror(-ret));
		goto fail;
	}
	/* Images first: a bad kernel is reported even where KVM is not. */
	ret = vm_open_disks(vm, err, errlen);
	if (!ret)
		ret = vm_open_nets(vm, err, errlen);
	if (ret)
		goto fail;
	/* The caller's arrays and strings: not kept. */
	vm->cfg.disks = NULL;
	vm->cfg.nets = NULL;
	vm->cfg.name = NULL;
	vm->cfg.kernel_path = cfg->kernel_path;
	vm->cfg.initrd_path = cfg->initrd_path;
	ret = vm_load_kernel(vm, err, errlen);
	vm->cfg.kernel_path = NULL;
	vm->cfg.initrd_path = NULL;
	if (ret)
		goto fail;
	vm->t.loaded = now_ns();
	if (vm->boot.linux_kernel && kvm_host_lacks_hw_virt())
		vm->warning =
			"this machine has no hardware virtualization (no vmx "
			"or "
			"svm in /proc/cpuinfo): its /dev/kvm is a software one "
			"that runs small guests, but a Linux kernel will crawl "
			"or fail here; boot it in the emulated test host "
			"(tests/testhost/run -- kvmlite run ...) or on a host "
			"with VT-x or AMD-V";

	ret = kvm_open_checked(&vm->kvm_fd, err, errlen);
	if (ret)
		goto fail;
	ret = kvm_vm_setup(vm, err, errlen);
	if (ret)
		goto fail;
	ret = vm_setup_devices(vm, err, errlen);
	if (ret)
		goto fail;
	for (unsigned int i = 0; i < vm->nr_disks; i++) {
		ret = vm_attach_virtio(vm, virtio_blk_transport(vm->disks[i]),
				       &vm->mmio_devs[i],
				       virtio_blk_ops()->nr_queues,
				       "virtio-blk", err, errlen);
		if (ret)
			goto fail;
	}
	for (unsigned int i = 0; i < vm->nr_nets; i++) {
		ret = vm_attach_virtio(vm, virtio_net_transport(vm->nets[i]),
				       &vm->mmio_devs[vm->nr_disks + i],
				       virtio_net_ops()->nr_queues,
				       "virtio-net", err, errlen);
		if (ret)
			goto fail;
	}

	vm->vcpus = calloc(cfg->cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (unsigned int i = 0; i < cfg->cpus; i++) {
		vm->nr_vcpus = i + 1;
		ret = vcpu_create(vm, &vm->vcpus[i], i, err, errlen);
		if (ret)
			goto fail;
	}

	ret = console_init(&vm->console, cfg->console_out_fd,
			   cfg->console_in_fd, console_in, vm, err, errlen);
	if (ret)
		goto fail;
	vm->console.out_failed = console_failed;
	vm->console.tx_ready = console_tx_ready;
	vm->console_ready = true;
	serial8250_set_tx_gate(&vm->serial, console_gate_fn, vm);
	ret = worker_init(&vm->io, vm->cfg.seccomp > 0);
	vm->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ret || vm->exit_fd < 0) {
		ret = ret ? ret : -errno;
		snprintf(err, errlen, "event loop: %s", strerror(-ret));
		goto fail;
	}
	vm->t.vm_created = now_ns();
	*out = vm;
	return 0;

fail:
	kvmlite_vm_destroy(vm);
	return ret;
}

/* How long a stop waits for vCPUs to leave, then for the console: at most
 * 100 ms of writing, and 50 ms of a reader that takes nothing. */
#define STOP_VCPU_WAIT_NS (200 * 1000000ULL)
#define STOP_CONSOLE_DRAIN_NS (100 * 1000000ULL)
#define STOP_CONSOLE_IDLE_NS (50 * 1000000ULL)

/* The console thread: console input and output until the VM stops, then
 * the last output, then the VM is finished. */
static void *io_thread(void *arg)
{
	struct kvmlite_vm *vm = arg;
	struct timespec ts;

	console_run(&vm->console, vm->io.stop_fd);

	/* The vCPUs may still be finishing an exit that prints. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)STOP_VCPU_WAIT_NS;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&vm->lock);
	while (vm->vcpus_running &&
	       pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&vm->lock);
	console_drain(&vm->console, now_ns() + STOP_CONSOLE_DRAIN_NS,
		      STOP_CONSOLE_IDLE_NS);

	pthread_mutex_lock(&vm->lock);
	finish_locked(vm);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

int kvmlite_vm_start(struct kvmlite_vm *vm)
{
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
	for (unsigned int i = 0; i < vm->nr_disks; i++) {
		ret = virtio_blk_start(vm->disks[i]);
		if (ret) {
			vm_request_exit(vm, KVMLITE_EXIT_ERROR, 0,
					"cannot start disk %u: %s", i,
					strerror(-ret));
			goto out;
		}
	}
	for (unsigned int i = 0; i < vm->nr_nets; i++) {
		ret = virtio_net_start(vm->nets[i]);
		if (ret) {
			vm_request_exit(vm, KVMLITE_EXIT_ERROR, 0,
					"cannot start network %u: %s", i,
					strerror(-ret));
			goto out;
		}
	}
	ret = 0;
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

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms >= 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
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
	if (vm->started && !vm->stopping) {
		/* A pulse on the GED's edge-triggered line: a button press. */
		ret = irq_line(vm, IRQ_GED, 1);
		if (!ret)
			ret = irq_line(vm, IRQ_GED, 0);
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int kvmlite_vm_expect(struct kvmlite_vm *vm, const char *needle, int timeout_ms,
		      char *seen, size_t seen_len)
{
	if (!needle)
		return -EINVAL;
	return console_log_expect(&vm->con, needle, timeout_ms, seen, seen_len);
}

void vm_park_vcpu(struct kvmlite_vm *vm, struct vcpu *v)
{
	pthread_mutex_lock(&vm->lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->cond);
	while (vm->pause_requested && !vm->stopping) {
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

int kvmlite_vm_pause(struct kvmlite_vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	if (!vm->started || vm->stopping) {
		ret = -EINVAL;
		goto out;
	}
	vm->pause_requested = true;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	while (vm->nr_parked < vm->nr_vcpus && !vm->stopping)
		pthread_cond_wait(&vm->cond, &vm->lock);
	if (vm->stopping)
		ret = -EINVAL;
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
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

void kvmlite_vm_console_stats(struct kvmlite_vm *vm,
			      struct kvmlite_console_stats *out)
{
	struct console_stats s;

	console_get_stats(&vm->console, &s);
	out->written = s.written;
	out->dropped = s.dropped + serial8250_tx_overruns(&vm->serial);
	out->stalls = s.stalls;
	out->queued = s.queued;
	out->out_error = s.out_error;
}

size_t kvmlite_vm_console_write(struct kvmlite_vm *vm, const void *buf,
				size_t len)
{
	return serial8250_receive(&vm->serial, buf, len);
}

void kvmlite_vm_exit_info(struct kvmlite_vm *vm, struct kvmlite_exit *out)
{
	pthread_mutex_lock(&vm->lock);
	*out = vm->exit;
	pthread_mutex_unlock(&vm->lock);
}

void kvmlite_vm_timings(struct kvmlite_vm *vm, struct kvmlite_timings *out)
{
	pthread_mutex_lock(&vm->lock);
	*out = vm->t;
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
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	/* After the vCPUs: no guest access can reach a device any more. */
	for (unsigned int i = 0; i < vm->nr_disks; i++)
		virtio_blk_destroy(vm->disks[i]);
	for (unsigned int i = 0; i < vm->nr_nets; i++)
		virtio_net_destroy(vm->nets[i]);
	free(vm->vcpus);
	if (vm->devices_ready) {
		serial8250_destroy(&vm->serial);
		i8042_destroy(&vm->i8042);
		rtc_destroy(&vm->rtc);
	}
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->console_ready)
		console_free(&vm->console);
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
