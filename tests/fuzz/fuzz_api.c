/*
 * Fuzz the API socket's protocol (src/api.c): the input is one client's
 * byte stream, fed in pieces whose sizes come from its first byte, to a
 * connection whose VM is a fake. Oracles beyond the sanitizers: the output
 * is whole HTTP replies (status line, headers, a body of its
 * Content-Length), never more than the output buffer, and every 4xx/5xx
 * body is a JSON object with an "error" string.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static enum api_vm_state state = API_VM_RUNNING;
static unsigned int snapshots; /* fake_snapshot's calls, this input */

static enum api_vm_state fake_state(void *o)
{
	return state;
}

static int fake_pause(void *o)
{
	state = API_VM_PAUSED;
	return 0;
}

static int fake_resume(void *o)
{
	state = API_VM_RUNNING;
	return 0;
}

static int fake_button(void *o)
{
	return 0;
}

static int fake_counters(void *o, char *buf, size_t len)
{
	return snprintf(buf, len, "{\"console\":{\"written\":1}}\n");
}

static void fake_shutdown(void *o)
{
	state = API_VM_SHUTDOWN;
}

static int fake_is_snapshot_dir(void *o, const char *path)
{
	if (!strcmp(path, "/snap") || !strcmp(path, "/snap/"))
		return 1;
	return strncmp(path, "/snap", 5) ? -ENOENT : 0;
}

/* Every other snapshot fails, as a full disk would. */
static int fake_snapshot(void *o, char *why, size_t len)
{
	if (snapshots++ % 2) {
		snprintf(why, len, "memory: No space left on device");
		return -ENOSPC;
	}
	return 0;
}

static const struct api_target target = {
	.state = fake_state,
	.pause = fake_pause,
	.resume = fake_resume,
	.power_button = fake_button,
	.counters = fake_counters,
	.vmm_shutdown = fake_shutdown,
	.config_json = "{\"cpus\":{\"boot_vcpus\":1}}",
	.snapshot_dir = "/snap",
	.is_snapshot_dir = fake_is_snapshot_dir,
	.snapshot = fake_snapshot,
};

/* Check and drop the complete replies at the head of the output. */
static void check_output(struct api_conn *c)
{
	size_t len;
	const char *out = api_conn_output(c, &len);

	while (len) {
		const char *end = memmem(out, len, "\r\n\r\n", 4);
		const char *cl;
		size_t head, body = 0;
		int status;

		if (strncmp(out, "HTTP/1.1 ", 9) || !end)
			abort();
		head = (size_t)(end - out) + 4;
		status = atoi(out + 9);
		if (status < 200 || status > 599)
			abort();
		cl = memmem(out, head, "Content-Length: ", 16);
		if (cl)
			body = strtoul(cl + 16, NULL, 10);
		if (head + body > len)
			abort(); /* replies are queued whole */
		if (status >= 400) {
			json_t *j = json_loadb(out + head, body, 0, NULL);

			if (!j || !json_is_string(json_object_get(j, "error")))
				abort();
			json_decref(j);
		}
		api_conn_consumed(c, head + body);
		out = api_conn_output(c, &len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct api_conn c; /* 128 KiB: not on the stack */
	size_t piece, i = 1;

	if (size < 1)
		return 0;
	piece = (size_t)data[0] + 1;
	state = API_VM_RUNNING;
	snapshots = 0;
	api_conn_init(&c, &target);
	while (i < size) {
		size_t n = size - i < piece ? size - i : piece;
		bool open = api_conn_feed(&c, (const char *)data + i, n);

		check_output(&c);
		(void)api_conn_shutdown_due(&c);
		if (!open)
			break;
		i += n;
	}
	api_conn_timeout(&c);
	check_output(&c);
	return 0;
}
