/*
 * libkvmlite: a small KVM virtual machine monitor as a C library.
 *
 * Threading: every function taking a struct kvmlite_vm may be called from
 * any thread; distinct VMs are fully independent (no global state).
 *
 * Signals: a running VM interrupts its vCPU threads with one real-time
 * signal (struct kvmlite_config.kick_signal, default SIGRTMAX - 1). The
 * library blocks it in its own threads and consumes it there, without a
 * handler. Do not use that signal number for anything else in the
 * process. The only disposition the library ever sets is a SIGSYS
 * reporter, and only with seccomp on and SIGSYS unhandled (see
 * kvmlite_config.seccomp). No signal the library causes (SIGPIPE from a
 * closed console, say) reaches the process: its threads block them.
 *
 * Errors: functions return 0 or a negative errno value. Creation writes a
 * one-line reason to the caller's buffer; later failures are available from
 * kvmlite_vm_last_error().
 *
 * ABI: the structs a caller allocates and the library reads or fills
 * (kvmlite_config, kvmlite_disk, kvmlite_net, kvmlite_exit,
 * kvmlite_timings, kvmlite_console_stats) only ever grow at their end. The
 * library learns the sizes the caller was built with: kvmlite_config_init()
 * and kvmlite_config_load() record them in the config (struct_size,
 * disk_size, net_size), and the calls that fill a struct are macros that
 * pass sizeof(*out). It reads only what those sizes hold, takes defaults
 * for fields added since, and never writes past them; a config that sets
 * fields this library does not know is refused. So a program built
 * against an older header of the same major version keeps working with a
 * newer library. Always start a config with kvmlite_config_init() (or
 * _load()); never set the size fields by hand.
 */
#ifndef KVMLITE_H
#define KVMLITE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one place the version is written (CMakeLists.txt reads it here). */
#define KVMLITE_VERSION_MAJOR 0
#define KVMLITE_VERSION_MINOR 5
#define KVMLITE_VERSION_PATCH 0
#define KVMLITE_VERSION                                                        \
	((KVMLITE_VERSION_MAJOR << 16) | (KVMLITE_VERSION_MINOR << 8) |        \
	 KVMLITE_VERSION_PATCH)
#define KVMLITE_STR_(x) #x
#define KVMLITE_STR(x) KVMLITE_STR_(x)
#define KVMLITE_VERSION_STRING                                                 \
	KVMLITE_STR(KVMLITE_VERSION_MAJOR)                                     \
	"." KVMLITE_STR(KVMLITE_VERSION_MINOR) "." KVMLITE_STR(                \
		KVMLITE_VERSION_PATCH)

#if defined(KVMLITE_BUILDING)
#define KVMLITE_API __attribute__((visibility("default")))
#else
#define KVMLITE_API
#endif

/* The library's version, as KVMLITE_VERSION, and as a string "0.5.0". */
KVMLITE_API unsigned int kvmlite_version(void);
KVMLITE_API const char *kvmlite_version_string(void);

/* Limits: vCPUs, guest RAM (bytes), a disk serial's length. */
#define KVMLITE_MAX_CPUS 255
#define KVMLITE_MIN_MEMORY (16ULL << 20)
#define KVMLITE_MAX_MEMORY (1ULL << 40)
#define KVMLITE_MEMORY_ALIGN 4096
/* With hugepages (below): memory is a multiple of this. */
#define KVMLITE_HUGEPAGE_SIZE (2ULL << 20)
#define KVMLITE_DISK_SERIAL_MAX 20

/* The default guest kernel command line used when cmdline is NULL. */
#define KVMLITE_DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1 pci=off"

/* A virtio-blk disk: a raw image file or a block device. */
struct kvmlite_disk {
	const char *path;
	int read_only; /* non-zero: guest writes fail, image opened O_RDONLY */
	const char
		*serial; /* VIRTIO_BLK_T_GET_ID answer, <= 20 bytes; NULL: "" */

	/* Added in 0.4. */
	/*
	 * Non-zero: the guest may write, but its writes go to a private
	 * sparse overlay (a temporary file in $TMPDIR, else /var/tmp or
	 * /tmp), discarded at exit and by kvmlite_vm_reset(); the image is
	 * opened read-only with a shared lock and never written, so any
	 * number of VMs may use it at once. Such a disk offers no discard or
	 * write-zeroes, and a flush has nothing to make durable.
	 */
	int overlay;
};

