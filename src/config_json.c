/*
 * JSON configuration files, parsed with jansson. Jansson gives positions
 * only for syntax errors, so for errors about a key or value we find the
 * key's line and column with a small scan of the (already valid) text.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "device_opts.h"
#include "kvmlite.h"
#include "limits.h"
#include "parse.h"

/* Everything a loaded config owns. */
struct config_storage {
	json_t *root;
	char *dir; /* the file's directory, for relative paths */
	char **strings;
	size_t nr_strings;
	struct kvmlite_disk disks[KVMLITE_MAX_DISKS];
	struct kvmlite_net nets[KVMLITE_MAX_NETS];
	struct kvmlite_fs fs[KVMLITE_MAX_FS];
	/* The same, in the caller's struct sizes when they differ. */
	void *user_disks, *user_nets;
};

/* A path into the document: object keys and array indices. */
#define PATH_MAX_DEPTH 4
struct json_path {
	const char *key[PATH_MAX_DEPTH];
	int index[PATH_MAX_DEPTH]; /* -1: a key */
	int depth;
};

struct loader {
	const char *file;
	const char *text; /* the whole file, NUL-terminated */
	struct config_storage *st;
	struct kvmlite_config *cfg;
	char *err;
	size_t errlen;
};

/* Skip a JSON string starting at p (on the opening quote). */
static const char *skip_string(const char *p)
{
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p ? p + 1 : p;
}

