/*
 * The configuration API: defaults, the sizes a caller was built with (the
 * ABI rule in kvmlite.h), and the validation every configuration passes
 * once, whether it came from the command line, a file or a program.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "exec/exec.h"
#include "limits.h"
#include "virtio/tap.h"

/* The sizes of 0.3's structs, the first with size fields: no caller can
 * have smaller ones. */
#define CONFIG_SIZE_0_3                                                        \
	(offsetof(struct kvmlite_config, console_escapes) + sizeof(int))
#define DISK_SIZE_0_3                                                          \
	(offsetof(struct kvmlite_disk, serial) + sizeof(const char *))
#define NET_SIZE_0_3 (offsetof(struct kvmlite_net, mac) + sizeof(const char *))

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

void kvmlite_config_init_sized(struct kvmlite_config *cfg, size_t size,
			       size_t disk_size, size_t net_size)
{
	struct kvmlite_config d;

	memset(&d, 0, sizeof(d));
	d.struct_size = (uint32_t)size;
	d.disk_size = (uint16_t)disk_size;
	d.net_size = (uint16_t)net_size;
	d.cpus = 1;
	d.memory = 256ULL << 20;
	d.console_in_fd = -1;
	d.console_out_fd = -1;
	d.seccomp = -1;
	d.exec.stderr_fd = -1;
	memcpy(cfg, &d, min_size(size, sizeof(d)));
	if (size > sizeof(d))
		memset((char *)cfg + sizeof(d), 0, size - sizeof(d));
}

/* Bytes of a caller's struct beyond what this library knows: all zero? */
static bool tail_clear(const void *p, size_t have, size_t known)
{
	for (size_t i = known; i < have; i++)
		if (((const uint8_t *)p)[i])
			return false;
	return true;
}

/* A caller's array of @nr structs of @user_size bytes into ours. */
static int import_array(const void *user, unsigned int nr, size_t user_size,
			void *ours, size_t our_size, const char *what,
			char *err, size_t errlen)
{
	for (unsigned int i = 0; user && i < nr; i++) {
		const void *e = (const char *)user + i * user_size;

		if (!tail_clear(e, user_size, our_size))
			return err_fmt(
				err, errlen, -EINVAL,
				"%s %u sets fields this library does not "
				"know",
				what, i);
		memcpy((char *)ours + i * our_size, e,
		       min_size(user_size, our_size));
	}
	return 0;
}

int config_import(const struct kvmlite_config *user, struct config_native *n,
		  char *err, size_t errlen)
{
	size_t size = user->struct_size;
	int ret;

	if (size < CONFIG_SIZE_0_3 || user->disk_size < DISK_SIZE_0_3 ||
	    user->net_size < NET_SIZE_0_3)
		return err_fmt(err, errlen, -EINVAL,
			       "configuration not set up by "
			       "kvmlite_config_init() (struct sizes %u/%u/%u)",
			       user->struct_size, user->disk_size,
			       user->net_size);
	if (!tail_clear(user, size, sizeof(n->cfg)))
		return err_fmt(err, errlen, -EINVAL,
			       "the configuration sets fields this library "
			       "(%s) does not know: use a newer libkvmlite",
			       KVMLITE_VERSION_STRING);
	kvmlite_config_init(&n->cfg);
	memcpy(&n->cfg, user, min_size(size, sizeof(n->cfg)));
	n->cfg.struct_size = sizeof(n->cfg);
	n->cfg.disk_size = sizeof(n->disks[0]);
	n->cfg.net_size = sizeof(n->nets[0]);
	if (user->nr_disks > KVMLITE_MAX_DISKS ||
	    user->nr_nets > KVMLITE_MAX_NETS)
		return 0; /* config_validate() says so */
	/* struct kvmlite_fs has a fixed size (kvmlite.h): copied as is, when
	 * the caller's struct has the fields (0.5 on). */
	if (size >= offsetof(struct kvmlite_config, nr_fs) +
			    sizeof(user->nr_fs) &&
	    user->fs && user->nr_fs <= KVMLITE_MAX_FS) {
		memcpy(n->fs, user->fs, user->nr_fs * sizeof(n->fs[0]));
		n->cfg.fs = n->fs;
	}
	ret = import_array(user->disks, user->nr_disks, user->disk_size,
			   n->disks, sizeof(n->disks[0]), "disk", err, errlen);
	if (!ret)
		ret = import_array(user->nets, user->nr_nets, user->net_size,
				   n->nets, sizeof(n->nets[0]), "net", err,
				   errlen);
	if (ret)
		return ret;
	n->cfg.disks = user->disks ? n->disks : NULL;
	n->cfg.nets = user->nets ? n->nets : NULL;
	return 0;
}