#define KVMLITE_MAX_DISKS 16

/*
 * A virtio-net device, on a TAP interface (created when missing, if the
 * process may: needs CAP_NET_ADMIN) or on passt, user-mode networking
 * without privileges: exactly one of tap and passt.
 */
struct kvmlite_net {
	const char *tap; /* interface name */
	const char *mac; /* "52:54:00:12:34:56"; NULL: stable default */
	/* Fields added in 0.4. */
	/*
	 * Non-NULL: frames go to passt (Debian's passt package) over a Unix
	 * stream socket, each behind its 32-bit big-endian length (passt's
	 * qemu protocol). "": the library starts a passt of its own on one
	 * end of a socketpair (passt --fd; it runs in the background and
	 * quits when the VM closes its end; its first process is waited
	 * for at creation, by a helper that sends the program no SIGCHLD;
	 * a program that is a child subreaper inherits the background
	 * passt, as it would any daemon); a path: attach to a passt
	 * already listening there (passt --socket PATH). No checksum or
	 * segmentation offloads (passt's frames carry no vnet header);
	 * mergeable receive buffers as on a TAP.
	 */
	const char *passt;
};

#define KVMLITE_MAX_NETS 8
/* Every virtio device (disks, nets, rng, vsock) takes one of the
 * IOAPIC's free lines. */
#define KVMLITE_MAX_DEVICES 19

/*
 * A virtio-vsock device speaking Firecracker's hybrid vsock over Unix
 * sockets (README.md, "vsock"). The host connects to @uds and writes
 * "CONNECT <port>\n": it is connected to the guest's listener on that
 * port and reads "OK <host_port>\n" first (or the socket is closed). A
 * guest connecting to CID 2 port P reaches whoever listens on the Unix
 * socket "@uds_P". Stream sockets only; credit-based flow control both
 * ways, so neither side can make the other buffer without bound.
 */
struct kvmlite_vsock {
	uint32_t cid; /* the guest's CID, 3..KVMLITE_VSOCK_CID_MAX; 0: none */
	const char *uds; /* the listening socket, created (a stale one,
			  * which nobody listens on, is replaced); left
			  * in place at destroy */
};

#define KVMLITE_VSOCK_CID_MIN 3
#define KVMLITE_VSOCK_CID_MAX 0xfffffffeU
/* Room for "_4294967295" after the path in a sockaddr_un. */
#define KVMLITE_VSOCK_UDS_MAX 96
/* Connections at once (either way); more are refused. */
#define KVMLITE_VSOCK_MAX_CONNS 256

/*
 * A host directory shared with the guest over virtio-9p (9P2000.L); a Linux
 * guest mounts it with
 *   mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt
 * Every path the guest names resolves beneath @path and nowhere else.
 * Fixed size: a field added later comes in a new struct.
 */
struct kvmlite_fs {
	const char *path; /* the host directory */
	const char *tag;  /* the mount tag, 1..KVMLITE_FS_TAG_MAX bytes */
	int read_only;	  /* non-zero: every write is refused (EROFS) */
};

#define KVMLITE_MAX_FS 8
#define KVMLITE_FS_TAG_MAX 32

/*
 * One command run in a fresh guest (the kvmlite exec command): the
 * library builds an initramfs in memory holding its own init (and, with
 * @modules_dir, the virtio_mmio, 9p and overlay modules and what they
 * need), which mounts @root read-only over 9p with a tmpfs over it for
 * writes (overlayfs), mounts the shares (kvmlite_config.fs) at @mounts,
 * mounts /proc, /sys, /dev, /tmp, runs argv in @cwd (or "/" when @cwd is
 * missing in the guest) and ends the VM:
 * - KVMLITE_EXIT_TEST_EXIT, value the command's status (128 + N when
 *   killed by signal N): kvmlite_exit_status() gives it back unchanged;
 * - KVMLITE_EXIT_EXEC_FAILED when the init could not run it, value
 *   KVMLITE_EXEC_SETUP (a module, a mount), KVMLITE_EXEC_CANNOT_RUN or
 *   KVMLITE_EXEC_NOT_FOUND, the init's one-line message in the detail (and
 *   on the command's stderr).
 * The command's stdout goes to console_out_fd, its stderr to @stderr_fd
 * (or with stdout when @stderr_fd < 0), byte for byte: the init frames the
 * two streams on the one UART and the library splits them (console_cb and
 * kvmlite_vm_expect() see the framed stream: src/exec/exec_protocol.h).
 * The kernel's own messages are off but for a panic's, which go to
 * stderr. Set argv to use it; initrd_path must then be NULL, and cmdline
 * NULL gives KVMLITE_EXEC_CMDLINE. No snapshots of such a VM.
 */
