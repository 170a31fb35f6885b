/*
 * Two Linux guests booted concurrently in one process, each started,
 * driven and waited from its own thread. VM "alpha" sends its console to a
 * callback, VM "bravo" to a file descriptor. Each guest prints a token
 * taken from its own kernel command line and exits with its own test-exit
 * value (scenario: tests/boot/test_lib_two_vms.sh). Checks that each
 * console holds its own token and not the other's, and each VM's verdict.
 *
 *   two_vms KERNEL INITRD WORKDIR
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvmlite.h"

static int fails;
static pthread_mutex_t fails_lock = PTHREAD_MUTEX_INITIALIZER;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			pthread_mutex_lock(&fails_lock);                       \
			fprintf(stderr, "FAIL: two_vms: " __VA_ARGS__);        \
			fprintf(stderr, "\n");                                 \
			fails++;                                               \
			pthread_mutex_unlock(&fails_lock);                     \
		}                                                              \
	} while (0)

struct guest {
	const char *token;
	int exit_value;
	char cmdline[256];
	struct kvmlite_vm *vm;
	pthread_t thread;
	pthread_t started_by;
	/* console through the callback (alpha) */
	pthread_mutex_t lock;
	char *out;
	size_t len, cap;
	/* or through a file descriptor (bravo) */
	char out_path[512];
	int out_fd;
	int use_fd;
	struct kvmlite_exit ex;
	int wait_ret, expect_ret;
	char seen[4096];
};

static void console_cb(void *opaque, const char *buf, size_t len)
{
	struct guest *g = opaque;

	pthread_mutex_lock(&g->lock);
	if (g->len + len + 1 > g->cap) {
		size_t cap = (g->len + len + 1) * 2;
		char *p = realloc(g->out, cap);

		if (!p) {
			pthread_mutex_unlock(&g->lock);
			return;
		}
		g->out = p;
		g->cap = cap;
	}
	memcpy(g->out + g->len, buf, len);
	g->len += len;
	g->out[g->len] = 0;
	pthread_mutex_unlock(&g->lock);
}

static void *run_guest(void *arg)
{
	struct guest *g = arg;
	char want[64];

	g->started_by = pthread_self();
	if (kvmlite_vm_start(g->vm)) {
		CHECK(0, "%s: start: %s", g->token,
		      kvmlite_vm_last_error(g->vm));
		return NULL;
	}
	snprintf(want, sizeof(want), "GUEST-TOKEN=%s", g->token);
	g->expect_ret = kvmlite_vm_expect(g->vm, want, 240000, g->seen,
					  sizeof(g->seen));
	g->wait_ret = kvmlite_vm_wait(g->vm, 240000);
	kvmlite_vm_exit_info(g->vm, &g->ex);
	return NULL;
}

static char *slurp(const char *path)
{
	struct stat st;
	char *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		return NULL;
	p = calloc(1, (size_t)st.st_size + 1);
	if (p && read(fd, p, (size_t)st.st_size) != st.st_size) {
		free(p);
		p = NULL;
	}
	close(fd);
	return p;
}

