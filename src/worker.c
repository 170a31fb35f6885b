#include "worker.h"

#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sandbox.h"

struct worker_boot {
	void *(*fn)(void *);
	void *arg;
	bool seccomp;
	enum sandbox_kind kind;
	int fd; /* the kind's fd (sandbox_enter_fd()), or -1 */
	int err;
	sem_t ready;
};

static void *worker_entry(void *p)
{
	struct worker_boot *wb = p; /* on the starter's stack: copy first */
	void *(*fn)(void *) = wb->fn;
	void *arg = wb->arg;
	int err = wb->seccomp ? sandbox_enter_fd(wb->kind, wb->fd) : 0;

	wb->err = err;
	sem_post(&wb->ready);
	return err ? NULL : fn(arg);
}

static int start_as(pthread_t *t, void *(*fn)(void *), void *arg, bool seccomp,
		    enum sandbox_kind kind, int fd)
{
	struct worker_boot wb = {
		.fn = fn, .arg = arg, .seccomp = seccomp, .kind = kind, .fd = fd
	};
	sigset_t all, old;
	int ret;

	sem_init(&wb.ready, 0, 0);
	/* SIGSYS stays open: a blocked one would kill instead of reporting. */
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(t, NULL, worker_entry, &wb);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ret) {
		while (sem_wait(&wb.ready) && errno == EINTR)
			;
		ret = wb.err;
		if (ret)
			pthread_join(*t, NULL);
	}
	sem_destroy(&wb.ready);
	return ret;
}

int worker_start(pthread_t *t, void *(*fn)(void *), void *arg, bool seccomp)
{
	return start_as(t, fn, arg, seccomp, SANDBOX_IO, -1);
}

int worker_start_as(pthread_t *t, void *(*fn)(void *), void *arg, bool seccomp,
		    enum sandbox_kind kind)
{
	return start_as(t, fn, arg, seccomp, kind, -1);
}

int worker_init(struct worker *w, bool seccomp)
{
	return worker_init_as_fd(w, seccomp, SANDBOX_IO, -1);
}

int worker_init_as(struct worker *w, bool seccomp, enum sandbox_kind kind)
{
	return worker_init_as_fd(w, seccomp, kind, -1);
}

int worker_init_as_fd(struct worker *w, bool seccomp, enum sandbox_kind kind,
		      int sandbox_fd)
{
	w->started = false;
	w->seccomp = seccomp;
	w->kind = kind;
	w->sandbox_fd = sandbox_fd;
	w->stopping = false;
	w->cancel = 0;
	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return w->stop_fd < 0 ? -errno : 0;
}

int worker_run(struct worker *w, void *(*fn)(void *), void *arg)
{
	int ret;

	if (w->started)
		return -EBUSY;
	ret = start_as(&w->thread, fn, arg, w->seccomp, w->kind, w->sandbox_fd);
	if (!ret)
		w->started = true;
	return ret;
}

void worker_release(struct worker *w)
{
	/* Before the wake-up: the work in hand stops at its next step. */
	__atomic_store_n(&w->stopping, true, __ATOMIC_SEQ_CST);
	if (w->started) {
		(void)eventfd_write(w->stop_fd, 1);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	w->stop_fd = -1;
}

void worker_cancel_begin(struct worker *w)
{
	__atomic_fetch_add(&w->cancel, 1, __ATOMIC_SEQ_CST);
}

void worker_cancel_end(struct worker *w)
{
	__atomic_fetch_sub(&w->cancel, 1, __ATOMIC_SEQ_CST);
}

void worker_quiesce(struct worker *w, pthread_mutex_t *lock, int kick_fd,
		    bool hold)
{
	if (!hold) {
		pthread_mutex_unlock(lock);
		(void)eventfd_write(kick_fd, 1);
		return;
	}
	worker_cancel_begin(w);
	pthread_mutex_lock(lock);
	worker_cancel_end(w);
}

bool worker_cancelled(const struct worker *w)
{
	return __atomic_load_n(&w->stopping, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&w->cancel, __ATOMIC_SEQ_CST);
}
