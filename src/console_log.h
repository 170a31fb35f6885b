/* What the guest printed on its console, kept for expect-style waits. */
#ifndef KVMLITE_CONSOLE_LOG_H
#define KVMLITE_CONSOLE_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_LOG_MAX (1u << 20) /* oldest output is dropped beyond */

struct console_log {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* new output, or closed */
	char *buf;
	size_t len, cap;
	size_t cursor; /* expect searches from here */
	bool closed;   /* no more output will come */
	/* Bytes dropped from the front so far: buf[i] is byte base + i of
	 * the output. A waiter keeps its search position in those terms. */
	uint64_t base;
	/* For tests and diagnostics: bytes of the log handed to expect's
	 * search (memmem), and how many searches. */
	uint64_t searched, searches;
};

int console_log_init(struct console_log *c);
void console_log_free(struct console_log *c);
void console_log_append(struct console_log *c, const char *p, size_t n);
/* Wakes waiters: the VM has stopped. */
void console_log_close(struct console_log *c);
/*
 * Wait until @needle appears in the output after the cursor: 0 (and the
 * cursor moves past the match), -ETIMEDOUT, or -ESRCH when the log was
 * closed without it. @seen gets the text from the cursor to the match's
 * end (or all of it), truncated to its last seen_len - 1 bytes. Each byte
 * of output is searched once, plus strlen(@needle) - 1 bytes of overlap
 * per search (one per wake-up: a match may straddle two writes), however
 * long the wait. An empty needle matches at the cursor at once.
 */
int console_log_expect(struct console_log *c, const char *needle,
		       int timeout_ms, char *seen, size_t seen_len);

#endif
