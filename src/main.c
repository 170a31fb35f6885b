/* The kvmlite command: a thin client of libkvmlite. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "kvmlite.h"
#include "api.h"
#include "cli.h"
#include "sandbox.h"

/* The terminal state to restore; process-wide by nature, and only the
 * command (never the library) touches it. */
static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;

static void term_restore(void)
{
	if (tio_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		tio_saved = 0;
	}
}

static void fatal_signal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void term_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	tio_saved = 1;
	atexit(term_restore);
	signal(SIGSEGV, fatal_signal);
	signal(SIGBUS, fatal_signal);
	signal(SIGABRT, fatal_signal);
	signal(SIGFPE, fatal_signal);
	signal(SIGILL, fatal_signal);
	t = saved_tio;
	cfmakeraw(&t);
	/* Keep output processing: the guest's own tty adds the CRs. */
	t.c_oflag = saved_tio.c_oflag & ~(tcflag_t)ONLCR;
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Each fid of a share holds a host descriptor (up to P9_MAX_FIDS a share,
 * src/virtio/p9_server.h): with shares, the soft limit on open files
 * rises to the hard one. Best effort: the guest gets EMFILE otherwise. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int status_for_create_error(int err)
{
	switch (-err) {
	case ENOEXEC:
		return KVMLITE_STATUS_BAD_IMAGE;
	case ENODEV:
		return KVMLITE_STATUS_NO_KVM;
	case ENOMEM:
	case EIO:
	case EFAULT:
	case EMFILE:
	case ENFILE:
	case EAGAIN:
		return KVMLITE_STATUS_VMM_ERROR;
	default:
		return KVMLITE_STATUS_USAGE;
	}
}

static void print_timings(const struct kvmlite_timings *t, bool json)
{
	static const char *const names[] = { "loaded", "vm_created",
					     "first_run", "guest_marker",
					     "exit" };
	uint64_t v[] = { t->loaded, t->vm_created, t->first_run,
			 t->guest_marker, t->exit };

	if (json) {
		fprintf(stderr,
			"{\"clock\":\"CLOCK_MONOTONIC\","
			"\"process_start_ns\":%llu",
			(unsigned long long)t->process_start);
		for (size_t i = 0; i < 5; i++) {
			if (v[i])
				fprintf(stderr, ",\"%s_us\":%.1f", names[i],
					(double)(v[i] - t->process_start) /
						1e3);
			else
				fprintf(stderr, ",\"%s_us\":null", names[i]);
		}
		fprintf(stderr, "}\n");
		return;
	}
	fprintf(stderr, "kvmlite boot timing (ms since process start):\n");
	for (size_t i = 0; i < 5; i++) {
		if (v[i])
			fprintf(stderr, "  %-13s %10.3f\n", names[i],
				(double)(v[i] - t->process_start) / 1e6);
		else
			fprintf(stderr, "  %-13s %10s\n", names[i],
				"not reached");
	}
}

/* SIGUSR1: the VM's state on stderr, each line "kvmlite: dump: ...". */
static void print_dump(struct kvmlite_vm *vm)
{
	char buf[32768];
	const char *p = buf;
	int n = kvmlite_vm_dump(vm, buf, sizeof(buf));

	if (n < 0) {
		fprintf(stderr, "kvmlite: dump: failed: %s\n", strerror(-n));
		return;
	}
	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		fprintf(stderr, "kvmlite: dump: %.*s\n", len, p);
		p += len + (nl ? 1 : 0);
	}
	if ((size_t)n >= sizeof(buf))
		fprintf(stderr, "kvmlite: dump: (%d bytes more cut)\n",
			n - (int)sizeof(buf) + 1);
	fflush(stderr);
}

/*
 * The console file of --serial file:PATH, created or truncated. A FIFO is
 * fine once someone reads it: O_NONBLOCK makes the open fail at once
 * (ENXIO) instead of waiting for a reader; it is cleared afterwards.
 * Returns the fd, or -1 after printing why.
 */
