/* Starting the library's helper threads (device workers, console I/O). */
#ifndef KVMLITE_WORKER_H
#define KVMLITE_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include "sandbox.h"

/*
 * Start fn(arg) on a new thread with every signal but SIGSYS blocked
 * (signals belong to the host program and to the vCPU threads). With @seccomp
 * the thread first loads the I/O allow-list; its failure is returned here and
 * fn never runs. Returns 0 or a negative errno.
 */
int worker_start(pthread_t *t, void *(*fn)(void *), void *arg, bool seccomp);
/* The same with the allow-list of thread kind @kind. */
int worker_start_as(pthread_t *t, void *(*fn)(void *), void *arg, bool seccomp,
		    enum sandbox_kind kind);

/*
 * A device's worker thread with its stop eventfd: worker_init() makes the
 * eventfd, worker_run() starts fn(arg) once (as worker_start()), and
 * worker_release() sets the stop flag, signals the eventfd, joins the
 * thread if it runs and closes the eventfd. fn polls worker->stop_fd and
 * returns when it fires.
 *
 * Long work (a huge request, a batch) is cut into bounded steps, and fn
 * asks worker_cancelled() between steps: true once worker_release() has
 * begun, or while someone who waits for fn's current work to end (a device
 * reset waiting for the device lock) has called worker_cancel_begin() and
 * not yet worker_cancel_end(). fn then drops the work in hand, so that
 * neither a stop nor a reset waits for more than one step, whatever the
 * guest queued. These three are lock-free and callable from any thread.
 */
struct worker {
	pthread_t thread;
	int stop_fd;
	bool started;
	bool seccomp;		/* load the allow-list of @kind first */
	enum sandbox_kind kind; /* SANDBOX_IO unless worker_init_as() */
	int sandbox_fd;		/* the kind's fd (sandbox_enter_fd()), or -1 */
	bool stopping;		/* atomic: worker_release() has begun */
	unsigned int cancel;	/* atomic: worker_cancel_begin()s not ended */
};

int worker_init(struct worker *w, bool seccomp);
/* A worker whose thread loads the allow-list of @kind (a device whose
 * worker needs more than I/O: vsock's sockets, rng's getrandom). */
int worker_init_as(struct worker *w, bool seccomp, enum sandbox_kind kind);
/* The same for a kind whose rules name an fd (sandbox_enter_fd()). */
int worker_init_as_fd(struct worker *w, bool seccomp, enum sandbox_kind kind,
		      int sandbox_fd);
/* 0, -EBUSY when already started, or worker_start()'s error. */
int worker_run(struct worker *w, void *(*fn)(void *), void *arg);
void worker_release(struct worker *w);

void worker_cancel_begin(struct worker *w);
void worker_cancel_end(struct worker *w);
bool worker_cancelled(const struct worker *w);

/*
 * A device's snapshot quiesce (virtio_dev_ops.quiesce) around @lock, the
 * lock its worker processes under. @hold: cut the worker's batch short
 * and take @lock, keeping it; else drop @lock and kick @kick_fd, so the
 * worker looks at the rings again.
 */
void worker_quiesce(struct worker *w, pthread_mutex_t *lock, int kick_fd,
		    bool hold);

#endif
