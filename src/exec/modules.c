/* The modules.dep resolver (and its fallback for a tree without one). */
#include "exec/modules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "err.h"

#define NAME_MAX_LEN 64
#define DEPTH_MAX 32

struct mod {
	char name[NAME_MAX_LEN]; /* '-' as '_' */
	char *path;		 /* relative to the tree */
	char *deps;		 /* comma or space separated names or paths */
	bool builtin, done, visiting;
};

struct tree {
	const char *dir;
	struct mod *mods;
	size_t nr, cap;
	bool from_dep; /* deps are paths (modules.dep), else names */
};

/* "kernel/fs/9p/9p.ko.xz" or "9p-foo" -> "9p_foo". */
static void mod_name(const char *s, size_t n, char out[NAME_MAX_LEN])
{
	const char *b = s;
	size_t len;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '/')
			b = s + i + 1;
	len = (size_t)(s + n - b);
	for (const char *ext = b; ext < s + n - 2; ext++)
		if (!strncmp(ext, ".ko", 3) &&
		    (ext + 3 == s + n || ext[3] == '.')) {
			len = (size_t)(ext - b);
			break;
		}
	if (len >= NAME_MAX_LEN)
		len = NAME_MAX_LEN - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = b[i] == '-' ? '_' : b[i];
	out[len] = '\0';
}

static struct mod *find(struct tree *t, const char *name)
{
	for (size_t i = 0; i < t->nr; i++)
		if (!strcmp(t->mods[i].name, name))
			return &t->mods[i];
	return NULL;
}

static struct mod *add(struct tree *t, const char *path, size_t plen)
{
	struct mod *m;

	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct mod *p = realloc(t->mods, cap * sizeof(*p));

		if (!p)
			return NULL;
		t->mods = p;
		t->cap = cap;
	}
	m = &t->mods[t->nr];
	memset(m, 0, sizeof(*m));
	if (path)
		mod_name(path, plen, m->name);
	if (path && !(m->path = strndup(path, plen)))
		return NULL;
	t->nr++;
	return m;
}

static char *read_text(const char *path, int *ret, size_t *lenp)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		*ret = -errno;
		return NULL;
	}
	do {
		if (cap - len < 65536) {
			char *p = realloc(buf, cap + 65536 + 1);

			if (!p) {
				free(buf);
				fclose(f);
				*ret = -ENOMEM;
				return NULL;
			}
			buf = p;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	buf[len] = '\0';
	*ret = 0;
	if (lenp)
		*lenp = len;
	return buf;
}

/* modules.dep: "PATH: DEP DEP..." a line each. */
static int load_dep(struct tree *t, const char *text)
{
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n'), *colon;
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		struct mod *m;

		colon = memchr(l, ':', n);
		if (colon && colon > l) {
			m = add(t, l, (size_t)(colon - l));
			if (!m ||
			    !(m->deps = strndup(colon + 1,
						n - (size_t)(colon - l) - 1)))
				return -ENOMEM;
		}
		l += n + (nl ? 1 : 0);
	}
	t->from_dep = true;
	return 0;
}

static void mark_builtin(struct tree *t, const char *text)
{
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		char name[NAME_MAX_LEN];

		if (n) {
			struct mod *m;

			mod_name(l, n, name);
			m = find(t, name);
			if (!m && (m = add(t, NULL, 0)))
				snprintf(m->name, sizeof(m->name), "%s", name);
			if (m)
				m->builtin = true;
		}
		l += n + (nl ? 1 : 0);
	}
}

/* No modules.dep: every *.ko* under @rel, depends read later. */
static int scan(struct tree *t, const char *rel, int depth)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (depth > DEPTH_MAX)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	d = opendir(path);
	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		char sub[4096];

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", rel,
				     de->d_name) >= sizeof(sub))
			continue;
		if (de->d_type == DT_DIR)
			ret = scan(t, sub, depth + 1);
		else if (strstr(de->d_name, ".ko") && !add(t, sub, strlen(sub)))
			ret = -ENOMEM;
	}
	closedir(d);
	return ret;
}

