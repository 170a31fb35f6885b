/* seccomp filters, one allow-list per kind of thread. */
#ifndef KVMLITE_SANDBOX_H
#define KVMLITE_SANDBOX_H

enum sandbox_kind {
	SANDBOX_VCPU,	  /* KVM_RUN loop and the device emulation it calls */
	SANDBOX_IO,	  /* device workers and the console thread */
	SANDBOX_MAIN,	  /* the kvmlite command's main thread */
	SANDBOX_RNG,	  /* virtio-rng's worker: I/O and getrandom */
	SANDBOX_VSOCK,	  /* virtio-vsock's worker: I/O and Unix sockets */
	SANDBOX_API,	  /* the command's API socket (src/api_server.c) */
	SANDBOX_SNAPSHOT, /* the VM's snapshot thread (port 0xf6) */
	SANDBOX_P9, /* a virtio-9p worker: its share (fd: /proc/self/fd) */
};

/*
 * Restrict the calling thread to its kind's system calls (a forbidden one
 * raises SIGSYS). Returns 0 or a negative errno.
 */
int sandbox_enter(enum sandbox_kind kind);
/* The same, for a kind whose rules name an fd of its own (SANDBOX_SNAPSHOT:
 * the snapshot directory's, the only directory it may open files in). */
int sandbox_enter_fd(int kind, int fd);

/* 0 when this kernel and libseccomp can filter, else a negative errno. */
int sandbox_available(void);

/*
 * Report forbidden system calls: unless the program already handles
 * SIGSYS, install a handler that prints which kind of thread made which
 * call and ends the process with KVMLITE_STATUS_SANDBOX.
 */
void sandbox_install_reporter(void);

#endif