struct kvmlite_exec {
	const char *const *argv; /* NULL-terminated; NULL: no command */
	const char *cwd;	 /* in the guest; NULL: "/" */
	const char *root;	 /* host directory; NULL: "/" */
	const char *modules_dir; /* the kernel's lib/modules/VER, or NULL:
				  * virtio_mmio, 9p, overlay built in */
	/* mounts[i]: the absolute guest path where fs[i] is mounted; a NULL
	 * array or entry: fs[i] is not mounted. */
	const char *const *mounts;
	int stderr_fd; /* -1 (kvmlite_config_init): with stdout */
};

#define KVMLITE_EXEC_SETUP 125	    /* the init could not set up */
#define KVMLITE_EXEC_CANNOT_RUN 126 /* the command is not executable */
#define KVMLITE_EXEC_NOT_FOUND 127  /* no such command */
/* The 9p tag of the root share (kvmlite_config.fs may not use it). */
#define KVMLITE_EXEC_ROOT_TAG "kvmlite-root"
#define KVMLITE_EXEC_CMDLINE                                                   \
	"console=ttyS0 loglevel=1 reboot=k panic=-1 pci=off"

/* Receives guest console output (see struct kvmlite_config). */
typedef void (*kvmlite_console_fn)(void *opaque, const char *buf, size_t len);

struct kvmlite_config {
	/* ABI (see the top of this file): set by kvmlite_config_init(). */
	uint32_t struct_size;
	uint16_t disk_size;
	uint16_t net_size;

	const char *kernel_path; /* bzImage or ELF vmlinux; required */
	const char *initrd_path; /* NULL: no initrd */
	const char *cmdline;	 /* NULL: KVMLITE_DEFAULT_CMDLINE */
	unsigned int cpus;	 /* 1..255 */
	uint64_t memory;	 /* bytes, multiple of 4 KiB, >= 16 MiB */

	/*
	 * Guest serial console (8250 at 0x3f8). Output goes to console_out_fd
	 * (when >= 0) and to console_cb (when set); input is read from
	 * console_in_fd (when >= 0). The library does not close them, nor
	 * change their flags.
	 *
	 * console_out_fd is written by the library's console thread, never
	 * blocking on it (a pipe or terminal is written through its own
	 * non-blocking reopening, a socket with MSG_DONTWAIT). Output waits
	 * in a 128 KiB buffer; when that is full the guest's UART reports its
	 * transmitter busy (flow control: a slow reader loses nothing). A
	 * reader that takes nothing for 5 s is taken for gone: output is then
	 * dropped and counted (kvmlite_vm_console_stats) until the buffer has
	 * drained to half. If writing fails (the reader closed a pipe: no
	 * SIGPIPE reaches the process), that is recorded for
	 * kvmlite_vm_last_error() and later output is dropped. When the VM
	 * stops, what is buffered is written out for at most 100 ms before
	 * kvmlite_vm_wait() returns. No vCPU thread ever waits for the reader.
	 * console_cb gets every byte the UART sent, in order, on a vCPU
	 * thread or the console thread, one call at a time: it must not
	 * block. End of file on console_in_fd ends input; the guest runs on.
	 * With console_escapes (below), input is read as a terminal would be
	 * typed at.
	 */
	int console_in_fd;
	int console_out_fd;
	kvmlite_console_fn console_cb;
	void *console_opaque;

	/* Disks, in order: the guest sees them as vda, vdb, ... each image
	 * at most once. An image opened read-write is locked against other
	 * users. */
	const struct kvmlite_disk *disks;
	unsigned int nr_disks; /* up to KVMLITE_MAX_DISKS */

	const struct kvmlite_net *nets;
	unsigned int nr_nets; /* up to KVMLITE_MAX_NETS */
	/* Names the VM in messages; seeds default MAC addresses. */
	const char *name;