static int open_serial_file(const char *path)
{
	int fd, flags;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK,
		  0644);
	if (fd < 0) {
		if (errno == ENXIO)
			fprintf(stderr,
				"kvmlite: --serial file:%s: a FIFO with no "
				"reader (start the reader first)\n",
				path);
		else
			fprintf(stderr, "kvmlite: --serial file:%s: %s\n", path,
				strerror(errno));
		return -1;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		fprintf(stderr, "kvmlite: --serial file:%s: %s\n", path,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The VM as the API socket's endpoints see it (--api-socket). */
struct api_vm {
	struct kvmlite_vm *vm;
	bool paused;	   /* atomic: vm.pause, until vm.resume */
	bool api_shutdown; /* atomic: vmm.shutdown stopped it */
	/* vm.snapshot's destination: the --snapshot-dir the VM opened, as
	 * found at start (before any filter), or none (snapshot_dir NULL). */
	char *snapshot_dir; /* its real path */
	dev_t snap_dev;
	ino_t snap_ino;
};

static enum api_vm_state api_vm_state(void *opaque)
{
	struct api_vm *a = opaque;
	struct kvmlite_exit ex;

	kvmlite_vm_exit_info(a->vm, &ex);
	if (ex.reason != KVMLITE_EXIT_NONE)
		return API_VM_SHUTDOWN;
	return __atomic_load_n(&a->paused, __ATOMIC_SEQ_CST) ? API_VM_PAUSED
							     : API_VM_RUNNING;
}

static int api_vm_pause(void *opaque)
{
	struct api_vm *a = opaque;
	int ret = kvmlite_vm_pause(a->vm);

	if (!ret)
		__atomic_store_n(&a->paused, true, __ATOMIC_SEQ_CST);
	return ret;
}

static int api_vm_resume(void *opaque)
{
	struct api_vm *a = opaque;
	int ret = kvmlite_vm_resume(a->vm);

	if (!ret)
		__atomic_store_n(&a->paused, false, __ATOMIC_SEQ_CST);
	return ret;
}

static int api_vm_power_button(void *opaque)
{
	return kvmlite_vm_shutdown(((struct api_vm *)opaque)->vm);
}

static int api_vm_counters(void *opaque, char *buf, size_t len)
{
	return kvmlite_vm_counters(((struct api_vm *)opaque)->vm, buf, len);
}

/* On the API thread: a stat (newfstatat, which its filter allows), no
 * open. */
static int api_vm_is_snapshot_dir(void *opaque, const char *path)
{
	struct api_vm *a = opaque;
	struct stat st;

	if (stat(path, &st))
		return -errno;
	return S_ISDIR(st.st_mode) && st.st_dev == a->snap_dev &&
	       st.st_ino == a->snap_ino;
}

/* The VM's snapshot thread writes it; this waits, at most until a stop. */
static int api_vm_snapshot(void *opaque, char *why, size_t len)
{
	return kvmlite_vm_snapshot_to_dir(((struct api_vm *)opaque)->vm, why,
					  len);
}

/* Where vm.snapshot may write: the VM's snapshot directory, which exists
 * once the VM does. 0, or -1 after printing why. */
static int api_vm_find_snapshot_dir(struct api_vm *a, const char *dir)
{
	struct stat st;

	if (!dir)
		return 0;
	a->snapshot_dir = realpath(dir, NULL);
	if (!a->snapshot_dir || stat(a->snapshot_dir, &st)) {
		fprintf(stderr, "kvmlite: --snapshot-dir %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	a->snap_dev = st.st_dev;
	a->snap_ino = st.st_ino;
	return 0;
}

static void api_vm_shutdown(void *opaque)
{
	struct api_vm *a = opaque;

	__atomic_store_n(&a->api_shutdown, true, __ATOMIC_SEQ_CST);
	kvmlite_vm_stop(a->vm);
}

/*
 * exec: the caller's working directory, for the guest (which goes to "/"
 * when it lacks it), also under a --root other than /. NULL ("/") when it
 * cannot be named.
 */
static const char *exec_cwd(void)
{
	static char cwd[4096]; /* the command's own, once */

	if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/' || strstr(cwd, "/./") ||
	    strstr(cwd, "/../"))
		return NULL;
	return cwd;
}

/*
 * The VM's configuration: the --config file if any, then what the command
 * line gives explicitly. Returns 0 or an exit status.
 */
static int build_config(const struct cli_opts *o, struct kvmlite_config *cfg,
			enum cli_serial *serial, const char **serial_path,
			enum cli_timing *timing)
{
	char err[512];

	kvmlite_config_init(cfg);
	if (o->command == CLI_RESTORE) {
		/* The rest is the snapshot's. */
		cfg->seccomp = o->set & CLI_SET_NO_SECCOMP ? 0 : 1;
		*serial = o->serial;
		*serial_path = o->serial_path;
		*timing = o->timing;
		return 0;
	}
	if (o->config &&
	    kvmlite_config_load(o->config, cfg, err, sizeof(err))) {
		fprintf(stderr, "kvmlite: %s\n", err);
		return KVMLITE_STATUS_USAGE;
	}
	if (o->kernel)
		cfg->kernel_path = o->kernel;
	if (o->initrd)
		cfg->initrd_path = o->initrd;
	if (o->cmdline)
		cfg->cmdline = o->cmdline;
	if (o->name)
		cfg->name = o->name;
	if (o->snapshot_dir)
		cfg->snapshot_dir = o->snapshot_dir;
	if (o->set & CLI_SET_CPUS)
		cfg->cpus = o->cpus;
	if (o->set & CLI_SET_MEMORY)
		cfg->memory = o->memory;
	if (o->set & CLI_SET_HUGEPAGES)
		cfg->hugepages = o->hugepages;
	/* Filters are on unless the file or the command line says no. */
	if (o->set & CLI_SET_NO_SECCOMP)
		cfg->seccomp = 0;
	else if (cfg->seccomp < 0)
		cfg->seccomp = 1;
	/* Lists on the command line replace the file's. */
	if (o->nr_disks) {
		cfg->disks = o->disks;
		cfg->nr_disks = o->nr_disks;
	}
	if (o->nr_nets) {
		cfg->nets = o->nets;
		cfg->nr_nets = o->nr_nets;
	}
	if (o->nr_fs) {
		cfg->fs = o->fs;
		cfg->nr_fs = o->nr_fs;
	}
	if (o->set & CLI_SET_RNG)
		cfg->rng = 1;
	if (o->set & CLI_SET_VSOCK)
		cfg->vsock = o->vsock;
	if (o->command == CLI_EXEC) {
		cfg->exec.argv = (const char *const *)o->exec_argv;
		cfg->exec.root = o->root;
		cfg->exec.modules_dir = o->modules;
		cfg->exec.cwd = exec_cwd();
		cfg->exec.stderr_fd = STDERR_FILENO;
		if (o->nr_shares) {
			cfg->fs = o->shares;
			cfg->nr_fs = o->nr_shares;
			cfg->exec.mounts = o->share_mounts;
		}
	}
	if (!cfg->kernel_path) {
		fprintf(stderr,
			"kvmlite: %s: no \"kernel\" given (and no "
			"--kernel)\n",
			o->config);
		return KVMLITE_STATUS_USAGE;
	}

	*serial = o->serial;
	*serial_path = o->serial_path;
	if (!(o->set & CLI_SET_SERIAL) && cfg->serial) {
		/* Validated by the loader: stdio, none or file:PATH. */
		if (!strcmp(cfg->serial, "none")) {
			*serial = CLI_SERIAL_NONE;
		} else if (!strncmp(cfg->serial, "file:", 5)) {
			*serial = CLI_SERIAL_FILE;
			*serial_path = cfg->serial + 5;
		}
	}
	*timing = o->timing;
	if (!(o->set & CLI_SET_TIMING) && cfg->boot_timing)
		*timing = strcmp(cfg->boot_timing, "json") ? CLI_TIMING_TEXT
							   : CLI_TIMING_JSON;
	return 0;
}

static int run(const struct cli_opts *o, uint64_t t0)
{
	struct kvmlite_config cfg;
	struct kvmlite_vm *vm = NULL;
	struct kvmlite_exit ex;
	bool tty = false;
	enum cli_serial serial;
	enum cli_timing timing;
	const char *serial_path;
	char err[512];
	sigset_t sigs;
	int sfd, out_fd = -1, ret, status;
	struct api_vm api_vm = { 0 };
	struct api_target target = {
		.opaque = &api_vm,
		.state = api_vm_state,
		.pause = api_vm_pause,
		.resume = api_vm_resume,
		.power_button = api_vm_power_button,
		.counters = api_vm_counters,
		.vmm_shutdown = api_vm_shutdown,
		.is_snapshot_dir = api_vm_is_snapshot_dir,
		.snapshot = api_vm_snapshot,
	};
	struct api_server *api = NULL;
	char *api_config = NULL;
	uint64_t api_dev = 0, api_ino = 0;
	int api_fd = -1;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	sigaddset(&sigs, SIGPWR);  /* press the guest's power button */
	sigaddset(&sigs, SIGUSR1); /* print a state dump */
	/* Blocked before any thread exists, so only the signalfd sees them. */
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);

	status = build_config(o, &cfg, &serial, &serial_path, &timing);
	if (status)
		goto out;
	cfg.process_start_ns = t0;
	if (o->command == CLI_EXEC) {
		/* The command's stdout; its stdin is the guest's /dev/null. */
		cfg.console_out_fd = STDOUT_FILENO;
	} else if (serial == CLI_SERIAL_STDIO) {
		/* The library's console thread reads the keys, and acts on
		 * Ctrl-A x and Ctrl-A p when they come from a terminal. */
		cfg.console_out_fd = STDOUT_FILENO;
		cfg.console_in_fd = STDIN_FILENO;
		tty = isatty(STDIN_FILENO);
		cfg.console_escapes = tty;
	} else if (serial == CLI_SERIAL_FILE) {
		out_fd = open_serial_file(serial_path);
		if (out_fd < 0) {
			status = KVMLITE_STATUS_USAGE;
			goto out;
		}
		cfg.console_out_fd = out_fd;
	}

	/* The socket before the VM: a bad path costs no VM. */
	if (o->api_socket) {
		api_fd = api_listen(o->api_socket, &api_dev, &api_ino, err,
				    sizeof(err));
		api_config = api_config_json(&cfg);
		if (api_fd < 0 || !api_config) {
			fprintf(stderr, "kvmlite: %s\n",
				api_fd < 0 ? err : "out of memory");
			status = api_fd < 0 ? KVMLITE_STATUS_USAGE
					    : KVMLITE_STATUS_VMM_ERROR;
			goto out;
		}
		target.config_json = api_config;
	}

	err[0] = '\0';
	if (cfg.nr_fs)
		raise_nofile();
	if (o->command == CLI_RESTORE)
		ret = kvmlite_vm_restore(o->restore_dir, &cfg, &vm, err,
					 sizeof(err));
	else
		ret = kvmlite_vm_create(&cfg, &vm, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "kvmlite: %s\n", err[0] ? err : strerror(-ret));
		status = status_for_create_error(ret);
		goto out;
	}
	/* Resolved here, before any filter: the API thread can only stat. */
	if (api_fd >= 0) {
		if (api_vm_find_snapshot_dir(&api_vm, cfg.snapshot_dir)) {
			status = KVMLITE_STATUS_VMM_ERROR;
			goto out;
		}
		target.snapshot_dir = api_vm.snapshot_dir;
	}
	if (kvmlite_vm_warning(vm))
		fprintf(stderr, "kvmlite: warning: %s\n",
			kvmlite_vm_warning(vm));
	if (tty)
		term_raw();
	ret = kvmlite_vm_start(vm);
	if (ret)
		goto wait;
	if (api_fd >= 0) {
		api_vm.vm = vm;
		ret = api_server_start(&api, api_fd, o->api_socket, api_dev,
				       api_ino, &target, cfg.seccomp > 0);
		if (ret) {
			kvmlite_vm_stop(vm);
			kvmlite_vm_wait(vm, -1);
			term_restore();
			fprintf(stderr, "kvmlite: --api-socket %s: %s\n",
				o->api_socket, strerror(-ret));
			status = KVMLITE_STATUS_VMM_ERROR;
			goto out;
		}
		api_fd = -1; /* the server's now */
	}
	/* After start: threads inherit filters, and theirs differ. */
	if (cfg.seccomp > 0) {
		ret = sandbox_enter(SANDBOX_MAIN);
		if (ret) {
			kvmlite_vm_stop(vm);
			kvmlite_vm_wait(vm, -1);
			term_restore();
			fprintf(stderr, "kvmlite: seccomp filter: %s\n",
				strerror(-ret));
			status = KVMLITE_STATUS_VMM_ERROR;
			goto out;
		}
	}

	for (;;) {
		struct pollfd p[2] = {
			{ kvmlite_vm_exit_fd(vm), POLLIN, 0 },
			{ sfd, POLLIN, 0 },
		};
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (!p[1].revents || read(sfd, &si, sizeof(si)) <= 0)
			continue;
		if (si.ssi_signo == SIGPWR)
			(void)kvmlite_vm_shutdown(vm);
		else if (si.ssi_signo == SIGUSR1)
			print_dump(vm);
		else
			kvmlite_vm_stop(vm);
	}
wait:
	kvmlite_vm_wait(vm, -1);
	/* No request reaches a VM that is being torn down. */
	api_server_stop(api);
	api = NULL;
	term_restore();
	kvmlite_vm_exit_info(vm, &ex);
	status = kvmlite_exit_status(&ex);
	switch (ex.reason) {
	case KVMLITE_EXIT_CRASH:
		/* With the state dump, so that the crash can be attributed. */
		fprintf(stderr, "kvmlite: %s\n", ex.detail);
		print_dump(vm);
		break;
	case KVMLITE_EXIT_ERROR:
		fprintf(stderr, "kvmlite: %s\n", ex.detail);
		break;
	case KVMLITE_EXIT_STOPPED:
		fprintf(stderr, "kvmlite: VM stopped%s\n",
			__atomic_load_n(&api_vm.api_shutdown, __ATOMIC_SEQ_CST)
				? " (vmm.shutdown on the API socket)"
				: "");
		break;
	default:
		break;
	}
	{
		struct kvmlite_console_stats cs;

		kvmlite_vm_console_stats(vm, &cs);
		if (cs.dropped)
			fprintf(stderr,
				"kvmlite: console: %llu bytes of guest output "
				"dropped (%s)\n",
				(unsigned long long)cs.dropped,
				cs.out_error ? strerror(cs.out_error)
					     : "the reader stalled");
	}
	if (timing != CLI_TIMING_OFF) {
		struct kvmlite_timings t;

		kvmlite_vm_timings(vm, &t);
		print_timings(&t, timing == CLI_TIMING_JSON);
	}
out:
	api_server_stop(api);
	if (api_fd >= 0)
		api_unlisten(api_fd, o->api_socket, api_dev, api_ino);
	free(api_config);
	free(api_vm.snapshot_dir);
	kvmlite_vm_destroy(vm);
	kvmlite_config_release(&cfg);
	if (out_fd >= 0)
		close(out_fd);
	if (sfd >= 0)
		close(sfd);
	return status;
}

int main(int argc, char **argv)
{
	uint64_t t0 = mono_ns();
	struct cli_opts o;
	char err[512];

	int status;

	if (cli_parse(argc, argv, &o, err, sizeof(err))) {
		fprintf(stderr, "kvmlite: %s\n", err);
		cli_free(&o);
		return KVMLITE_STATUS_USAGE;
	}
	switch (o.command) {
	case CLI_HELP:
		fputs(cli_usage, stdout);
		return 0;
	case CLI_VERSION:
		printf("kvmlite %s\n", kvmlite_version_string());
		return 0;
	case CLI_RUN:
	case CLI_RESTORE:
	case CLI_EXEC:
		break;
	}
	status = run(&o, t0);
	cli_free(&o);
	return status;
}
