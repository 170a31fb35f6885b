/*
 * The API socket and its thread: a Unix stream socket the user alone may
 * reach, served by one epoll loop that never blocks on a client. Each
 * connection is bounded (api.h): a client that sends garbage, huge headers
 * or nothing at all, or that never reads, costs a few KiB until it is
 * answered and closed; past API_MAX_CONNECTIONS a newcomer is answered 503
 * at once. The VM runs on its own threads whatever happens here.
 */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "sandbox.h"

struct client {
	int fd;
	struct api_conn *conn; /* &conn_storage, while in use */
	struct api_conn conn_storage;
	/* Replies queued or sent must move by then: a client trickling
	 * bytes of a request that never ends still runs out of time. */
	uint64_t deadline_ns;
	uint64_t progress; /* api_conn_progress() when last seen */
	bool in_use;
};

struct api_server {
	pthread_t thread;
	int listen_fd;
	int epoll_fd;
	int stop_fd;
	char *path;
	uint64_t dev, ino;
	const struct api_target *t;
	bool seccomp;
	int start_err;
	sem_t ready;
	struct client clients[API_MAX_CONNECTIONS];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int api_listen(const char *path, uint64_t *dev, uint64_t *ino, char *err,
	       size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *copy = strdup(path), *dir;
	struct stat st;
	mode_t old;
	int fd = -1, ret;

	if (!copy)
		return err_fmt(err, errlen, -ENOMEM, "out of memory");
	if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
		ret = err_fmt(err, errlen, -ENAMETOOLONG,
			      "--api-socket %s: a socket path must be 1 to "
			      "%zu bytes",
			      path, sizeof(sa.sun_path) - 1);
		goto fail;
	}
	strcpy(sa.sun_path, path);
	/* Whoever can connect controls the VM: only in the user's own
	 * directory. */
	dir = dirname(copy);
	if (stat(dir, &st)) {
		ret = err_fmt(err, errlen, -errno, "--api-socket %s: %s: %s",
			      path, dir, strerror(errno));
		goto fail;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		ret = err_fmt(err, errlen, -EPERM,
			      "--api-socket %s: the directory %s is not "
			      "yours (owner uid %u): put the socket in a "
			      "directory only you own",
			      path, dir, (unsigned int)st.st_uid);
		goto fail;
	}
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			ret = err_fmt(err, errlen, -EEXIST,
				      "--api-socket %s: exists and is not a "
				      "socket (not replacing it)",
				      path);
			goto fail;
		}
		/* A socket somebody listens on is in use; one nobody does
		 * is left over from a kvmlite that died: replaced. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0) {
			ret = err_fmt(err, errlen, -errno, "socket: %s",
				      strerror(errno));
			goto fail;
		}
		ret = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
		ret = ret ? errno : 0;
		close(probe);
		if (ret != ECONNREFUSED) {
			ret = err_fmt(err, errlen, -EADDRINUSE,
				      "--api-socket %s: %s", path,
				      ret ? strerror(ret)
					  : "in use by a running process");
			goto fail;
		}
		if (unlink(path)) {
			ret = err_fmt(err, errlen, -errno,
				      "--api-socket %s: cannot remove the "
				      "stale socket: %s",
				      path, strerror(errno));
			goto fail;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = err_fmt(err, errlen, -errno, "socket: %s",
			      strerror(errno));
		goto fail;
	}
	/* Mode 0600 from the start (the command is single-threaded here). */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret || listen(fd, 64) || stat(path, &st)) {
		ret = err_fmt(err, errlen, -errno, "--api-socket %s: %s", path,
			      strerror(errno));
		goto fail;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	free(copy);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	free(copy);
	return ret;
}