	int kick_signal; /* 0: SIGRTMAX - 1 (see top of file) */

	/*
	 * 1: every thread the library starts loads a seccomp
	 * allow-list for its kind (vCPU, I/O) before it touches anything the
	 * guest controls. A forbidden call raises SIGSYS; unless the program
	 * handles SIGSYS itself, the library then installs a handler that
	 * names the thread kind and call and ends the process with
	 * KVMLITE_STATUS_SANDBOX. Console callbacks run on vCPU threads and
	 * are bound by their list (read, write, futex, memory without
	 * PROT_EXEC, signals to this process's own threads only: see
	 * src/sandbox.c and README.md, "Security"; not fstat, which stdio
	 * calls when it allocates a stream's buffer: setvbuf() one first).
	 * 0: off. -1 (what
	 * kvmlite_config_init sets): off in the library; on in the kvmlite
	 * command.
	 */
	int seccomp;

	/* CLOCK_MONOTONIC ns of process start, for boot timings (0: unknown) */
	uint64_t process_start_ns;

	/* Read by the kvmlite command only (set from a config file's
	 * "serial" and "boot_timing"); the library ignores them. */
	const char *serial;
	const char *boot_timing;

	void *storage; /* owned by kvmlite_config_load(); do not touch */

	/* Fields added in 0.3. */
	/*
	 * Non-zero: console_in_fd is a user's terminal, and the library acts
	 * on Ctrl-A escapes in it: Ctrl-A x stops the VM, Ctrl-A p presses
	 * the power button (kvmlite_vm_shutdown), Ctrl-A Ctrl-A sends one
	 * Ctrl-A; any other key after Ctrl-A is dropped. 0: bytes pass as
	 * they are.
	 */
	int console_escapes;

	/* Fields added in 0.4. */
	/*
	 * Non-zero: a virtio-rng device (/dev/hwrng in a Linux guest),
	 * filled from getrandom(), at most 1 MiB/s per device (bursts of
	 * 256 KiB), so a guest asking without end gets a slow device, never
	 * a spinning host thread.
	 */
	int rng;
	/* A vsock device when vsock.cid is non-zero (see kvmlite_vsock). */
	struct kvmlite_vsock vsock;
	/*
	 * Guest RAM's backing. 0 (default): private anonymous memory with
	 * transparent huge pages advised, which the host's default THP
	 * setting grants (no sysfs change needed). Non-zero: huge pages from
	 * the host's hugetlb pool (/proc/sys/vm/nr_hugepages), all of RAM
	 * reserved when the VM is created (-ENOSPC when the pool has too few
	 * free pages); memory must then be a multiple of
	 * KVMLITE_HUGEPAGE_SIZE.
	 */
	int hugepages;
	/*
	 * A directory for the snapshots the guest asks for (created if
	 * missing; its parent must exist): a guest write to I/O port 0xf6
	 * pauses every vCPU, writes a snapshot there (replacing the one it
	 * holds, as kvmlite_vm_snapshot() does) and resumes the guest. A
	 * snapshot that fails stops the VM (KVMLITE_EXIT_ERROR, naming the
	 * directory and why). NULL: writes to the port do nothing. Reads of
	 * port 0xf6 return 0 in a VM that booted, 1 in one restored from a
	 * snapshot or reset to one, whatever this field says.
	 */
	const char *snapshot_dir;

	/* Fields added in 0.5. */
	/* Directories shared over virtio-9p, in order (see kvmlite_fs). */
	const struct kvmlite_fs *fs;
	unsigned int nr_fs;	  /* up to KVMLITE_MAX_FS */
	struct kvmlite_exec exec; /* see kvmlite_exec */
};

/* Fill @cfg with defaults: 1 vCPU, 256 MiB, no console fds, and the
 * sizes of this header's structs (see "ABI" above). */
KVMLITE_API void kvmlite_config_init_sized(struct kvmlite_config *cfg,
					   size_t size, size_t disk_size,
					   size_t net_size);
#define kvmlite_config_init(cfg)                                               \
	kvmlite_config_init_sized((cfg), sizeof(*(cfg)),                       \
				  sizeof(struct kvmlite_disk),                 \
				  sizeof(struct kvmlite_net))

