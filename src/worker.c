#include "worker.h"

#include <errno.h>
#include <semaphore.h>
#include <signal.h>

#include "sandbox.h"

struct worker_boot {
	void *(*fn)(void *);
	void *arg;
	bool seccomp;
	int err;
	sem_t ready;
};

static void *worker_entry(void *p)
{
	struct worker_boot *wb = p; /* on the starter's stack: copy first */
	void *(*fn)(void *) = wb->fn;
	void *arg = wb->arg;
	int err = wb->seccomp ? sandbox_enter(SANDBOX_IO) : 0;

	wb->err = err;
	sem_post(&wb->ready);
	return err ? NULL : fn(arg);
}

int worker_start(pthread_t *t, void *(*fn)(void *), void *arg, bool seccomp)
{
	struct worker_boot wb = { .fn = fn, .arg = arg, .seccomp = seccomp };
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
