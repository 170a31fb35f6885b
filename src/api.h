/*
 * The API socket of the kvmlite command (--api-socket PATH): HTTP/1.1 with
 * JSON bodies on a Unix socket, with Cloud Hypervisor's endpoint names.
 * api.c answers requests on one connection's bytes (parsing them with
 * Node's http-parser); api_server.c owns the socket and its thread. Not
 * part of libkvmlite: the command links both.
 */
#ifndef KVMLITE_API_H
#define KVMLITE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "kvmlite.h"

/* Bounds on what one client may make the server hold. */
#define API_URL_MAX 256		  /* bytes of a request's URL: else 414 */
#define API_HEADERS_MAX 8192	  /* bytes of its header lines: else 431 */
#define API_BODY_MAX 4096	  /* bytes of its body: else 413 */
#define API_OUT_MAX 65536	  /* replies queued for a slow reader */
#define API_MAX_CONNECTIONS 32	  /* more are answered 503 and closed */
#define API_IDLE_TIMEOUT_MS 10000 /* a request must come in within it */

enum api_vm_state { API_VM_RUNNING, API_VM_PAUSED, API_VM_SHUTDOWN };

/* What the endpoints act on (the command's VM; a fake in tests). */
struct api_target {
	void *opaque;
	enum api_vm_state (*state)(void *opaque);
	int (*pause)(void *opaque);	   /* 0 or -errno */
	int (*resume)(void *opaque);	   /* 0 or -errno */
	int (*power_button)(void *opaque); /* 0 or -errno */
	/* kvmlite_vm_counters' contract: snprintf-like, or -errno. */
	int (*counters)(void *opaque, char *buf, size_t len);
	/* vmm.shutdown, called once its reply is on its way. */
	void (*vmm_shutdown)(void *opaque);
	const char *config_json; /* vm.info's "config": a JSON object */
	/*
	 * vm.snapshot's one destination: the VM's snapshot directory
	 * (--snapshot-dir, its real path), written by the VM's snapshot
	 * thread, never by the API thread; NULL: none, vm.snapshot is
	 * refused.
	 */
	const char *snapshot_dir;
	/* Whether @path names snapshot_dir (the same directory, however
	 * spelt): 1, 0, or -errno (it cannot be looked up). */
	int (*is_snapshot_dir)(void *opaque, const char *path);
	/* Take a snapshot into snapshot_dir and wait for it (never past the
	 * VM's stop): kvmlite_vm_snapshot_to_dir()'s 0 or -errno, with one
	 * line in @why. */
	int (*snapshot)(void *opaque, char *why, size_t len);
};

/*
 * vm.info's "config" for @cfg: a JSON object (malloc'd, the caller frees
 * it) in Cloud Hypervisor's shape: cpus, memory, payload, disks, net.
 * NULL when out of memory.
 */
char *api_config_json(const struct kvmlite_config *cfg);

/*
 * One client connection's protocol state (api.c's alone). Fixed-size: the
 * server keeps one per slot, made once; a request's answer allocates
 * only small JSON values (no large block is ever freed on the API thread:
 * see vm_info in api.c).
 */
struct api_conn {
	const struct api_target *t;
	http_parser p;
	char url[API_URL_MAX + 1];
	size_t url_len;
	size_t header_bytes;
	char body[API_BODY_MAX + 1];
	size_t body_len;
	int error;    /* the 4xx a callback chose, or 0 */
	bool closing; /* no more requests: close once the output is sent */
	uint64_t queued, sent; /* bytes of replies queued and sent, ever */
	uint64_t shutdown_at;  /* vmm.shutdown's reply ends here, or 0 */
	size_t out_len;	       /* replies not yet sent: out[0, out_len) */
	char out[API_OUT_MAX]; /* last: api_conn_init leaves it be */
};

/* A fresh connection's state. */
void api_conn_init(struct api_conn *c, const struct api_target *t);
/*
 * Take @len bytes the client sent. Replies to every complete request go
 * to the connection's output (api_conn_output). Returns false once the
 * connection is to be closed after that output is sent (a malformed or
 * oversized request, "Connection: close", HTTP/1.0).
 */
bool api_conn_feed(struct api_conn *c, const char *data, size_t len);
/* The reply bytes waiting to be sent, and how many were sent. */
const char *api_conn_output(const struct api_conn *c, size_t *len);
void api_conn_consumed(struct api_conn *c, size_t n);
/* Whether the input is held back until the output drains (a slow reader:
 * at most API_OUT_MAX queued). */
bool api_conn_wants_input(const struct api_conn *c);
/* Bytes of replies queued plus sent: moves when a request was answered
 * or the client read. */
uint64_t api_conn_progress(const struct api_conn *c);
/* The client got nothing for API_IDLE_TIMEOUT_MS: answer 408 and close. */
void api_conn_timeout(struct api_conn *c);
/* Whether vmm.shutdown's reply is fully sent: then call vmm_shutdown. */
bool api_conn_shutdown_due(struct api_conn *c);

/*
 * The listening socket at @path: its directory must be the user's (its
 * owner is this process's effective user), and an existing file there is
 * replaced only when it is a socket nobody listens on (a stale one); any
 * other file is refused. Created with mode 0600. Returns the fd (its
 * device and inode in @dev, @ino, for api_server_stop's unlink) or -errno
 * with a one-line message.
 */
int api_listen(const char *path, uint64_t *dev, uint64_t *ino, char *err,
	       size_t errlen);

/* Close a listening socket api_listen() made and unlink it, if @path
 * still names that socket. */
void api_unlisten(int fd, const char *path, uint64_t dev, uint64_t ino);

struct api_server;

/*
 * Serve @listen_fd on a new thread (signals blocked; with @seccomp it
 * first loads the API thread's allow-list). @path is unlinked by
 * api_server_stop if it still names the socket. 0 or -errno.
 */
int api_server_start(struct api_server **out, int listen_fd, const char *path,
		     uint64_t dev, uint64_t ino, const struct api_target *t,
		     bool seccomp);
/* Stop the thread, close every connection and the socket, unlink it. */
void api_server_stop(struct api_server *s);

#endif
