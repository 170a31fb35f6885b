/*
 * Fuzz kvmlite exec's modules resolver (src/exec/modules.c) on the text
 * files of a host module tree: the input up to its first NUL byte is
 * DIR/modules.dep, what follows it DIR/modules.builtin (none without a
 * NUL). exec_modules_resolve() then resolves exec's own wanted modules.
 * Nothing may crash, leak or hang; a failure leaves no paths and (but for
 * -ENOMEM) says why; a success names each module once, at most
 * EXEC_MODULES_MAX of them, each DIR/ and a path modules.dep lists.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/exec.h"
#include "exec/modules.h"

static char dir[256], dep[320], builtin[320];

static void die(const char *what)
{
	fprintf(stderr, "fuzz_modules_dep: %s\n", what);
	abort();
}

static void cleanup(void)
{
	unlink(dep);
	unlink(builtin);
	rmdir(dir);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/fuzzmods.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(dep, sizeof(dep), "%s/modules.dep", dir);
	snprintf(builtin, sizeof(builtin), "%s/modules.builtin", dir);
	atexit(cleanup);
}

static void put(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(p, 1, n, f) != n || fclose(f))
		die(path);
}

/* Is @rel (a path relative to the tree) one modules.dep lists before a
 * colon at the start of a line? */
static bool listed(const uint8_t *text, size_t n, const char *rel)
{
	size_t len = strlen(rel);

	for (size_t l = 0; l < n;) {
		const uint8_t *nl = memchr(text + l, '\n', n - l);
		size_t end = nl ? (size_t)(nl - text) : n;

		if (end - l > len && !memcmp(text + l, rel, len) &&
		    text[l + len] == ':')
			return true;
		l = end + 1;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t dep_len = nul ? (size_t)(nul - data) : size;
	struct exec_modules m;
	char err[512] = "";
	int ret;

	if (!dir[0])
		setup();
	put(dep, data, dep_len);
	if (nul)
		put(builtin, nul + 1, size - dep_len - 1);
	else
		unlink(builtin);

	ret = exec_modules_resolve(dir, exec_wanted_modules,
				   exec_nr_wanted_modules, &m, err,
				   sizeof(err));
	if (ret) {
		if (ret > 0 || m.nr || (ret != -ENOMEM && !err[0]))
			die("a failure with paths, or without a reason");
		return 0;
	}
	if (m.nr > EXEC_MODULES_MAX)
		die("too many modules");
	for (size_t i = 0; i < m.nr; i++) {
		size_t dl = strlen(dir);

		if (strncmp(m.paths[i], dir, dl) || m.paths[i][dl] != '/' ||
		    !listed(data, dep_len, m.paths[i] + dl + 1))
			die("a path modules.dep does not list");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m.paths[i], m.paths[j]))
				die("a module named twice");
	}
	exec_modules_free(&m);
	return 0;
}