void api_unlisten(int fd, const char *path, uint64_t dev, uint64_t ino)
{
	struct stat st;

	close(fd);
	/* Only the socket this process made, not one put there since. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev &&
	    st.st_ino == ino)
		unlink(path);
}

static void drop_client(struct api_server *s, struct client *c)
{
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->conn = NULL;
	c->in_use = false;
}

/* What to wait for: input while the connection takes it, output while
 * some is queued. */
static void watch(struct api_server *s, struct client *c)
{
	struct epoll_event ev = { .data.ptr = c };
	size_t len;

	/* Not EPOLLRDHUP while input waits: a client that half-closed and
	 * does not read would wake this loop for nothing until its
	 * deadline. */
	api_conn_output(c->conn, &len);
	ev.events = (api_conn_wants_input(c->conn) ? EPOLLIN | EPOLLRDHUP : 0) |
		    (len ? EPOLLOUT : 0);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Send what is queued; false when the connection is over. */
static bool flush_client(struct api_server *s, struct client *c)
{
	size_t len;
	const char *out = api_conn_output(c->conn, &len);

	while (len) {
		ssize_t n = send(c->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return false;
		api_conn_consumed(c->conn, (size_t)n);
		out = api_conn_output(c->conn, &len);
	}
	if (api_conn_shutdown_due(c->conn))
		s->t->vmm_shutdown(s->t->opaque);
	/* A closing connection ends once its last reply is out. */
	return len || api_conn_wants_input(c->conn);
}

static void serve_client(struct api_server *s, struct client *c,
			 uint32_t events)
{
	char buf[4096];

	if ((events & EPOLLIN) && api_conn_wants_input(c->conn)) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			drop_client(s, c);
			return;
		}
		if (n > 0)
			api_conn_feed(c->conn, buf, (size_t)n);
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		drop_client(s, c);
		return;
	}
	if (!flush_client(s, c)) {
		drop_client(s, c);
		return;
	}
	watch(s, c);
}

static void accept_clients(struct api_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c = NULL;
		struct epoll_event ev;

		if (fd < 0)
			return; /* EAGAIN, or a client gone meanwhile */
		for (unsigned int i = 0; i < API_MAX_CONNECTIONS; i++)
			if (!s->clients[i].in_use) {
				c = &s->clients[i];
				break;
			}
		if (!c) {
			static const char busy[] =
				"HTTP/1.1 503 Service Unavailable\r\n"
				"Content-Type: application/json\r\n"
				"Content-Length: 36\r\nConnection: "
				"close\r\n\r\n"
				"{\"error\":\"too many API connections\"}";

			(void)send(fd, busy, sizeof(busy) - 1,
				   MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		c->conn = &c->conn_storage;
		api_conn_init(c->conn, s->t);
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = c;
		if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
			c->conn = NULL;
			close(fd);
			continue;
		}
		c->progress = 0;
		c->fd = fd;
		c->in_use = true;
		c->deadline_ns = mono_ns() + API_IDLE_TIMEOUT_MS * 1000000ULL;
	}
}

/* Clients past their deadline get a 408 (sent if they read) and go. */
static void expire_clients(struct api_server *s, uint64_t now)
{
	for (unsigned int i = 0; i < API_MAX_CONNECTIONS; i++) {
		struct client *c = &s->clients[i];

		if (!c->in_use || now < c->deadline_ns)
			continue;
		api_conn_timeout(c->conn);
		flush_client(s, c);
		drop_client(s, c);
	}
}

static void *api_thread(void *arg)
{
	struct api_server *s = arg;
	struct epoll_event ev[16];

	s->start_err = s->seccomp ? sandbox_enter(SANDBOX_API) : 0;
	sem_post(&s->ready);
	if (s->start_err)
		return NULL;
	for (;;) {
		int n = epoll_wait(s->epoll_fd, ev, 16, 1000);
		uint64_t now = mono_ns();

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == &s->stop_fd)
				goto out;
			if (ev[i].data.ptr == &s->listen_fd) {
				accept_clients(s);
				continue;
			}
			struct client *c = ev[i].data.ptr;

			if (c->in_use)
				serve_client(s, c, ev[i].events);
			if (c->in_use &&
			    api_conn_progress(c->conn) != c->progress) {
				c->progress = api_conn_progress(c->conn);
				c->deadline_ns =
					now + API_IDLE_TIMEOUT_MS * 1000000ULL;
			}
		}
		expire_clients(s, now);
	}
out:
	/* Here, not in api_server_stop: the main thread's filter has no
	 * unlink. */
	for (unsigned int i = 0; i < API_MAX_CONNECTIONS; i++)
		if (s->clients[i].in_use)
			drop_client(s, &s->clients[i]);
	api_unlisten(s->listen_fd, s->path, s->dev, s->ino);
	return NULL;
}

int api_server_start(struct api_server **out, int listen_fd, const char *path,
		     uint64_t dev, uint64_t ino, const struct api_target *t,
		     bool seccomp)
{
	struct api_server *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t all, old;
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->epoll_fd = s->stop_fd = -1;
	s->listen_fd = listen_fd;
	s->t = t;
	s->seccomp = seccomp;
	s->dev = dev;
	s->ino = ino;
	s->path = strdup(path);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!s->path || s->epoll_fd < 0 || s->stop_fd < 0) {
		ret = s->path ? -errno : -ENOMEM;
		goto fail;
	}
	ev.data.ptr = &s->listen_fd;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev)) {
		ret = -errno;
		goto fail;
	}
	ev.data.ptr = &s->stop_fd;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->stop_fd, &ev)) {
		ret = -errno;
		goto fail;
	}
	sem_init(&s->ready, 0, 0);
	/* Signals are the main thread's; SIGSYS stays open for the
	 * seccomp reporter. */
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&s->thread, NULL, api_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ret) {
		while (sem_wait(&s->ready) && errno == EINTR)
			;
		ret = s->start_err;
		if (ret)
			pthread_join(s->thread, NULL);
	}
	sem_destroy(&s->ready);
	if (ret)
		goto fail;
	*out = s;
	return 0;
fail:
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	free(s->path);
	free(s);
	return ret;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	(void)eventfd_write(s->stop_fd, 1);
	pthread_join(s->thread, NULL); /* it closed and unlinked the socket */
	close(s->epoll_fd);
	close(s->stop_fd);
	free(s->path);
	free(s);
}