/*
 * Load a JSON configuration file (format: README.md, "Configuration
 * files") into @cfg, which is first reset with kvmlite_config_init().
 * Relative paths in the file are relative to the file's directory. On
 * failure returns -EINVAL (or -errno reading the file) and writes one line
 * naming the file, line, column and offending key to @err. The file must
 * be a regular file: a FIFO or device is refused without blocking
 * (-EINVAL, "PATH: not a regular file"; a directory: -EISDIR). Release with
 * kvmlite_config_release() (also after a failure).
 */
KVMLITE_API int kvmlite_config_load_sized(const char *path,
					  struct kvmlite_config *cfg,
					  size_t size, size_t disk_size,
					  size_t net_size, char *err,
					  size_t errlen);
#define kvmlite_config_load(path, cfg, err, errlen)                            \
	kvmlite_config_load_sized((path), (cfg), sizeof(*(cfg)),               \
				  sizeof(struct kvmlite_disk),                 \
				  sizeof(struct kvmlite_net), (err), (errlen))
KVMLITE_API void kvmlite_config_release(struct kvmlite_config *cfg);

enum kvmlite_exit_reason {
	KVMLITE_EXIT_NONE = 0,	  /* still running */
	KVMLITE_EXIT_POWEROFF,	  /* guest powered off (ACPI S5) */
	KVMLITE_EXIT_REBOOT,	  /* guest reset the machine */
	KVMLITE_EXIT_TEST_EXIT,	  /* guest wrote the test-exit port 0xf4 */
	KVMLITE_EXIT_CRASH,	  /* triple fault, emulation or entry failure */
	KVMLITE_EXIT_STOPPED,	  /* kvmlite_vm_stop() */
	KVMLITE_EXIT_ERROR,	  /* the VMM itself failed (see detail) */
	KVMLITE_EXIT_EXEC_FAILED, /* kvmlite_exec's init could not run the
				   * command (value: its status) */
};

struct kvmlite_exit {
	enum kvmlite_exit_reason reason;
	int test_exit_value; /* KVMLITE_EXIT_TEST_EXIT: 0..255; also
			      * KVMLITE_EXIT_EXEC_FAILED's status */
	char detail[2048];   /* human-readable; crash: reason and registers */
};

/*
 * Process exit statuses used by the kvmlite command (and suggested for
 * embedders). A test-exit value V is returned as V itself, and so is an
 * exec failure's status (KVMLITE_EXEC_*).
 */
#define KVMLITE_STATUS_POWEROFF 0
#define KVMLITE_STATUS_USAGE 64	    /* bad arguments or configuration */
#define KVMLITE_STATUS_BAD_IMAGE 65 /* kernel/initrd/snapshot unusable */
#define KVMLITE_STATUS_NO_KVM 69    /* /dev/kvm missing or lacking features */
#define KVMLITE_STATUS_VMM_ERROR 70 /* internal failure of the VMM */
#define KVMLITE_STATUS_SANDBOX 71   /* a thread broke its seccomp filter */
#define KVMLITE_STATUS_REBOOT 80    /* guest rebooted */
#define KVMLITE_STATUS_CRASH 81	    /* guest crashed */
#define KVMLITE_STATUS_STOPPED 82   /* stopped from the host side */

/* Process exit status for an exit, per the table above. */
KVMLITE_API int kvmlite_exit_status(const struct kvmlite_exit *e);

/* Boot phases, CLOCK_MONOTONIC nanoseconds; 0 when not reached. */
struct kvmlite_timings {
	uint64_t process_start; /* from kvmlite_config.process_start_ns */
	uint64_t loaded;	/* guest memory set up, kernel/initrd loaded */
	uint64_t vm_created;	/* KVM VM, devices and vCPUs ready */
	uint64_t first_run;	/* vCPU 0 enters KVM_RUN for the first time */
	uint64_t guest_marker;	/* guest wrote the boot-timer port 0xf5 (first
				 * time since boot, restore or the last
				 * kvmlite_vm_reset()) */
	uint64_t exit;		/* VM stopped */
};

struct kvmlite_vm;

