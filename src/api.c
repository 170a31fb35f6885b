/*
 * The API socket's protocol: one connection's bytes in, replies out.
 * Requests are parsed by Node's http-parser (Debian's libhttp-parser),
 * bounded at every step (URL, headers, body, queued replies); bodies and
 * replies are JSON (jansson). Everything a client sends is hostile: a
 * malformed or oversized request gets a 4xx with a JSON error and the
 * connection is closed.
 */
#include "api.h"

#include <errno.h>
#include <stddef.h>
#include <http_parser.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

/* One reply whose body is the concatenation of @parts (JSON text; none
 * for 204), with extra @headers. A reply that does not fit in what is
 * left of the output buffer becomes a 500. */
static void reply_parts(struct api_conn *c, int status, const char *headers,
			const char *const *parts, unsigned int nr)
{
	char head[512];
	size_t blen = 0;
	int n;

	for (unsigned int i = 0; i < nr; i++)
		blen += strlen(parts[i]);

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nServer: kvmlite/%s\r\n%s%s", status,
		     status_text(status), KVMLITE_VERSION_STRING,
		     headers ? headers : "",
		     c->closing ? "Connection: close\r\n" : "");
	if (status != 204 && n > 0 && (size_t)n < sizeof(head))
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "Content-Type: application/json\r\n"
			      "Content-Length: %zu\r\n",
			      blen);
	if (n <= 0 || (size_t)n + 2 >= sizeof(head))
		return;
	if ((size_t)n + 2 + blen > sizeof(c->out) - c->out_len) {
		static const char *const too_big[] = {
			"{\"error\":\"the reply is too large\"}"
		};

		if (status != 500)
			reply_parts(c, 500, NULL, too_big, 1);
		else
			c->closing = true;
		return;
	}
	memcpy(c->out + c->out_len, head, (size_t)n);
	memcpy(c->out + c->out_len + n, "\r\n", 2);
	c->out_len += (size_t)n + 2;
	for (unsigned int i = 0; i < nr; i++) {
		size_t len = strlen(parts[i]);

		memcpy(c->out + c->out_len, parts[i], len);
		c->out_len += len;
	}
	c->queued += (size_t)n + 2 + blen;
}

static void reply(struct api_conn *c, int status, const char *body,
		  const char *headers)
{
	reply_parts(c, status, headers, &body, body ? 1 : 0);
}

/* A JSON string of @s; bytes that are not printable ASCII become '?'. */
static json_t *text(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j || !s)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* {"error": MSG}, for every 4xx and 5xx. */
static void reply_error(struct api_conn *c, int status, const char *msg,
			const char *headers)
{
	json_t *j = json_object();
	char *s = NULL;

	if (j && !json_object_set_new(j, "error", text(msg)))
		s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	reply(c, status, s ? s : "{\"error\":\"out of memory\"}", headers);
	free(s);
}

static void reply_json(struct api_conn *c, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (s)
		reply(c, 200, s, NULL);
	else
		reply_error(c, 500, "out of memory", NULL);
	free(s);
	json_decref(j);
}

/* ---- the endpoints ---- */

static const char *state_name(enum api_vm_state s)
{
	return s == API_VM_RUNNING  ? "Running"
	       : s == API_VM_PAUSED ? "Paused"
				    : "Shutdown";
}

static void vmm_ping(struct api_conn *c)
{
	reply_json(c, json_pack("{s:s,s:s,s:I,s:[]}", "build_version",
				KVMLITE_VERSION_STRING, "version",
				KVMLITE_VERSION_STRING, "pid",
				(json_int_t)getpid(), "features"));
}

/* No large allocations on the API thread: glibc's free() of one in a
 * thread's arena may read /proc (heap trimming), which its seccomp list
 * has no openat for. Replies are built in place. */
static void vm_info(struct api_conn *c)
{
	const char *parts[] = {
		"{\"state\":\"", state_name(c->t->state(c->t->opaque)),
		"\",\"config\":", c->t->config_json ? c->t->config_json : "{}",
		"}"
	};

	reply_parts(c, 200, NULL, parts, 5);
}