int config_validate(const struct kvmlite_config *c, char *err, size_t errlen)
{
	if (!c->kernel_path || !c->kernel_path[0])
		return err_fmt(err, errlen, -EINVAL, "no kernel image given");
	return config_validate_machine(c, err, errlen);
}

/* Shares: each a directory, tags of 1..KVMLITE_FS_TAG_MAX bytes, all
 * different (the guest mounts by tag). */
static int validate_fs(const struct kvmlite_config *c, char *err, size_t errlen)
{
	if (c->nr_fs > KVMLITE_MAX_FS || (c->nr_fs && !c->fs))
		return err_fmt(err, errlen, -EINVAL, "%u shares: at most %d",
			       c->nr_fs, KVMLITE_MAX_FS);
	for (unsigned int i = 0; i < c->nr_fs; i++) {
		const struct kvmlite_fs *f = &c->fs[i];
		struct stat st;

		if (!f->path || !f->path[0])
			return err_fmt(err, errlen, -EINVAL,
				       "fs %u: no path given", i);
		if (!f->tag || !f->tag[0])
			return err_fmt(err, errlen, -EINVAL,
				       "fs %s: no tag given", f->path);
		if (strlen(f->tag) > KVMLITE_FS_TAG_MAX)
			return err_fmt(err, errlen, -EINVAL,
				       "fs %s: tag longer than %d bytes",
				       f->path, KVMLITE_FS_TAG_MAX);
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(c->fs[j].tag, f->tag))
				return err_fmt(err, errlen, -EINVAL,
					       "fs %s: tag '%s' given twice",
					       f->path, f->tag);
		if (stat(f->path, &st))
			return err_fmt(err, errlen, -EINVAL, "fs %s: %s",
				       f->path, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return err_fmt(err, errlen, -EINVAL,
				       "fs %s: not a directory", f->path);
	}
	return 0;
}