/*
 * Create a VM (not yet running). On failure returns a negative errno,
 * writes a one-line reason to @err and leaves *@out NULL:
 * -ENOEXEC the kernel or initrd cannot be used: it cannot be opened or
 *  read (the message gives the system's reason, e.g. "No such file or
 *  directory"), is not a regular file, is empty, or is invalid or
 *  unsupported;
 * -E2BIG the kernel, initrd or command line does not fit (guest memory
 *  too small, command line too long);
 * -EINVAL bad configuration (also: the same disk given twice);
 * -ENOENT, -EACCES... a disk cannot be opened; -EBUSY a disk is locked by
 *  another process;
 * -ENODEV no usable /dev/kvm or a missing capability; others: VMM failure.
 */
KVMLITE_API int kvmlite_vm_create(const struct kvmlite_config *cfg,
				  struct kvmlite_vm **out, char *err,
				  size_t errlen);

/* Start the vCPUs and the console thread. */
KVMLITE_API int kvmlite_vm_start(struct kvmlite_vm *vm);

/* Wait for the VM to stop: 0 once stopped (its vCPUs out of the guest and
 * the console output written, or given up on after 100 ms), -ETIMEDOUT
 * after timeout_ms (a negative timeout waits forever). */
KVMLITE_API int kvmlite_vm_wait(struct kvmlite_vm *vm, int timeout_ms);

/* Force the VM to stop now (reason KVMLITE_EXIT_STOPPED unless it already
 * stopped). Does not wait; use kvmlite_vm_wait(), which returns within a
 * few hundred ms whatever the guest and the console's reader do. */
KVMLITE_API void kvmlite_vm_stop(struct kvmlite_vm *vm);

/*
 * Ask the guest to shut down: press the ACPI power button (a Generic Event
 * Device, ACPI0013, notifying a PNP0C0C button). The guest decides what to
 * do: a systemd guest powers off; a minimal one needs the `button` and
 * `evdev` drivers and something that acts on KEY_POWER (busybox acpid, or
 * a read of /dev/input/eventN). Does not wait: follow with
 * kvmlite_vm_wait() and a timeout, then kvmlite_vm_stop() for a guest
 * that ignores it. 0, -ESRCH when the VM is not running, or -errno.
 */
KVMLITE_API int kvmlite_vm_shutdown(struct kvmlite_vm *vm);

/* A file descriptor that becomes readable once the VM has stopped (when
 * kvmlite_vm_wait() would return), for callers with their own event loop.
 * Owned by the VM. */
KVMLITE_API int kvmlite_vm_exit_fd(struct kvmlite_vm *vm);

/*
 * Wait up to @timeout_ms (negative: forever, 0: just look) for @needle in
 * the console output printed since the last successful expect (or since
 * boot). Returns 0 and moves past the match, -ETIMEDOUT, or -ESRCH when
 * the VM stopped without printing it. @seen (may be NULL) receives the
 * output from there up to the match's end (or all of it on failure),
 * truncated to its last seen_len - 1 bytes, NUL-terminated. The library
 * keeps the last 1 MiB of output for this. A waiting expect searches each
 * byte of output once (plus strlen(@needle) - 1 bytes per wake-up), so a
 * guest printing one byte at a time costs it linear, not quadratic, work.
 */
KVMLITE_API int kvmlite_vm_expect(struct kvmlite_vm *vm, const char *needle,
				  int timeout_ms, char *seen, size_t seen_len);

/* Stop every vCPU (returns once they all are stopped) and let them run
 * again. -EINVAL when the VM is not running. */
KVMLITE_API int kvmlite_vm_pause(struct kvmlite_vm *vm);
KVMLITE_API int kvmlite_vm_resume(struct kvmlite_vm *vm);

/* What became of the console output sent to console_out_fd. */
struct kvmlite_console_stats {
	uint64_t written; /* bytes written to console_out_fd */
	uint64_t dropped; /* bytes dropped: reader gone, output failed, or
			   * written by the guest while the UART was busy */
	uint64_t stalls;  /* times the reader took nothing for 5 s */
	uint64_t queued;  /* bytes waiting in the buffer now */
	int out_error;	  /* errno that ended output (e.g. EPIPE), or 0 */
};

KVMLITE_API void
kvmlite_vm_console_stats_sized(struct kvmlite_vm *vm,
			       struct kvmlite_console_stats *out, size_t size);
#define kvmlite_vm_console_stats(vm, out)                                      \
	kvmlite_vm_console_stats_sized((vm), (out), sizeof(*(out)))