static void vm_counters(struct api_conn *c)
{
	char buf[16384];
	int n = c->t->counters(c->t->opaque, buf, sizeof(buf));

	if (n < 0)
		reply_error(c, 500, strerror(-n), NULL);
	else if ((size_t)n >= sizeof(buf))
		reply_error(c, 500, "the counters are too large", NULL);
	else
		reply(c, 200, buf, NULL);
}

/* pause, resume, power-button: in the state each needs, else 409. */
static void vm_action(struct api_conn *c, enum api_vm_state need,
		      int (*fn)(void *), const char *what)
{
	enum api_vm_state s = c->t->state(c->t->opaque);
	char msg[128];
	int ret;

	if (s != need) {
		snprintf(msg, sizeof(msg), "cannot %s: the VM is %s", what,
			 s == API_VM_RUNNING  ? "running"
			 : s == API_VM_PAUSED ? "paused"
					      : "shut down");
		reply_error(c, 409, msg, NULL);
		return;
	}
	ret = fn(c->t->opaque);
	if (ret) {
		snprintf(msg, sizeof(msg), "cannot %s: %s", what,
			 strerror(-ret));
		reply_error(c, 409, msg, NULL);
		return;
	}
	reply(c, 204, NULL, NULL);
}

static void vm_pause(struct api_conn *c)
{
	vm_action(c, API_VM_RUNNING, c->t->pause, "pause");
}

static void vm_resume(struct api_conn *c)
{
	vm_action(c, API_VM_PAUSED, c->t->resume, "resume");
}

static void vm_power_button(struct api_conn *c)
{
	vm_action(c, API_VM_RUNNING, c->t->power_button,
		  "press the power button");
}

/*
 * A snapshot into @path, a destination_url's path: only the VM's snapshot
 * directory, written by its snapshot thread (this one may open no files:
 * src/sandbox.c). 409 without one, or when the VM is shut down or a
 * snapshot cannot be taken now; 403 for another directory; 500 when the
 * snapshot failed; 204 once it is written.
 */
static void snapshot_to(struct api_conn *c, const char *path)
{
	const struct api_target *t = c->t;
	char why[256], msg[1024];
	int ret;

	if (!t->snapshot_dir) {
		reply_error(c, 409,
			    "cannot snapshot: this VM has no snapshot "
			    "directory (start kvmlite with --snapshot-dir DIR, "
			    "then give \"file://DIR\")",
			    NULL);
		return;
	}
	ret = t->is_snapshot_dir(t->opaque, path);
	if (ret != 1) {
		snprintf(msg, sizeof(msg),
			 "destination_url file://%.256s: %s (vm.snapshot "
			 "writes only to this VM's --snapshot-dir, "
			 "file://%.512s)",
			 path,
			 ret < 0 ? strerror(-ret)
				 : "not this VM's snapshot directory",
			 t->snapshot_dir);
		reply_error(c, 403, msg, NULL);
		return;
	}
	if (t->state(t->opaque) == API_VM_SHUTDOWN) {
		reply_error(c, 409, "cannot snapshot: the VM is shut down",
			    NULL);
		return;
	}
	why[0] = '\0';
	ret = t->snapshot(t->opaque, why, sizeof(why));
	if (!ret) {
		reply(c, 204, NULL, NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "snapshot %.512s: %s", t->snapshot_dir,
		 why[0] ? why : strerror(-ret));
	/* Not now (stopping, another in progress) or not here: the
	 * client's to retry or fix; else the VMM failed (ENOSPC...). */
	reply_error(c,
		    ret == -EBUSY || ret == -EINVAL || ret == -ECANCELED ||
				    ret == -ENOENT || ret == -EOPNOTSUPP
			    ? 409
			    : 500,
		    msg, NULL);
}

/* {"destination_url": "file:///DIR"}: checked, then snapshot_to(DIR). */
static void vm_snapshot(struct api_conn *c)
{
	json_error_t e;
	json_t *j =
		json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &e);
	const char *url;
	char msg[256];

	if (!j || !json_is_object(j)) {
		snprintf(msg, sizeof(msg), "body: %s",
			 j ? "not a JSON object" : e.text);
		reply_error(c, 400, msg, NULL);
	} else if (!json_is_string(json_object_get(j, "destination_url")) ||
		   strncmp((url = json_string_value(
				    json_object_get(j, "destination_url"))),
			   "file:///", 8)) {
		reply_error(c, 400,
			    "body: \"destination_url\" must be a string "
			    "\"file:///DIR\"",
			    NULL);
	} else {
		snapshot_to(c, url + 7);
	}
	json_decref(j);
}