int main(int argc, char **argv)
{
	struct guest g[2] = {
		{ .token = "ALPHA", .exit_value = 21 },
		{ .token = "BRAVO", .exit_value = 22, .use_fd = 1 },
	};

	if (argc != 4) {
		fprintf(stderr, "usage: two_vms KERNEL INITRD WORKDIR\n");
		return 2;
	}
	for (int i = 0; i < 2; i++) {
		struct kvmlite_config cfg;
		char err[512];
		int ret;

		pthread_mutex_init(&g[i].lock, NULL);
		g[i].out_fd = -1;
		snprintf(g[i].cmdline, sizeof(g[i].cmdline),
			 "%s quiet kltoken=%s klexit=%d", KVMLITE_DEFAULT_CMDLINE,
			 g[i].token, g[i].exit_value);
		kvmlite_config_init(&cfg);
		cfg.seccomp = 1; /* as the kvmlite command runs */
		cfg.kernel_path = argv[1];
		cfg.initrd_path = argv[2];
		cfg.cmdline = g[i].cmdline;
		cfg.memory = 256 << 20;
		cfg.name = g[i].token;
		if (g[i].use_fd) {
			snprintf(g[i].out_path, sizeof(g[i].out_path),
				 "%s/console.%s", argv[3], g[i].token);
			g[i].out_fd = open(g[i].out_path,
					   O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (g[i].out_fd < 0) {
				perror(g[i].out_path);
				return 1;
			}
			cfg.console_out_fd = g[i].out_fd;
		} else {
			cfg.console_cb = console_cb;
			cfg.console_opaque = &g[i];
		}
		ret = kvmlite_vm_create(&cfg, &g[i].vm, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "FAIL: two_vms: create %s: %s\n",
				g[i].token, err);
			return 1;
		}
	}
	/* Both run at once: each thread starts, expects and waits its VM. */
	for (int i = 0; i < 2; i++)
		if (pthread_create(&g[i].thread, NULL, run_guest, &g[i])) {
			fprintf(stderr, "FAIL: two_vms: pthread_create\n");
			return 1;
		}
	/* While both are booting, neither has finished. */
	usleep(200 * 1000);
	for (int i = 0; i < 2; i++)
		CHECK(kvmlite_vm_wait(g[i].vm, 0) == -ETIMEDOUT,
		      "%s stopped within 200 ms of its start", g[i].token);
	for (int i = 0; i < 2; i++)
		pthread_join(g[i].thread, NULL);
	CHECK(!pthread_equal(g[0].started_by, g[1].started_by),
	      "both VMs were started from the same thread");

	for (int i = 0; i < 2; i++) {
		struct guest *me = &g[i], *other = &g[1 - i];
		char mine[64], theirs[64];
		char *out;

		CHECK(me->expect_ret == 0, "%s: expect own token: %s; saw: %s",
		      me->token, strerror(-me->expect_ret), me->seen);
		CHECK(me->wait_ret == 0, "%s: wait: %s", me->token,
		      strerror(-me->wait_ret));
		CHECK(me->ex.reason == KVMLITE_EXIT_TEST_EXIT &&
			      me->ex.test_exit_value == me->exit_value,
		      "%s: exit reason %d value %d, want test-exit %d (%s)",
		      me->token, me->ex.reason, me->ex.test_exit_value,
		      me->exit_value, me->ex.detail);
		CHECK(kvmlite_exit_status(&me->ex) == me->exit_value,
		      "%s: status %d", me->token, kvmlite_exit_status(&me->ex));

		if (me->use_fd) {
			out = slurp(me->out_path);
		} else {
			pthread_mutex_lock(&me->lock);
			out = me->out ? strdup(me->out) : NULL;
			pthread_mutex_unlock(&me->lock);
		}
		if (!out) {
			CHECK(0, "%s: no console output captured", me->token);
			continue;
		}
		snprintf(mine, sizeof(mine), "GUEST-TOKEN=%s", me->token);
		snprintf(theirs, sizeof(theirs), "%s", other->token);
		CHECK(strstr(out, mine) != NULL, "%s: console lacks '%s'",
		      me->token, mine);
		CHECK(strstr(out, "KVMLITE-GUEST-INIT") != NULL,
		      "%s: console lacks the guest's init line", me->token);
		CHECK(strstr(out, theirs) == NULL,
		      "%s: console has the other VM's token '%s'", me->token,
		      theirs);
		printf("two_vms: %s (%s): %zu console bytes, own token, "
		       "no '%s', test-exit %d\n",
		       me->token, me->use_fd ? "fd" : "callback", strlen(out),
		       theirs, me->ex.test_exit_value);
		free(out);
	}
	for (int i = 0; i < 2; i++) {
		kvmlite_vm_destroy(g[i].vm);
		if (g[i].out_fd >= 0)
			close(g[i].out_fd);
		free(g[i].out);
		pthread_mutex_destroy(&g[i].lock);
	}
	if (!fails)
		printf("PASS: two_vms\n");
	return fails ? 1 : 0;
}