/* Send bytes to the guest console as if typed; returns bytes queued. */
KVMLITE_API size_t kvmlite_vm_console_write(struct kvmlite_vm *vm,
					    const void *buf, size_t len);

KVMLITE_API void kvmlite_vm_exit_info_sized(struct kvmlite_vm *vm,
					    struct kvmlite_exit *out,
					    size_t size);
#define kvmlite_vm_exit_info(vm, out)                                          \
	kvmlite_vm_exit_info_sized((vm), (out), sizeof(*(out)))
KVMLITE_API void kvmlite_vm_timings_sized(struct kvmlite_vm *vm,
					  struct kvmlite_timings *out,
					  size_t size);
#define kvmlite_vm_timings(vm, out)                                            \
	kvmlite_vm_timings_sized((vm), (out), sizeof(*(out)))
/* The last error recorded for this VM ("" when none). Valid until the
 * next call on the VM. */
KVMLITE_API const char *kvmlite_vm_last_error(struct kvmlite_vm *vm);

/*
 * Describe the VM's state, for a test that saw it hang or crash: lines of
 * "what: key=value ..." ("vm:", "vcpuN:", "ioapic:", "uart:", "console:",
 * "virtioN:"), each ending in a newline. Every vCPU reports where its
 * thread is (in the guest, handling an exit, paused, done), its exit count
 * and last exit, and, read by itself after a kick, its mp_state, RIP and
 * control registers and its pending events and local APIC IRR/ISR; every
 * virtio device its status and, per queue, the device's and the guest's
 * ring indexes. Waits at most 200 ms for the vCPUs (one that does not
 * answer is reported as such) and never for a lock a stuck thread holds.
 * Any time after creation, also after the VM stopped. Returns the length
 * of the whole text, as snprintf() does (@buf, NUL-terminated, gets what
 * fits; @buf may be NULL when @len is 0), or a negative errno.
 */
KVMLITE_API int kvmlite_vm_dump(struct kvmlite_vm *vm, char *buf, size_t len);

/*
 * The VM's counters as one JSON object and a newline, keyed as Cloud
 * Hypervisor's vm.counters where they mean the same:
 * {"console":{"written":N,"dropped":N,"stalls":N},
 *  "disk0":{"read_ops":N,"read_bytes":N,"write_ops":N,"write_bytes":N,
 *           "flush_ops":N,"discard_ops":N,"errors":N},
 *  "net0":{"rx_bytes":N,"rx_frames":N,"tx_bytes":N,"tx_frames":N,
 *          "rx_dropped":N,"tx_dropped":N},
 *  "rng0":{"requests":N,"bytes":N,"throttled":N},
 *  "vsock0":{"tx_packets":N,"rx_packets":N,"tx_bytes":N,"rx_bytes":N,
 *            "bad_packets":N,"conns_opened":N,"conns_closed":N,...}}
 * (disks, then networks, the rng, the vsock, in configuration order;
 * keys may be added).
 * Never blocks; any time after creation. Returns the length of the whole
 * text as snprintf() does (@buf may be NULL when @len is 0), or -errno.
 */
KVMLITE_API int kvmlite_vm_counters(struct kvmlite_vm *vm, char *buf,
				    size_t len);

/*
 * A one-line warning about running this VM here, or NULL. Today: the
 * kernel is Linux and this machine has no hardware virtualization (no vmx
 * or svm in /proc/cpuinfo), so its /dev/kvm is a software one (such as
 * PVM) on which Linux crawls or fails. Valid while the VM exists.
 */
KVMLITE_API const char *kvmlite_vm_warning(struct kvmlite_vm *vm);

/*
 * Snapshots (format: docs/snapshot.md). A snapshot is a directory: the
 * state file "state" (the VM's configuration, every vCPU's registers,
 * FPU, MSRs, local APIC and pending events, the PIC, IOAPIC, PIT and
 * kvm-clock, every device's state, with a CRC-32), the memory file
 * "memory" (guest RAM, sparse), and a file per overlay disk
 * ("diskN.overlay", the clusters written before the snapshot). A snapshot
 * restores only in this version of kvmlite, on a host that gives the
 * vCPUs the same CPUID.
 *
 * kvmlite_vm_snapshot(): pause every vCPU, let each device finish or give
 * back the request in hand, write a snapshot into @dir (created if
 * missing; its files are replaced atomically: a crash leaves the old
 * snapshot or the new one, and a VM running from the old one keeps it),
 * and resume. The VM's disks are not copied: a restore reopens them by
 * path, so only an overlay disk (kvmlite_disk.overlay) comes back as it
 * was. 0, -EINVAL when the VM is not running, -EOPNOTSUPP (at once, the
 * VM not paused) when it has a device a snapshot cannot hold (none
 * since 0.4: a vsock device's connections, which live in host sockets,
 * are reset in a restored VM, its listener kept), or -errno (-ENOSPC...;
 * kvmlite_vm_last_error() says what failed).
 */
