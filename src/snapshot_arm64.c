/* arm64's part of a snapshot (arch.h): not built yet. Taking one or
 * restoring one fails with a message; nothing else changes. */
#include <errno.h>

#include "arch.h"
#include "err.h"

const bool arch_snapshots_supported = false;

int arch_snapshot_save(struct kvmlite_vm *vm, struct snap_writer *w, char *err,
		       size_t errlen)
{
	return err_fmt(err, errlen, -ENOTSUP,
		       "snapshots are not supported on arm64 yet");
}

int arch_snapshot_decode(struct kvmlite_vm *vm, const struct snapfile *f,
			 bool in_place, struct arch_cpu_state **out, char *err,
			 size_t errlen)
{
	*out = NULL;
	return err_fmt(err, errlen, -ENOTSUP,
		       "snapshots are not supported on arm64 yet");
}

int arch_snapshot_apply(struct kvmlite_vm *vm, struct arch_cpu_state *s,
			char *err, size_t errlen)
{
	return -ENOTSUP;
}

void arch_snapshot_free(struct kvmlite_vm *vm, struct arch_cpu_state *s)
{
}