int config_validate_machine(const struct kvmlite_config *c, char *err,
			    size_t errlen)
{
	uint8_t mac[6];
	int ret;

	if (!limits_cpus_ok(c->cpus))
		return err_fmt(err, errlen, -EINVAL,
			       "cpus %u out of range 1..%d", c->cpus,
			       KVMLITE_MAX_CPUS);
	if (!limits_memory_ok(c->memory))
		return err_fmt(err, errlen, -EINVAL,
			       "memory %llu bytes: need " LIMITS_MEMORY_TEXT,
			       (unsigned long long)c->memory);
	if (c->hugepages && !limits_hugepage_memory_ok(c->memory))
		return err_fmt(err, errlen, -EINVAL,
			       "memory %llu bytes: with hugepages it must be "
			       "a multiple of 2M",
			       (unsigned long long)c->memory);
	if (c->nr_disks > KVMLITE_MAX_DISKS || (c->nr_disks && !c->disks))
		return err_fmt(err, errlen, -EINVAL, "%u disks: at most %d",
			       c->nr_disks, KVMLITE_MAX_DISKS);
	for (unsigned int i = 0; i < c->nr_disks; i++) {
		const struct kvmlite_disk *d = &c->disks[i];

		if (!d->path || !d->path[0])
			return err_fmt(err, errlen, -EINVAL,
				       "disk %u: no path given", i);
		if (d->serial && strlen(d->serial) > KVMLITE_DISK_SERIAL_MAX)
			return err_fmt(err, errlen, -EINVAL,
				       "disk %s: serial longer than %d bytes",
				       d->path, KVMLITE_DISK_SERIAL_MAX);
	}
	if (c->nr_nets > KVMLITE_MAX_NETS || (c->nr_nets && !c->nets))
		return err_fmt(err, errlen, -EINVAL, "%u networks: at most %d",
			       c->nr_nets, KVMLITE_MAX_NETS);
	for (unsigned int i = 0; i < c->nr_nets; i++) {
		const struct kvmlite_net *n = &c->nets[i];

		if (n->tap && n->passt)
			return err_fmt(err, errlen, -EINVAL,
				       "net %u: tap and passt both given (one "
				       "backend each)",
				       i);
		if ((!n->tap || !n->tap[0]) && !n->passt)
			return err_fmt(err, errlen, -EINVAL,
				       "net %u: no tap name or passt given", i);
		if (n->passt && strlen(n->passt) >= LIMITS_UNIX_PATH_MAX)
			return err_fmt(err, errlen, -EINVAL,
				       "net %u: passt socket path longer than "
				       "%d bytes",
				       i, LIMITS_UNIX_PATH_MAX - 1);
		if (n->mac && mac_parse(n->mac, mac))
			return err_fmt(err, errlen, -EINVAL,
				       "net %s: invalid MAC '%s' (want a "
				       "unicast xx:xx:xx:xx:xx:xx)",
				       n->tap ? n->tap : "passt", n->mac);
	}
	if (c->vsock.cid && !limits_vsock_cid_ok(c->vsock.cid))
		return err_fmt(err, errlen, -EINVAL,
			       "vsock: cid %u: need " LIMITS_VSOCK_CID_TEXT,
			       c->vsock.cid);
	if (c->vsock.cid && (!c->vsock.uds || !c->vsock.uds[0]))
		return err_fmt(err, errlen, -EINVAL,
			       "vsock: no uds=PATH given");
	if (c->vsock.cid && strlen(c->vsock.uds) > KVMLITE_VSOCK_UDS_MAX)
		return err_fmt(err, errlen, -EINVAL,
			       "vsock: uds path longer than %d bytes",
			       KVMLITE_VSOCK_UDS_MAX);
	if (!c->vsock.cid && c->vsock.uds)
		return err_fmt(err, errlen, -EINVAL,
			       "vsock: uds given without a cid");
	ret = validate_fs(c, err, errlen);
	if (ret)
		return ret;
	if (c->nr_disks + c->nr_nets + (c->rng != 0) + (c->vsock.cid != 0) +
		    c->nr_fs >
	    KVMLITE_MAX_DEVICES) {
		char shares[32] = "";

		if (c->nr_fs)
			snprintf(shares, sizeof(shares), ", %u shares",
				 c->nr_fs);
		return err_fmt(err, errlen, -EINVAL,
			       "%u disks, %u networks%s%s%s: at most %d virtio "
			       "devices in all (one interrupt line each)",
			       c->nr_disks, c->nr_nets, c->rng ? ", rng" : "",
			       c->vsock.cid ? ", vsock" : "", shares,
			       KVMLITE_MAX_DEVICES);
	}
	ret = exec_validate(c, err, errlen);
	if (ret)
		return ret;
	if (c->snapshot_dir && !c->snapshot_dir[0])
		return err_fmt(err, errlen, -EINVAL,
			       "snapshot_dir: empty path");
	if (c->kick_signal &&
	    (c->kick_signal < SIGRTMIN || c->kick_signal > SIGRTMAX))
		return err_fmt(err, errlen, -EINVAL,
			       "kick_signal %d is not a real-time signal",
			       c->kick_signal);
	return 0;
}

void config_export(const struct kvmlite_config *n, struct kvmlite_config *user,
		   size_t size)
{
	memcpy(user, n, min_size(size, sizeof(*n)));
	if (size > sizeof(*n))
		memset((char *)user + sizeof(*n), 0, size - sizeof(*n));
	user->struct_size = (uint32_t)size;
}