static void vmm_shutdown(struct api_conn *c)
{
	c->closing = true;
	reply(c, 204, NULL, NULL);
	c->shutdown_at = c->queued;
}

static const struct endpoint {
	const char *path;
	int method; /* enum http_method */
	void (*fn)(struct api_conn *c);
} endpoints[] = {
	{ "/api/v1/vmm.ping", HTTP_GET, vmm_ping },
	{ "/api/v1/vm.info", HTTP_GET, vm_info },
	{ "/api/v1/vm.counters", HTTP_GET, vm_counters },
	{ "/api/v1/vm.pause", HTTP_PUT, vm_pause },
	{ "/api/v1/vm.resume", HTTP_PUT, vm_resume },
	{ "/api/v1/vm.power-button", HTTP_PUT, vm_power_button },
	{ "/api/v1/vm.snapshot", HTTP_PUT, vm_snapshot },
	{ "/api/v1/vmm.shutdown", HTTP_PUT, vmm_shutdown },
};

static void dispatch(struct api_conn *c)
{
	size_t n = strcspn(c->url, "?#");
	char msg[API_URL_MAX + 64];

	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		const struct endpoint *e = &endpoints[i];

		if (strlen(e->path) != n || memcmp(e->path, c->url, n))
			continue;
		if ((int)c->p.method != e->method) {
			snprintf(msg, sizeof(msg), "%s takes %s", e->path,
				 http_method_str(e->method));
			reply_error(c, 405, msg,
				    e->method == HTTP_GET ? "Allow: GET\r\n"
							  : "Allow: PUT\r\n");
			return;
		}
		e->fn(c);
		return;
	}
	snprintf(msg, sizeof(msg), "unknown endpoint %.*s", (int)n, c->url);
	reply_error(c, 404, msg, NULL);
}

/* ---- http-parser callbacks ---- */

static struct api_conn *conn_of(http_parser *p)
{
	return p->data;
}

static int on_message_begin(http_parser *p)
{
	struct api_conn *c = conn_of(p);

	c->url_len = c->header_bytes = c->body_len = 0;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct api_conn *c = conn_of(p);

	if (len > API_URL_MAX - c->url_len) {
		c->error = 414;
		return 1;
	}
	memcpy(c->url + c->url_len, at, len);
	c->url_len += len;
	c->url[c->url_len] = '\0';
	return 0;
}

