/* kvmlite exec in the library: the initramfs, and the console's split. */
#ifndef KVMLITE_EXEC_EXEC_H
#define KVMLITE_EXEC_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmlite.h"
#include "loader/initramfs.h"

/* The embedded init binary. */
extern const uint8_t exec_init_image[];
extern const uint8_t exec_init_image_end[];

/* The modules exec wants (when they are not built in). */
extern const char *const exec_wanted_modules[];
extern const size_t exec_nr_wanted_modules;

/*
 * The initramfs for @c's exec (c->exec.argv set): the init, /dev nodes,
 * the modules from c->exec.modules_dir, the plan. The root share is
 * KVMLITE_EXEC_ROOT_TAG; c->fs[i] is mounted at c->exec.mounts[i]. 0 or
 * -errno with one line (-ENOENT: a module missing, -EINVAL: a module
 * unreadable).
 */
int exec_build_initramfs(const struct kvmlite_config *c, struct cpio *out,
			 char *err, size_t errlen);

/* The plan file's bytes alone (for tests): 0 or -ENOMEM/-E2BIG. */
int exec_build_plan(const struct kvmlite_config *c,
		    const char *const *module_names, size_t nr_modules,
		    char **out, size_t *len);

/* Checks on c->exec (config_validate): 0 or -EINVAL with one line. */
int exec_validate(const struct kvmlite_config *c, char *err, size_t errlen);

/*
 * The console split: the UART's bytes in, each to stdout, stderr or
 * (the frames' headers) nowhere. A byte a sink refuses stays unconsumed
 * (the UART holds it and offers it again).
 */
enum exec_sink { EXEC_SINK_NONE, EXEC_SINK_STDOUT, EXEC_SINK_STDERR };
struct exec_demux {
	int state;
	uint8_t type;
	uint32_t left;
	/* The last line the init or the command wrote to stderr. */
	char line[256];
	size_t line_len;
	bool line_done;
};
/* Where @byte goes; exec_demux_took() once the sink took it. */
enum exec_sink exec_demux_route(const struct exec_demux *d, uint8_t byte);
void exec_demux_took(struct exec_demux *d, uint8_t byte);

#endif
