/* Which kernel modules kvmlite exec loads, from a lib/modules/VER tree. */
#ifndef KVMLITE_EXEC_MODULES_H
#define KVMLITE_EXEC_MODULES_H

#include <stddef.h>

#define EXEC_MODULES_MAX 64

struct exec_modules {
	char *paths[EXEC_MODULES_MAX]; /* absolute, in load order */
	size_t nr;
};

/*
 * The modules @wanted need, dependencies first, each once, read from
 * DIR/modules.dep, or (no modules.dep: a kernel package before depmod ran)
 * from each DIR/kernel/ module's own "depends=" field. A name in
 * DIR/modules.builtin is skipped. 0, or -ENOENT (a module is nowhere:
 * one line naming it), -E2BIG, -ENOMEM, -errno reading DIR.
 */
int exec_modules_resolve(const char *dir, const char *const *wanted,
			 size_t nr_wanted, struct exec_modules *out, char *err,
			 size_t errlen);
void exec_modules_free(struct exec_modules *m);

#endif