static int on_header_bytes(http_parser *p, const char *at, size_t len)
{
	struct api_conn *c = conn_of(p);

	c->header_bytes += len;
	if (c->header_bytes > API_HEADERS_MAX) {
		c->error = 431;
		return 1;
	}
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct api_conn *c = conn_of(p);

	/* UINT64_MAX: no Content-Length (chunked, or no body). */
	if (p->content_length != UINT64_MAX &&
	    p->content_length > API_BODY_MAX) {
		c->error = 413;
		return -1; /* the error is set; anything else stops it too */
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct api_conn *c = conn_of(p);

	if (len > API_BODY_MAX - c->body_len) {
		c->error = 413;
		return 1;
	}
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	c->body[c->body_len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct api_conn *c = conn_of(p);

	if (!http_should_keep_alive(p))
		c->closing = true;
	dispatch(c);
	/* Requests after a last one are not read. */
	if (c->closing)
		http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_bytes,
	.on_header_value = on_header_bytes,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void api_conn_init(struct api_conn *c, const struct api_target *t)
{
	memset(c, 0, offsetof(struct api_conn, out));
	c->t = t;
	http_parser_init(&c->p, HTTP_REQUEST);
	c->p.data = c;
}

bool api_conn_feed(struct api_conn *c, const char *data, size_t len)
{
	enum http_errno e;

	if (c->closing)
		return false;
	http_parser_execute(&c->p, &settings, data, len);
	e = HTTP_PARSER_ERRNO(&c->p);
	if (e == HPE_PAUSED) {
		c->closing = true;
	} else if (e != HPE_OK) {
		char msg[160];

		c->closing = true;
		if (c->error) {
			reply_error(c, c->error,
				    c->error == 413   ? "request body too large"
				    : c->error == 414 ? "URL too long"
						      : "request headers too "
							"large",
				    NULL);
		} else {
			snprintf(msg, sizeof(msg), "malformed request: %s",
				 http_errno_description(e));
			reply_error(c, 400, msg, NULL);
		}
	} else if (c->p.upgrade) {
		c->closing = true;
		reply_error(c, 400, "protocol upgrades are not supported",
			    NULL);
	}
	return !c->closing;
}

const char *api_conn_output(const struct api_conn *c, size_t *len)
{
	*len = c->out_len;
	return c->out;
}

void api_conn_consumed(struct api_conn *c, size_t n)
{
	if (n > c->out_len)
		n = c->out_len;
	memmove(c->out, c->out + n, c->out_len - n);
	c->out_len -= n;
	c->sent += n;
}

bool api_conn_wants_input(const struct api_conn *c)
{
	return !c->closing && c->out_len < API_OUT_MAX / 2;
}

uint64_t api_conn_progress(const struct api_conn *c)
{
	return c->queued + c->sent;
}

void api_conn_timeout(struct api_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	reply_error(c, 408, "no complete request in time", NULL);
}

bool api_conn_shutdown_due(struct api_conn *c)
{
	if (!c->shutdown_at || c->sent < c->shutdown_at)
		return false;
	c->shutdown_at = 0; /* once */
	return true;
}

/* ---- vm.info's config ---- */

static json_t *opt_text(const char *s)
{
	return s ? text(s) : json_null();
}

char *api_config_json(const struct kvmlite_config *cfg)
{
	json_t *disks = json_array(), *nets = json_array(), *j = NULL;
	char *s = NULL;

	if (!disks || !nets)
		goto out;
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct kvmlite_disk *d = &cfg->disks[i];

		if (json_array_append_new(disks,
					  json_pack("{s:o,s:b,s:o}", "path",
						    text(d->path), "readonly",
						    d->read_only != 0, "serial",
						    opt_text(d->serial))))
			goto out;
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct kvmlite_net *n = &cfg->nets[i];

		if (json_array_append_new(nets, json_pack("{s:o,s:o}", "tap",
							  text(n->tap), "mac",
							  opt_text(n->mac))))
			goto out;
	}
	j = json_pack(
		"{s:{s:i,s:i},s:{s:I},s:{s:o,s:o,s:o},s:O,s:O,s:o}", "cpus",
		"boot_vcpus", (int)cfg->cpus, "max_vcpus", (int)cfg->cpus,
		"memory", "size", (json_int_t)cfg->memory, "payload", "kernel",
		opt_text(cfg->kernel_path), "initramfs",
		opt_text(cfg->initrd_path), "cmdline",
		text(cfg->cmdline ? cfg->cmdline : KVMLITE_DEFAULT_CMDLINE),
		"disks", disks, "net", nets, "name", opt_text(cfg->name));
	/* Shares as Cloud Hypervisor's "fs" (its tag), with our path. */
	if (j && cfg->nr_fs && cfg->fs) {
		json_t *fs = json_array();

		for (unsigned int i = 0; fs && i < cfg->nr_fs; i++)
			if (json_array_append_new(
				    fs,
				    json_pack("{s:o,s:o,s:b}", "tag",
					      text(cfg->fs[i].tag), "path",
					      text(cfg->fs[i].path), "readonly",
					      cfg->fs[i].read_only != 0)))
				break;
		if (!fs || json_object_set_new(j, "fs", fs)) {
			json_decref(j);
			j = NULL;
		}
	}
	if (j)
		s = json_dumps(j, JSON_COMPACT);
out:
	json_decref(j);
	json_decref(disks);
	json_decref(nets);
	return s;
}