KVMLITE_API int kvmlite_vm_snapshot(struct kvmlite_vm *vm, const char *dir);

/*
 * Take a snapshot into the VM's own directory (kvmlite_config.snapshot_dir)
 * as a guest's write to port 0xf6 does, on the VM's snapshot thread, and
 * wait for it: for a caller that may not open files itself (a thread
 * under a seccomp filter, such as the kvmlite command's API socket): the
 * directory is the one opened at creation, and only the snapshot thread,
 * whose filter lets it create files there alone, writes. Like
 * kvmlite_vm_snapshot() (a paused VM stays paused; one that runs is
 * paused meanwhile and resumed), but a failure, unlike the guest's, does
 * not stop the VM. One call at a time; a snapshot the guest asked for
 * meanwhile is taken before or after it. Returns 0; -ENOENT when the VM
 * has no snapshot_dir; -EINVAL when it is not running; -EBUSY while
 * another call waits; -ECANCELED when the VM stops before the snapshot is
 * done (the call returns at once then: it never holds up a stop); else
 * as kvmlite_vm_snapshot(). On failure one line in @err (may be NULL)
 * says why; a snapshot that failed is also kvmlite_vm_last_error()'s.
 */
KVMLITE_API int kvmlite_vm_snapshot_to_dir(struct kvmlite_vm *vm, char *err,
					   size_t errlen);

/*
 * Create a VM from the snapshot in @dir, ready for kvmlite_vm_start(): it
 * goes on from where the snapshot was taken, with the snapshot's vCPUs,
 * memory size, disks (reopened by path; one whose size changed, or an
 * overlay disk's image modified since, is refused), networks (TAPs
 * reopened by name, passt started or attached to again, the same MACs),
 * rng and vsock (its socket bound again). Guest RAM is the memory file mapped
 * privately (read lazily, copy-on-write): the cost does not grow with
 * guest RAM, and one snapshot restores any number of times, at once too.
 * From @cfg (may be NULL: defaults) only the console (fds, callback,
 * escapes), kick_signal, seccomp, process_start_ns, name and
 * snapshot_dir are taken; the rest is the snapshot's. Port 0xf6 reads 1.
 * On failure a negative errno, one line naming the file and the reason in
 * @err, *@out NULL: -ENOEXEC the snapshot cannot be used (missing,
 * truncated, corrupt, from another kvmlite version, taken on another CPU,
 * a disk changed...); -ENODEV no usable /dev/kvm; others as
 * kvmlite_vm_create().
 */
KVMLITE_API int kvmlite_vm_restore(const char *dir,
				   const struct kvmlite_config *cfg,
				   struct kvmlite_vm **out, char *err,
				   size_t errlen);

/*
 * Reset a running VM in place to its last snapshot (the one it took or
 * was restored from last), without a new KVM VM or thread: guest RAM is
 * mapped from the snapshot's memory file again (copy-on-write; KVM's
 * memory slot is re-added, which grows with RAM on a shadow-paging
 * KVM: bench/README.md), every vCPU,
 * the in-kernel irqchip, PIT and clock, and every device are set back,
 * overlay disks lose what was written since. The console output and
 * kvmlite_vm_expect()'s position carry on; the boot timings' guest_marker
 * starts anew. 0; -ENOENT when the VM has no snapshot; -EINVAL when it is
 * not running; other -errno: the VM could not be set back and stops with
 * KVMLITE_EXIT_ERROR.
 */
KVMLITE_API int kvmlite_vm_reset(struct kvmlite_vm *vm);

/* Stop (if running), join every thread and free everything. NULL is ok. */
KVMLITE_API void kvmlite_vm_destroy(struct kvmlite_vm *vm);

#ifdef __cplusplus
}
#endif
#endif