/* The "depends=" modinfo string of an uncompressed module. */
static int read_depends(struct tree *t, struct mod *m, char *err, size_t errlen)
{
	char path[4096], *data;
	const char *p = NULL;
	size_t len = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", t->dir, m->path);
	if (strcmp(m->path + strlen(m->path) - 3, ".ko"))
		return err_fmt(err, errlen, -ENOENT,
			       "modules %s: no modules.dep, and %s is "
			       "compressed (run depmod on the tree)",
			       t->dir, m->path);
	data = read_text(path, &ret, &len);
	if (!data)
		return err_fmt(err, errlen, ret, "module %s: %s", path,
			       strerror(-ret));
	/* The modinfo strings are NUL-separated inside the ELF file. */
	for (size_t i = 0; i + 9 <= len; i++)
		if (!memcmp(data + i, "\0depends=", 9)) {
			p = data + i + 9;
			break;
		}
	m->deps = strdup(p ? p : "");
	free(data);
	return m->deps ? 0 : -ENOMEM;
}

static int visit(struct tree *t, struct mod *m, struct exec_modules *out,
		 int depth, char *err, size_t errlen)
{
	char *deps, *save = NULL;
	int ret = 0;

	if (m->done || m->builtin)
		return 0;
	if (m->visiting || depth > DEPTH_MAX)
		return err_fmt(err, errlen, -ELOOP,
			       "module %s: its dependencies form a loop",
			       m->name);
	if (!m->path)
		return 0;
	if (!m->deps && (ret = read_depends(t, m, err, errlen)))
		return ret;
	m->visiting = true;
	deps = strdup(m->deps);
	if (!deps)
		return -ENOMEM;
	for (char *d = strtok_r(deps, t->from_dep ? " \t" : ",", &save);
	     d && !ret; d = strtok_r(NULL, t->from_dep ? " \t" : ",", &save)) {
		char name[NAME_MAX_LEN];
		struct mod *dm;

		mod_name(d, strlen(d), name);
		if (!name[0])
			continue;
		dm = find(t, name);
		if (!dm)
			ret = err_fmt(err, errlen, -ENOENT,
				      "module %s (needed by %s): not in %s",
				      name, m->name, t->dir);
		else
			ret = visit(t, dm, out, depth + 1, err, errlen);
	}
	free(deps);
	m->visiting = false;
	if (ret)
		return ret;
	if (out->nr >= EXEC_MODULES_MAX)
		return err_fmt(err, errlen, -E2BIG,
			       "modules: more than %d needed",
			       EXEC_MODULES_MAX);
	if (asprintf(&out->paths[out->nr], "%s/%s", t->dir, m->path) < 0) {
		out->paths[out->nr] = NULL;
		return -ENOMEM;
	}
	out->nr++;
	m->done = true;
	return 0;
}

int exec_modules_resolve(const char *dir, const char *const *wanted,
			 size_t nr_wanted, struct exec_modules *out, char *err,
			 size_t errlen)
{
	struct tree t = { .dir = dir };
	char path[4096];
	char *text;
	int ret;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/modules.dep", dir);
	text = read_text(path, &ret, NULL);
	if (text) {
		ret = load_dep(&t, text);
		free(text);
	} else if (ret == -ENOENT) {
		ret = scan(&t, "kernel", 0);
		if (ret)
			ret = err_fmt(err, errlen, ret,
				      "modules %s: neither modules.dep nor a "
				      "readable kernel/ directory: %s",
				      dir, strerror(-ret));
	} else {
		ret = err_fmt(err, errlen, ret, "%s: %s", path, strerror(-ret));
	}
	if (ret)
		goto out;
	snprintf(path, sizeof(path), "%s/modules.builtin", dir);
	text = read_text(path, &ret, NULL);
	if (text) {
		mark_builtin(&t, text);
		free(text);
	}
	ret = 0;
	for (size_t i = 0; i < nr_wanted && !ret; i++) {
		struct mod *m = find(&t, wanted[i]);

		if (!m)
			ret = err_fmt(err, errlen, -ENOENT,
				      "module %s: not in %s (neither a module "
				      "nor built in)",
				      wanted[i], dir);
		else
			ret = visit(&t, m, out, 0, err, errlen);
	}
out:
	for (size_t i = 0; i < t.nr; i++) {
		free(t.mods[i].path);
		free(t.mods[i].deps);
	}
	free(t.mods);
	if (ret)
		exec_modules_free(out);
	return ret;
}

void exec_modules_free(struct exec_modules *m)
{
	for (size_t i = 0; i < m->nr; i++)
		free(m->paths[i]);
	m->nr = 0;
}
