/*
 * The guest console's host side: output to the caller's fd, input from it.
 *
 * Output never blocks a vCPU thread. The UART offers each byte to
 * console_gate(), which queues it in a bounded ring (CONSOLE_OUT_RING
 * bytes); the console thread writes the ring to console_out_fd without
 * ever blocking on it: a regular file or block device is written
 * directly, a socket with send(MSG_DONTWAIT | MSG_NOSIGNAL), anything else
 * (pipe, FIFO, terminal) through a non-blocking reopening of the same file
 * (/proc/self/fd/N) so that the caller's file status flags are left alone.
 *
 * When the ring is full the gate refuses the byte: the UART holds it and
 * the guest waits for THRE, as on a serial line with flow control, so a
 * slow reader loses nothing. A reader that takes nothing for
 * CONSOLE_STALL_NS is taken for gone: output is then dropped and counted
 * (the guest runs at full speed) until the ring has drained to half, when
 * flow control resumes. A write error (the reader closed a pipe) is
 * recorded and output is dropped from then on. All writes happen on the
 * console thread, whose signals are blocked, so a closed pipe's SIGPIPE
 * never reaches the process.
 *
 * Input is read from console_in_fd (pollable fds through epoll; regular
 * files as the UART has room) and handed to a delivery callback; end of
 * file, or an error, stops reading it for good. With escapes on (a user's
 * terminal), Ctrl-A x and Ctrl-A p are taken out of the input and handed
 * to c->escape ('x', 'p'), Ctrl-A Ctrl-A passes one Ctrl-A, and any other
 * key after Ctrl-A is dropped: the kvmlite command and the library share
 * these keys.
 */
#ifndef KVMLITE_CONSOLE_H
#define KVMLITE_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_OUT_RING (128u << 10)
#define CONSOLE_STALL_NS (5 * 1000000000ULL)
#define CONSOLE_IN_BUF 1024
#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

/* How output reaches the fd without blocking. */
enum console_sink {
	CONSOLE_SINK_NONE,  /* no fd: output only goes to the log */
	CONSOLE_SINK_WRITE, /* write(): a file, or an O_NONBLOCK fd */
	CONSOLE_SINK_SEND,  /* send(MSG_DONTWAIT | MSG_NOSIGNAL) */
	CONSOLE_SINK_POLL,  /* last resort: poll, then small writes */
};

/* Takes the input the console read; returns the bytes accepted. */
typedef size_t (*console_deliver_fn)(void *opaque, const uint8_t *buf,
				     size_t len);

struct console {
	/* Output, under lock. */
	pthread_mutex_t lock;
	enum console_sink sink;
	int out_fd; /* what we write to: the caller's fd or own_fd */
	int own_fd; /* our non-blocking reopening, or -1 */
	bool out_pollable;
	uint8_t *ring; /* CONSOLE_OUT_RING bytes */
	size_t head, len;
	uint64_t written, dropped;
	int out_error; /* errno that ended output, 0 while it works */
	bool wake_pending;
	int wake_fd;	      /* eventfd: output was queued */
	bool blocked;	      /* the gate refused a byte: call tx_ready */
	bool dropping;	      /* the reader stalled: drop until it drains */
	uint64_t stalls;      /* times the reader was taken for gone */
	uint64_t progress_ns; /* last write, or when output started waiting */
	uint64_t stall_ns;    /* CONSOLE_STALL_NS (tests shorten it) */

	/* Input, console thread only. */
	int in_fd;
	bool in_open, in_polled, in_armed;
	uint8_t in_buf[CONSOLE_IN_BUF];
	size_t in_have;
	console_deliver_fn deliver;
	void *deliver_opaque;
	bool escapes;	/* act on Ctrl-A escapes in the input */
	bool in_escape; /* the last byte read was Ctrl-A */
	/* Called on the console thread for Ctrl-A x ('x') and Ctrl-A p. */
	void (*escape)(void *opaque, char key);
	/* Called once, on the console thread, when output fails for good
	 * (err > 0), or each time the reader is taken for gone (err 0). */
	void (*out_failed)(void *opaque, int err);
	/* Called on the console thread when a refused byte may go now. */
	void (*tx_ready)(void *opaque);
	/* Called on the console thread at least every tick_ms while it runs
	 * (the UART's coalesced writes of a guest that went idle). */
	void (*tick)(void *opaque);
	int tick_ms;

	int epoll_fd;
	bool out_armed; /* epoll waits for EPOLLOUT */
};

struct console_stats {
	uint64_t written; /* bytes written to console_out_fd */
	uint64_t dropped; /* bytes dropped: reader gone, or output failed */
	uint64_t stalls;  /* times the reader was taken for gone */
	size_t queued;	  /* bytes in the ring now */
	int out_error;	  /* errno that ended output, or 0 */
	bool blocked;	  /* a byte waits for room (UART held back) */
	bool dropping;	  /* the reader was taken for gone: dropping */
};

/*
 * Set up for output to @out_fd and input from @in_fd (either may be -1;
 * neither is closed by the console). @opaque goes to @deliver and to
 * c->out_failed (set it after this returns, if wanted). Returns 0 or a
 * negative errno with a one-line reason in @err.
 */
int console_init(struct console *c, int out_fd, int in_fd,
		 console_deliver_fn deliver, void *opaque, char *err,
		 size_t errlen);
void console_free(struct console *c);

/* Offer one byte of output (any thread; never blocks): true when it was
 * taken (queued, or dropped and counted), false when the ring is full and
 * the caller must hold it until tx_ready. */
bool console_gate(struct console *c, uint8_t byte);

/*
 * The console thread's loop: moves input and output until @stop_fd is
 * readable, then returns (output may still be queued: console_drain()).
 */
void console_run(struct console *c, int stop_fd);

/* Write out what is queued until the ring is empty, @deadline_ns
 * (CLOCK_MONOTONIC) passes, or the fd took nothing for @idle_ns. */
void console_drain(struct console *c, uint64_t deadline_ns, uint64_t idle_ns);

void console_get_stats(struct console *c, struct console_stats *s);

#endif