static void advance(const char **p, int *line, int *col, const char *to)
{
	for (; *p < to; (*p)++) {
		if (**p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

struct frame {
	bool object;
	int index;	 /* arrays: the element being read */
	const char *key; /* objects: the last key read */
	size_t keylen;
};

static bool frames_match(const struct frame *f, int depth,
			 const struct json_path *want)
{
	for (int i = 0; i <= depth; i++) {
		if (want->index[i] >= 0) {
			if (f[i].object || f[i].index != want->index[i])
				return false;
		} else if (!f[i].object || !f[i].key ||
			   strlen(want->key[i]) != f[i].keylen ||
			   strncmp(f[i].key, want->key[i], f[i].keylen)) {
			return false;
		}
	}
	return true;
}

/*
 * Find where @want's last element (a key, or an array element) starts.
 * The text is known to be valid JSON; keys are compared as raw bytes, so
 * a key with escapes is not found (the position then stays at 1:1).
 */
static void locate(const char *text, const struct json_path *want, int *line,
		   int *col)
{
	struct frame stack[64];
	const char *p = text;
	int depth = -1, l = 1, c = 1;
	char prev = 0; /* the last structural character or token kind */

	*line = 1;
	*col = 1;
	while (*p) {
		const char *end;
		bool is_key;

		if (strchr(" \t\r\n:", *p)) {
			if (*p == ':')
				prev = ':';
			advance(&p, &l, &c, p + 1);
			continue;
		}
		if (*p == ',' || *p == '}' || *p == ']') {
			if (*p == ',' && depth >= 0 && !stack[depth].object)
				stack[depth].index++;
			if (*p != ',')
				depth--;
			prev = *p;
			advance(&p, &l, &c, p + 1);
			continue;
		}
		/* A key or a value starts here. */
		is_key = *p == '"' && depth >= 0 && stack[depth].object &&
			 (prev == '{' || prev == ',');
		if (is_key) {
			end = skip_string(p);
			stack[depth].key = p + 1;
			stack[depth].keylen = (size_t)(end - p - 2);
		}
		if (depth >= 0 && depth + 1 == want->depth &&
		    (is_key || !stack[depth].object) &&
		    frames_match(stack, depth, want)) {
			*line = l;
			*col = c;
			return;
		}
		if (*p == '{' || *p == '[') {
			if (depth + 1 >= 64)
				return;
			depth++;
			stack[depth] = (struct frame){ .object = *p == '{' };
			prev = *p;
			advance(&p, &l, &c, p + 1);
			continue;
		}
		if (*p == '"') {
			end = skip_string(p);
		} else {
			for (end = p; *end && !strchr(" \t\r\n,}]:", *end);
			     end++)
				;
		}
		prev = 'v';
		advance(&p, &l, &c, end);
	}
}

static int fail_at(struct loader *ld, const struct json_path *path,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "FILE:LINE:COL: KEY: message" */
static int fail_at(struct loader *ld, const struct json_path *path,
		   const char *fmt, ...)
{
	char name[128] = "", msg[256];
	size_t n = 0;
	int line = 1, col = 1;
	va_list ap;

	for (int i = 0; i < path->depth && n < sizeof(name); i++) {
		if (path->index[i] >= 0)
			n += (size_t)snprintf(name + n, sizeof(name) - n,
					      "[%d]", path->index[i]);
		else
			n += (size_t)snprintf(name + n, sizeof(name) - n,
					      "%s%s", i ? "." : "",
					      path->key[i]);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	locate(ld->text, path, &line, &col);
	snprintf(ld->err, ld->errlen, "%s:%d:%d: %s: %s", ld->file, line, col,
		 name, msg);
	return -EINVAL;
}

static char *keep(struct loader *ld, char *s)
{
	char **n;

	if (!s)
		return NULL;
	n = realloc(ld->st->strings,
		    (ld->st->nr_strings + 1) * sizeof(*ld->st->strings));
	if (!n) {
		free(s);
		return NULL;
	}
	ld->st->strings = n;
	n[ld->st->nr_strings++] = s;
	return s;
}

/* "PREFIXDIR/NAME", owned by the loader. */
static const char *dir_join(struct loader *ld, const char *prefix,
			    const char *name)
{
	size_t n = strlen(prefix) + strlen(ld->st->dir) + strlen(name) + 2;
	char *s = malloc(n);

	if (!s)
		return NULL;
	snprintf(s, n, "%s%s/%s", prefix, ld->st->dir, name);
	return keep(ld, s);
}

/* A path from the file: relative ones are relative to the file. */
static const char *file_path(struct loader *ld, const char *v)
{
	return v[0] == '/' ? v : dir_join(ld, "", v);
}

static int get_string(struct loader *ld, json_t *v, struct json_path *path,
		      bool nonempty, const char **out)
{
	if (!json_is_string(v))
		return fail_at(ld, path, "expected a string");
	if (nonempty && !json_string_length(v))
		return fail_at(ld, path, "must not be empty");
	*out = json_string_value(v);
	return 0;
}

static int get_path(struct loader *ld, json_t *v, struct json_path *path,
		    const char **out)
{
	const char *s = NULL;
	int ret = get_string(ld, v, path, true, &s);

	if (ret)
		return ret;
	*out = file_path(ld, s);
	if (!*out) {
		snprintf(ld->err, ld->errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int get_bool(struct loader *ld, json_t *v, struct json_path *path,
		    int *out)
{
	if (!json_is_boolean(v))
		return fail_at(ld, path, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

static int get_u32(struct loader *ld, json_t *v, struct json_path *path,
		   const struct device_opt_key *k, uint32_t *out)
{
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;

	if (n < (json_int_t)k->min || n > (json_int_t)k->max)
		return fail_at(ld, path,
			       "expected a whole number from %u to %u", k->min,
			       k->max);
	*out = (uint32_t)n;
	return 0;
}

/* Checks for unknown keys; @known is NULL-terminated. */
static int check_keys(struct loader *ld, json_t *obj, struct json_path *path,
		      const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		size_t i;

		for (i = 0; known[i] && strcmp(known[i], key); i++)
			;
		if (!known[i]) {
			path->key[path->depth] = key;
			path->index[path->depth] = -1;
			path->depth++;
			return fail_at(ld, path, "unknown key");
		}
	}
	return 0;
}

#define PUSH_KEY(p, k)                                                         \
	do {                                                                   \
		(p)->key[(p)->depth] = (k);                                    \
		(p)->index[(p)->depth] = -1;                                   \
		(p)->depth++;                                                  \
	} while (0)
#define PUSH_INDEX(p, i)                                                       \
	do {                                                                   \
		(p)->key[(p)->depth] = NULL;                                   \
		(p)->index[(p)->depth] = (i);                                  \
		(p)->depth++;                                                  \
	} while (0)
#define POP(p) ((p)->depth--)

/* One entry of a list option, as its table says. */
static int load_spec(struct loader *ld, const struct device_opt_spec *sp,
		     json_t *obj, struct json_path *path, void *out)
{
	const char *known[DEVICE_OPT_MAX_KEYS];
	int ret;

	if (!json_is_object(obj))
		return fail_at(ld, path, "expected an object like {\"%s\": %s}",
			       sp->keys[0].name, sp->keys[0].metavar);
	for (size_t i = 0; i < sp->nr_keys; i++)
		known[i] = sp->keys[i].name;
	known[sp->nr_keys] = NULL;
	ret = check_keys(ld, obj, path, known);
	if (ret)
		return ret;
	for (size_t i = 0; i < sp->nr_keys; i++) {
		const struct device_opt_key *k = &sp->keys[i];
		json_t *v = json_object_get(obj, k->name);
		json_t *alt = k->alt ? json_object_get(obj, k->alt) : NULL;
		void *field = device_opt_field(out, k);

		/* "passt": false is as good as no passt. */
		if (alt && json_is_false(alt))
			alt = NULL;
		PUSH_KEY(path, k->name);
		if (v && alt && !json_is_false(v))
			ret = fail_at(ld, path, "not together with \"%s\"",
				      k->alt);
		else if (!v)
			ret = k->required && !alt
				      ? fail_at(ld, path,
						k->alt ? "missing (or \"%s\")"
						       : "missing",
						k->alt)
				      : 0;
		else if (k->type == DEVICE_OPT_BOOL)
			ret = get_bool(ld, v, path, field);
		else if (k->type == DEVICE_OPT_PATH)
			ret = get_path(ld, v, path, field);
		else if (k->type == DEVICE_OPT_U32)
			ret = get_u32(ld, v, path, k, field);
		else if (k->type == DEVICE_OPT_FLAG_PATH)
			ret = json_is_boolean(v)
				      ? (*(const char **)field =
						 json_is_true(v) ? "" : NULL,
					 0)
				      : get_path(ld, v, path, field);
		else
			ret = get_string(ld, v, path, !k->may_be_empty, field);
		if (!ret && v && k->max_len &&
		    strlen(*(const char **)field) > k->max_len)
			ret = fail_at(ld, path, "longer than %zu bytes",
				      k->max_len);
		POP(path);
		if (ret)
			return ret;
	}
	return 0;
}

/* A single object of an option (its table's max is 1): "vsock": {...}. */
static int load_object(struct loader *ld, json_t *root,
		       const struct device_opt_spec *sp, void *out)
{
	struct json_path path = { 0 };
	json_t *obj = json_object_get(root, sp->json);

	if (!obj)
		return 0;
	PUSH_KEY(&path, sp->json);
	return load_spec(ld, sp, obj, &path, out);
}

static int load_list(struct loader *ld, json_t *root,
		     const struct device_opt_spec *sp, unsigned int *nr,
		     void *base)
{
	struct json_path path = { 0 };
	json_t *arr = json_object_get(root, sp->json), *v;
	size_t i;
	int ret;

	if (!arr)
		return 0;
	PUSH_KEY(&path, sp->json);
	if (!json_is_array(arr))
		return fail_at(ld, &path, "expected a list");
	if (json_array_size(arr) > sp->max)
		return fail_at(ld, &path, "at most %u entries", sp->max);
	json_array_foreach(arr, i, v)
	{
		PUSH_INDEX(&path, (int)i);
		ret = load_spec(ld, sp, v, &path, (char *)base + i * sp->size);
		POP(&path);
		if (ret)
			return ret;
	}
	*nr = (unsigned int)json_array_size(arr);
	return 0;
}

/* A top-level key; @path then names it for messages. */
static json_t *field(json_t *root, struct json_path *path, const char *key)
{
	path->depth = 0;
	PUSH_KEY(path, key);
	return json_object_get(root, key);
}

static int load_root(struct loader *ld, json_t *root)
{
	static const char *const keys[] = {
		"name",	   "kernel", "initrd", "cmdline",   "cpus",
		"memory",  "serial", "disks",  "nets",	    "boot_timing",
		"seccomp", "rng",    "vsock",  "hugepages", "snapshot_dir",
		"fs",	   NULL
	};
	struct kvmlite_config *cfg = ld->cfg;
	struct json_path path = { 0 };
	json_t *v;
	int ret;

	if (!json_is_object(root)) {
		snprintf(ld->err, ld->errlen,
			 "%s:1:1: the top level must be an object", ld->file);
		return -EINVAL;
	}
	ret = check_keys(ld, root, &path, keys);
	if (ret)
		return ret;

	if ((v = field(root, &path, "name")) &&
	    (ret = get_string(ld, v, &path, true, &cfg->name)))
		return ret;
	if ((v = field(root, &path, "kernel")) &&
	    (ret = get_path(ld, v, &path, &cfg->kernel_path)))
		return ret;
	if ((v = field(root, &path, "initrd")) &&
	    (ret = get_path(ld, v, &path, &cfg->initrd_path)))
		return ret;
	if ((v = field(root, &path, "cmdline")) &&
	    (ret = get_string(ld, v, &path, false, &cfg->cmdline)))
		return ret;
	if ((v = field(root, &path, "cpus"))) {
		json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;

		if (!limits_cpus_ok((uint64_t)(n < 0 ? 0 : n)))
			return fail_at(ld, &path, "expected " LIMITS_CPUS_TEXT);
		cfg->cpus = (unsigned int)n;
	}
	if ((v = field(root, &path, "memory"))) {
		const char *hint = "";
		uint64_t bytes = 0;

		if (json_is_integer(v) && json_integer_value(v) > 0)
			bytes = (uint64_t)json_integer_value(v);
		else if (!json_is_string(v) ||
			 parse_size(json_string_value(v), &bytes))
			return fail_at(ld, &path,
				       "expected a size like \"512M\" or a "
				       "number of bytes");
		if (json_is_string(v) && !size_has_unit(json_string_value(v)))
			hint = " (a number without a unit is MiB)";
		if (!limits_memory_ok(bytes))
			return fail_at(ld, &path,
				       "must be " LIMITS_MEMORY_TEXT "%s",
				       hint);
		cfg->memory = bytes;
	}
	if ((v = field(root, &path, "serial"))) {
		const char *s = NULL;

		ret = get_string(ld, v, &path, true, &s);
		if (ret)
			return ret;
		if (strcmp(s, "stdio") && strcmp(s, "none") &&
		    (strncmp(s, "file:", 5) || !s[5]))
			return fail_at(ld, &path,
				       "expected \"stdio\", \"file:PATH\" or "
				       "\"none\"");
		if (!strncmp(s, "file:", 5) && s[5] != '/') {
			s = dir_join(ld, "file:", s + 5);
			if (!s)
				return -ENOMEM;
		}
		cfg->serial = s;
	}
	if ((v = field(root, &path, "boot_timing"))) {
		if (json_is_false(v)) {
			cfg->boot_timing = NULL;
		} else if (json_is_true(v)) {
			cfg->boot_timing = "text";
		} else if (json_is_string(v) &&
			   (!strcmp(json_string_value(v), "text") ||
			    !strcmp(json_string_value(v), "json"))) {
			cfg->boot_timing = json_string_value(v);
		} else {
			return fail_at(ld, &path,
				       "expected true, false, \"text\" or "
				       "\"json\"");
		}
	}
	if ((v = field(root, &path, "hugepages"))) {
		ret = get_bool(ld, v, &path, &cfg->hugepages);
		if (ret)
			return ret;
		if (cfg->hugepages && !limits_hugepage_memory_ok(cfg->memory))
			return fail_at(ld, &path,
				       "needs \"memory\" to be a multiple "
				       "of 2M");
	}
	if ((v = field(root, &path, "seccomp")) &&
	    (ret = get_bool(ld, v, &path, &cfg->seccomp)))
		return ret;
	if ((v = field(root, &path, "rng")) &&
	    (ret = get_bool(ld, v, &path, &cfg->rng)))
		return ret;
	ret = load_object(ld, root, &device_opts_vsock, &cfg->vsock);
	if (ret)
		return ret;
	if ((v = field(root, &path, "snapshot_dir")) &&
	    (ret = get_path(ld, v, &path, &cfg->snapshot_dir)))
		return ret;
	ret = load_list(ld, root, &device_opts_disk, &cfg->nr_disks,
			ld->st->disks);
	if (ret)
		return ret;
	cfg->disks = cfg->nr_disks ? ld->st->disks : NULL;
	ret = load_list(ld, root, &device_opts_net, &cfg->nr_nets,
			ld->st->nets);
	if (ret)
		return ret;
	cfg->nets = cfg->nr_nets ? ld->st->nets : NULL;
	ret = load_list(ld, root, &device_opts_fs, &cfg->nr_fs, ld->st->fs);
	if (ret)
		return ret;
	cfg->fs = cfg->nr_fs ? ld->st->fs : NULL;
	return 0;
}

/*
 * Open a config file: a regular file only. O_NONBLOCK, cleared once the
 * file is known to be regular, keeps a FIFO from blocking the open.
 */
static FILE *open_text(const char *path, char *err, size_t errlen, int *ret)
{
	struct stat st;
	FILE *f;
	int fd, flags;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		*ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		*ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		*ret = -EISDIR;
		snprintf(err, errlen, "%s: is a directory", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*ret = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		*ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	f = fdopen(fd, "r");
	if (!f) {
		*ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	return f;
fail:
	close(fd);
	return NULL;
}

/* The whole file as a string; a config file is small. */
static char *read_text(const char *path, char *err, size_t errlen, int *ret)
{
	FILE *f = open_text(path, err, errlen, ret);
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb;

			if (cap >= (1 << 20)) {
				snprintf(err, errlen,
					 "%s: larger than 1 MiB: not a config "
					 "file?",
					 path);
				*ret = -EINVAL;
				goto fail;
			}
			nb = realloc(buf, cap + 8192 + 1);
			if (!nb) {
				*ret = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
			cap += 8192;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		*ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

/* Set up @cfg's storage; the directory relative paths resolve against. */
static int config_begin(struct kvmlite_config *cfg, const char *dir,
			struct config_storage **out, char *err, size_t errlen)
{
	struct config_storage *st;

	kvmlite_config_init(cfg);
	st = calloc(1, sizeof(*st));
	if (st)
		st->dir = strdup(dir);
	if (!st || !st->dir) {
		free(st);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cfg->storage = st;
	*out = st;
	return 0;
}

int config_parse_text(const char *file, const char *dir, const char *text,
		      struct kvmlite_config *cfg, char *err, size_t errlen)
{
	struct loader ld = { .file = file,
			     .text = text,
			     .cfg = cfg,
			     .err = err,
			     .errlen = errlen };
	json_error_t je;
	int ret;

	ret = config_begin(cfg, dir, &ld.st, err, errlen);
	if (ret)
		return ret;
	ld.st->root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!ld.st->root) {
		snprintf(err, errlen, "%s:%d:%d: %s", file, je.line, je.column,
			 je.text);
		return -EINVAL;
	}
	return load_root(&ld, ld.st->root);
}

/* An array of @n native elements, repacked in the caller's element size
 * (kept in the storage); the native array itself when the sizes agree. */
static const void *repack(const void *native, size_t native_size,
			  unsigned int n, size_t user_size, void **keep)
{
	char *out;

	if (!n || user_size == native_size)
		return n ? native : NULL;
	out = calloc(n, user_size);
	if (!out)
		return NULL;
	for (unsigned int i = 0; i < n; i++)
		memcpy(out + i * user_size,
		       (const char *)native + i * native_size,
		       user_size < native_size ? user_size : native_size);
	*keep = out;
	return out;
}

int kvmlite_config_load_sized(const char *path, struct kvmlite_config *cfg,
			      size_t size, size_t disk_size, size_t net_size,
			      char *err, size_t errlen)
{
	struct kvmlite_config n;
	struct config_storage *st;
	char *copy, *text;
	int ret = 0;

	kvmlite_config_init_sized(cfg, size, disk_size, net_size);
	text = read_text(path, err, errlen, &ret);
	if (!text)
		return ret;
	copy = strdup(path);
	if (!copy) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = config_parse_text(path, dirname(copy), text, &n, err, errlen);
	free(copy);
	free(text);
	st = n.storage;
	if (!ret && st) {
		n.disks = repack(st->disks, sizeof(st->disks[0]), n.nr_disks,
				 disk_size, &st->user_disks);
		n.nets = repack(st->nets, sizeof(st->nets[0]), n.nr_nets,
				net_size, &st->user_nets);
		if ((n.nr_disks && !n.disks) || (n.nr_nets && !n.nets)) {
			snprintf(err, errlen, "out of memory");
			ret = -ENOMEM;
		}
	}
	/* The storage goes to the caller's struct whatever happened: it is
	 * released by kvmlite_config_release(). */
	config_export(&n, cfg, size);
	cfg->disk_size = (uint16_t)disk_size;
	cfg->net_size = (uint16_t)net_size;
	return ret;
}

void kvmlite_config_release(struct kvmlite_config *cfg)
{
	struct config_storage *st = cfg->storage;

	if (!st)
		return;
	json_decref(st->root);
	for (size_t i = 0; i < st->nr_strings; i++)
		free(st->strings[i]);
	free(st->strings);
	free(st->user_disks);
	free(st->user_nets);
	free(st->dir);
	free(st);
	kvmlite_config_init_sized(cfg, cfg->struct_size, cfg->disk_size,
				  cfg->net_size);
}
