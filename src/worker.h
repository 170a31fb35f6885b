/* Starting the library's helper threads (device workers, console I/O). */
#ifndef KVMLITE_WORKER_H
#define KVMLITE_WORKER_H

#include <pthread.h>
#include <stdbool.h>

/*
 * Start fn(arg) on a new thread with every signal but SIGSYS blocked
 * (signals belong to the host program and to the vCPU threads). With @seccomp
 * the thread first loads the I/O allow-list; its failure is returned here and
 * fn never runs. Returns 0 or a negative errno.
 */
int worker_start(pthread_t *t, void *(*fn)(void *), void *arg, bool seccomp);

#endif
