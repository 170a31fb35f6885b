/* Snapshots, restore, reset in place. See snapshot.h and docs/snapshot.md. */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch.h"
#include "config.h"
#include "err.h"
#include "kvm.h"
#include "sandbox.h"
#include "virtio/tap.h"
#include "vm.h"

#define STATE_FILE "state"
#define MEMORY_FILE "memory"
#define NEW_SUFFIX ".new"
/* The memory file's header: magic, the snapshot's id, RAM bytes, where
 * RAM starts. */
#define MEM_HEADER_BYTES 40
/* Files a snapshot writes besides state and memory: a layer per disk. */
#define MAX_EXTRA_FILES KVMLITE_MAX_DISKS

/* ---- life cycle ---- */

void snapshot_prepare(struct kvmlite_vm *vm)
{
	struct snapshots *s = &vm->snaps;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->dirfd = s->request_fd = s->take_fd = s->pagemap_fd = s->mem_fd = -1;
	s->thread.stop_fd = -1;
}

int snapshot_set_dir(struct kvmlite_vm *vm, const char *dir, char *err,
		     size_t errlen)
{
	if (!dir)
		return 0;
	vm->snaps.dir = strdup(dir);
	return vm->snaps.dir ? 0
			     : err_fmt(err, errlen, -ENOMEM, "out of memory");
}

bool snapshot_enabled(const struct kvmlite_vm *vm)
{
	return vm->snaps.dir != NULL;
}

/* @dir as a directory fd, made when missing (its parent must exist). */
static int open_dir(const char *dir, bool create)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return fd < 0 ? -errno : fd;
}

/* The CONFIG section: what a restore rebuilds the VM from. Paths are made
 * absolute (a restore may run elsewhere); each disk's size and mtime say
 * whether it changed since. */
static int encode_config(struct kvmlite_vm *vm, const struct config_native *c,
			 char *err, size_t errlen)
{
	const struct kvmlite_config *cfg = &c->cfg;
	struct snap_writer w;
	int ret = 0;

	snap_writer_init(&w);
	snap_put_u32(&w, cfg->cpus);
	snap_put_u64(&w, cfg->memory);
	snap_put_u8(&w, vm->boot.linux_kernel);
	snap_put_str(&w, vm->name);
	snap_put_u32(&w, cfg->nr_disks);
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct kvmlite_disk *d = &cfg->disks[i];
		char *abs = realpath(d->path, NULL);
		struct stat st;

		if (stat(abs ? abs : d->path, &st) < 0)
			memset(&st, 0, sizeof(st));
		snap_put_str(&w, abs ? abs : d->path);
		free(abs);
		snap_put_u8(&w, d->read_only != 0);
		snap_put_str(&w, d->serial);
		snap_put_u8(&w, d->overlay != 0);
		snap_put_u8(&w, S_ISBLK(st.st_mode));
		snap_put_u64(&w,
			     S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
		snap_put_u64(&w, (uint64_t)st.st_mtim.tv_sec);
		snap_put_u32(&w, (uint32_t)st.st_mtim.tv_nsec);
	}
	snap_put_u32(&w, cfg->nr_nets);
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct kvmlite_net *n = &cfg->nets[i];
		uint8_t mac[6];
		char text[18];

		/* The MAC the device has, default or given. */
		if (!n->mac || mac_parse(n->mac, mac))
			mac_default(mac, vm->name ? vm->name : "", i);
		mac_format(mac, text, sizeof(text));
		snap_put_str(&w, n->tap);
		snap_put_str(&w, text);
		/* passt: a new one is started (or attached to) at restore. */
		snap_put_u8(&w, n->passt != NULL);
		snap_put_str(&w, n->passt);
	}
	snap_put_u8(&w, cfg->rng != 0);
	snap_put_u32(&w, cfg->vsock.cid);
	snap_put_str(&w, cfg->vsock.cid ? cfg->vsock.uds : NULL);
	if (w.err) {
		ret = err_fmt(err, errlen, w.err, "snapshot configuration: %s",
			      strerror(-w.err));
		goto out;
	}
	vm->snaps.config_len = w.len - SNAP_HEADER_BYTES;
	vm->snaps.config = malloc(vm->snaps.config_len + 1);
	if (!vm->snaps.config) {
		ret = err_fmt(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(vm->snaps.config, w.buf + SNAP_HEADER_BYTES,
	       vm->snaps.config_len);
out:
	snap_writer_free(&w);
	return ret;
}

int snapshot_init(struct kvmlite_vm *vm, const struct config_native *c,
		  char *err, size_t errlen)
{
	struct snapshots *s = &vm->snaps;
	int ret;

	ret = encode_config(vm, c, err, errlen);
	if (ret || !s->dir)
		return ret;
	s->dirfd = open_dir(s->dir, true);
	if (s->dirfd < 0)
		return err_fmt(err, errlen, s->dirfd,
			       "snapshot directory %s: %s", s->dir,
			       strerror(-s->dirfd));
	s->request_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->take_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->request_fd < 0 || s->take_fd < 0)
		return err_fmt(err, errlen, -errno, "eventfd: %s",
			       strerror(errno));
	/* Opened now: the thread's filter lets it open files in the
	 * snapshot directory only. */
	s->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	s->pagemap_fd_tried = true;
	ret = worker_init_as_fd(&s->thread, vm->cfg.seccomp > 0,
				SANDBOX_SNAPSHOT, s->dirfd);
	if (ret)
		return err_fmt(err, errlen, ret, "eventfd: %s", strerror(-ret));
	return 0;
}

void snapshot_release(struct kvmlite_vm *vm)
{
	struct snapshots *s = &vm->snaps;
	int *fds[] = { &s->dirfd, &s->request_fd, &s->take_fd, &s->pagemap_fd,
		       &s->mem_fd };

	worker_release(&s->thread);
	for (size_t i = 0; i < ARRAY_LEN(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (s->have_last)
		snapfile_free(&s->last);
	s->have_last = false;
	free(s->config);
	free(s->msrs);
	free(s->dir);
	s->config = NULL;
	s->msrs = NULL;
	s->dir = NULL;
	pthread_mutex_destroy(&s->lock);
}

/* ---- taking a snapshot ---- */

/* The files a snapshot writes, under their ".new" names until renamed. */
struct save_files {
	int dirfd;
	unsigned int nr;
	char names[MAX_EXTRA_FILES][32];
};

static int save_open(void *opaque, const char *name, bool create)
{
	struct save_files *sf = opaque;
	char tmp[48];
	int fd;

	if (!create || sf->nr >= MAX_EXTRA_FILES ||
	    strlen(name) >= sizeof(sf->names[0]))
		return -EINVAL;
	snprintf(tmp, sizeof(tmp), "%s" NEW_SUFFIX, name);
	fd = openat(sf->dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
	if (fd < 0)
		return -errno;
	snprintf(sf->names[sf->nr++], sizeof(sf->names[0]), "%s", name);
	return fd;
}

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ENODATA;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

static void make_id(uint8_t *id)
{
	uint64_t t = now_ns();

	if (getrandom(id, SNAP_ID_BYTES, GRND_NONBLOCK) == SNAP_ID_BYTES)
		return;
	/* No entropy yet: unique enough to tell two snapshots apart. */
	for (unsigned int i = 0; i < SNAP_ID_BYTES; i++)
		id[i] = (uint8_t)(t >> (8 * (i % 8))) ^ (uint8_t)(i * 37);
}

/* Everything the VM is, into the writer and the memory file; the VM is
 * paused, its devices quiesced. */
static int save_state(struct kvmlite_vm *vm, struct snap_writer *w,
		      const struct snap_files *files, int mem_fd,
		      const uint8_t *id, char *err, size_t errlen)
{
	struct snapshots *s = &vm->snaps;
	uint8_t hdr[MEM_HEADER_BYTES];
	int ret;

	snap_begin(w, SNAP_CONFIG, 0);
	snap_put_bytes(w, s->config, s->config_len);
	snap_end(w);
	board_save(vm, w);
	ret = virtio_slots_save(&vm->virtio, w, files, err, errlen);
	if (ret)
		return ret;
	ret = arch_snapshot_save(vm, w, err, errlen);
	if (ret)
		return ret;

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, SNAP_MEM_MAGIC, 8);
	memcpy(hdr + 8, id, SNAP_ID_BYTES);
	le_put(hdr + 24, 8, vm->mem.size);
	le_put(hdr + 32, 8, SNAP_MEM_DATA_OFFSET);
	ret = write_all(mem_fd, hdr, sizeof(hdr), 0);
	if (!ret)
		ret = guest_mem_save(&vm->mem, mem_fd, SNAP_MEM_DATA_OFFSET,
				     s->pagemap_fd, &vm->stopping);
	if (!ret && fdatasync(mem_fd) < 0)
		ret = -errno;
	if (ret)
		return err_fmt(err, errlen, ret, "%s: %s", MEMORY_FILE,
			       ret == -ECANCELED ? "the VM stopped"
						 : strerror(-ret));
	return 0;
}

static void unlink_new(int dirfd, const char *name)
{
	char tmp[48];

	snprintf(tmp, sizeof(tmp), "%s" NEW_SUFFIX, name);
	(void)unlinkat(dirfd, tmp, 0);
}

static int rename_new(int dirfd, const char *name)
{
	char tmp[48];

	snprintf(tmp, sizeof(tmp), "%s" NEW_SUFFIX, name);
	return renameat(dirfd, tmp, dirfd, name) < 0 ? -errno : 0;
}

/* Keep the snapshot just written as the one a reset goes back to. */
static int keep_last(struct kvmlite_vm *vm, const uint8_t *state, size_t len,
		     int mem_fd)
{
	struct snapshots *s = &vm->snaps;
	struct snapfile f;
	uint8_t *copy = malloc(len);
	int ret;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, state, len);
	ret = snapfile_parse(&f, copy, len, NULL, 0);
	if (ret)
		return ret;
	if (s->have_last)
		snapfile_free(&s->last);
	s->last = f;
	s->have_last = true;
	if (s->mem_fd >= 0)
		close(s->mem_fd);
	s->mem_fd = mem_fd;
	s->ram_is_last = false; /* RAM still maps what it mapped */
	return 0;
}

/*
 * Write a snapshot of the paused VM into @dirfd: every file under its
 * ".new" name, synced, then renamed into place (the state last: a crash
 * between leaves files of two snapshots, which a restore refuses by their
 * ids), and the directory synced.
 */
static int write_snapshot(struct kvmlite_vm *vm, int dirfd, char *err,
			  size_t errlen)
{
	struct save_files sf = { .dirfd = dirfd };
	struct snap_files files = { save_open, &sf };
	struct snap_writer w;
	uint8_t id[SNAP_ID_BYTES];
	const uint8_t *state;
	size_t len;
	int mem_fd, state_fd = -1, ret;

	snap_writer_init(&w);
	make_id(id);
	mem_fd = openat(dirfd, MEMORY_FILE NEW_SUFFIX,
			O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (mem_fd < 0) {
		ret = err_fmt(err, errlen, -errno, "%s: %s", MEMORY_FILE,
			      strerror(errno));
		goto out;
	}
	virtio_slots_quiesce(&vm->virtio, true);
	ret = save_state(vm, &w, &files, mem_fd, id, err, errlen);
	virtio_slots_quiesce(&vm->virtio, false);
	if (ret)
		goto out;
	ret = snap_finish(&w, id, &state, &len);
	if (ret) {
		err_fmt(err, errlen, ret, "%s: %s", STATE_FILE, strerror(-ret));
		goto out;
	}
	state_fd = openat(dirfd, STATE_FILE NEW_SUFFIX,
			  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ret = state_fd < 0 ? -errno : write_all(state_fd, state, len, 0);
	if (!ret && fdatasync(state_fd) < 0)
		ret = -errno;
	if (ret) {
		err_fmt(err, errlen, ret, "%s: %s", STATE_FILE, strerror(-ret));
		goto out;
	}
	ret = rename_new(dirfd, MEMORY_FILE);
	for (unsigned int i = 0; i < sf.nr && !ret; i++)
		ret = rename_new(dirfd, sf.names[i]);
	if (!ret)
		ret = rename_new(dirfd, STATE_FILE);
	if (!ret && fsync(dirfd) < 0)
		ret = -errno;
	if (ret) {
		err_fmt(err, errlen, ret, "renaming into place: %s",
			strerror(-ret));
		goto out;
	}
	ret = keep_last(vm, state, len, mem_fd);
	if (ret)
		err_fmt(err, errlen, ret, "%s", strerror(-ret));
	else
		mem_fd = -1; /* kept */
out:
	if (ret) {
		unlink_new(dirfd, MEMORY_FILE);
		unlink_new(dirfd, STATE_FILE);
		for (unsigned int i = 0; i < sf.nr; i++)
			unlink_new(dirfd, sf.names[i]);
	}
	if (mem_fd >= 0)
		close(mem_fd);
	if (state_fd >= 0)
		close(state_fd);
	snap_writer_free(&w);
	return ret;
}

/* Pause and write; the caller resumes. Under s->lock. */
static int pause_and_write(struct kvmlite_vm *vm, int dirfd, char *err,
			   size_t errlen)
{
	if (!vm->snaps.pagemap_fd_tried && vm->snaps.pagemap_fd < 0)
		vm->snaps.pagemap_fd =
			open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	vm->snaps.pagemap_fd_tried = true;
	if (vm->exec)
		return err_fmt(err, errlen, -EOPNOTSUPP,
			       "an exec VM takes no snapshots");
	/* Before the pause: a device with no saved state refuses at once. */
	if (virtio_slots_saveable(&vm->virtio, err, errlen))
		return -EOPNOTSUPP;
	if (vm_pause_vcpus(vm))
		return err_fmt(err, errlen, -EINVAL, "the VM is not running");
	return write_snapshot(vm, dirfd, err, errlen);
}

int kvmlite_vm_snapshot(struct kvmlite_vm *vm, const char *dir)
{
	char why[256];
	int dirfd, ret;

	if (!vm || !dir || !*dir)
		return -EINVAL;
	pthread_mutex_lock(&vm->snaps.lock);
	dirfd = open_dir(dir, true);
	if (dirfd < 0) {
		ret = dirfd;
		snprintf(why, sizeof(why), "%s", strerror(-ret));
	} else {
		ret = pause_and_write(vm, dirfd, why, sizeof(why));
		vm_resume_vcpus(vm);
		close(dirfd);
	}
	pthread_mutex_unlock(&vm->snaps.lock);
	if (ret)
		vm_set_error(vm, "snapshot %s: %s", dir, why);
	return ret;
}

void snapshot_request(struct kvmlite_vm *vm)
{
	if (!vm->snaps.dir || vm->snaps.request_fd < 0)
		return;
	/* This vCPU parks once its write is complete (its next KVM_RUN
	 * returns at once), so the snapshot holds the instruction after. */
	vm_request_pause(vm);
	(void)eventfd_write(vm->snaps.request_fd, 1);
}

static void guest_snapshot(struct kvmlite_vm *vm)
{
	char why[256];
	int ret;

	pthread_mutex_lock(&vm->snaps.lock);
	ret = pause_and_write(vm, vm->snaps.dirfd, why, sizeof(why));
	/* Before the guest goes on past its request. */
	if (ret && !vm->stopping)
		vm_request_exit(vm, KVMLITE_EXIT_ERROR, 0, "snapshot %s: %s",
				vm->snaps.dir, why);
	vm_resume_vcpus(vm);
	pthread_mutex_unlock(&vm->snaps.lock);
}

/* kvmlite_vm_snapshot_to_dir()'s: a failure is its caller's to report,
 * the VM runs on. */
static void caller_snapshot(struct kvmlite_vm *vm)
{
	struct snapshots *s = &vm->snaps;
	char why[256];
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = pause_and_write(vm, s->dirfd, why, sizeof(why));
	vm_resume_vcpus(vm);
	pthread_mutex_unlock(&s->lock);
	if (ret)
		vm_set_error(vm, "snapshot %s: %s", s->dir, why);
	pthread_mutex_lock(&vm->lock);
	s->take_ret = ret;
	snprintf(s->take_why, sizeof(s->take_why), "%s", ret ? why : "");
	s->take_done = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static void *snapshot_thread(void *arg)
{
	struct kvmlite_vm *vm = arg;
	struct pollfd p[3] = {
		{ .fd = vm->snaps.thread.stop_fd, .events = POLLIN },
		{ .fd = vm->snaps.request_fd, .events = POLLIN },
		{ .fd = vm->snaps.take_fd, .events = POLLIN },
	};
	eventfd_t v;

	for (;;) {
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (p[0].revents)
			return NULL;
		if (p[1].revents && !eventfd_read(vm->snaps.request_fd, &v))
			guest_snapshot(vm);
		if (p[2].revents && !eventfd_read(vm->snaps.take_fd, &v))
			caller_snapshot(vm);
	}
}

int kvmlite_vm_snapshot_to_dir(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	struct snapshots *s;
	int ret;

	if (!vm)
		return -EINVAL;
	s = &vm->snaps;
	if (!s->dir || s->take_fd < 0)
		return err_fmt(err, errlen, -ENOENT,
			       "the VM has no snapshot directory");
	pthread_mutex_lock(&vm->lock);
	if (!vm->started || vm->stopping) {
		ret = err_fmt(err, errlen, -EINVAL, "the VM is not running");
		goto out;
	}
	if (s->take_busy) {
		ret = err_fmt(err, errlen, -EBUSY,
			      "another snapshot to %s is in progress", s->dir);
		goto out;
	}
	s->take_busy = true;
	s->take_done = false;
	/* The counter of an eventfd nobody else writes: this cannot fail. */
	(void)eventfd_write(s->take_fd, 1);
	/* A stop wakes this at once; the thread's snapshot then ends at its
	 * next step, its answer unread. */
	while (!s->take_done && !vm->stopping)
		pthread_cond_wait(&vm->cond, &vm->lock);
	if (s->take_done) {
		ret = s->take_ret;
		if (ret)
			err_fmt(err, errlen, ret, "%s", s->take_why);
	} else {
		ret = err_fmt(err, errlen, -ECANCELED,
			      "the VM stopped before the snapshot was taken");
	}
	s->take_busy = false;
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int snapshot_start(struct kvmlite_vm *vm, char *err, size_t errlen)
{
	int ret;

	if (!vm->snaps.dir)
		return 0;
	ret = worker_run(&vm->snaps.thread, snapshot_thread, vm);
	if (ret)
		return err_fmt(err, errlen, ret,
			       "cannot start the snapshot thread: %s",
			       strerror(-ret));
	return 0;
}

/* ---- setting a VM back ---- */

/* Restore's files: read-only, by their names in the snapshot. */
static int restore_open(void *opaque, const char *name, bool create)
{
	int dirfd = *(const int *)opaque, fd;

	if (create)
		return -EINVAL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* An error setting state back that a snapshot's contents caused: the
 * snapshot cannot be used here. */
static int as_unusable(int ret)
{
	return ret == -EINVAL || ret == -E2BIG || ret == -ENOEXEC ||
			       ret == -ENOENT
		       ? -ENOEXEC
		       : ret;
}

/*
 * Set the VM to snapshot @f: the devices (quiesced meanwhile), the
 * irqchip, PIT and clock, then every vCPU. @in_place: a running VM's
 * reset (RAM mapped back, devices keep their files, CPUID as it is); else
 * a new VM, whose vCPUs must have the snapshot's CPUID.
 */
static int apply_state(struct kvmlite_vm *vm, const struct snapfile *f,
		       const struct snap_files *files, bool in_place, char *err,
		       size_t errlen)
{
	struct arch_cpu_state *cpus = NULL;
	int ret;

	ret = arch_snapshot_decode(vm, f, in_place, &cpus, err, errlen);
	if (ret)
		goto out;

	virtio_slots_quiesce(&vm->virtio, true);
	if (in_place) {
		struct snapshots *s = &vm->snaps;

		ret = s->ram_is_last ? guest_mem_discard_private(&vm->mem)
				     : guest_mem_map_file(&vm->mem, s->mem_fd,
							  SNAP_MEM_DATA_OFFSET);
		s->ram_is_last = !ret;
		if (ret)
			err_fmt(err, errlen, ret, "guest memory: %s",
				strerror(-ret));
		/* The MMU notifier drops KVM's mappings of the old pages, not
		 * its shadows of the guest's page tables in them. */
		if (!ret) {
			ret = kvm_flush_shadow_mmu(vm->vm_fd, &vm->mem);
			if (ret)
				err_fmt(err, errlen, ret,
					"KVM_SET_USER_MEMORY_REGION: %s",
					strerror(-ret));
		}
	}
	/* The devices drive their lines before the irqchip takes its
	 * state: no edge is made after it. */
	if (!ret)
		ret = board_restore(vm, f, err, errlen);
	if (!ret)
		ret = virtio_slots_restore(&vm->virtio, f, files, err, errlen);
	virtio_slots_quiesce(&vm->virtio, false);
	if (!ret)
		ret = arch_snapshot_apply(vm, cpus, err, errlen);
out:
	arch_snapshot_free(vm, cpus);
	return ret;
}

int kvmlite_vm_reset(struct kvmlite_vm *vm)
{
	struct snapshots *s;
	char why[256];
	int ret;

	if (!vm)
		return -EINVAL;
	s = &vm->snaps;
	pthread_mutex_lock(&s->lock);
	if (!s->have_last) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	ret = vm_pause_vcpus(vm);
	if (ret) {
		vm_resume_vcpus(vm);
		pthread_mutex_unlock(&s->lock);
		return -EINVAL;
	}
	ret = apply_state(vm, &s->last, NULL, true, why, sizeof(why));
	if (!ret) {
		pthread_mutex_lock(&vm->lock);
		vm->t.guest_marker = 0;
		pthread_mutex_unlock(&vm->lock);
	}
	vm_resume_vcpus(vm);
	pthread_mutex_unlock(&s->lock);
	if (ret)
		vm_request_exit(vm, KVMLITE_EXIT_ERROR, 0, "reset: %s", why);
	return ret;
}

/* ---- restoring in a new VM ---- */

/* The snapshot's files, read and checked. */
struct restore_files {
	char path[PATH_MAX];
	int dirfd;
	struct snapfile state;
	bool have_state;
	int mem_fd;
	uint64_t mem_size;
	struct snapshot_config sc; /* the CONFIG section, decoded */
};

static int read_state(struct restore_files *rf, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *data;
	char why[256];
	int fd, ret;

	fd = openat(rf->dirfd, STATE_FILE, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err_fmt(err, errlen, -ENOEXEC, "snapshot %s/%s: %s",
			       rf->path, STATE_FILE, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > SNAP_MAX_STATE_BYTES) {
		ret = err_fmt(err, errlen, -ENOEXEC, "snapshot %s/%s: %s",
			      rf->path, STATE_FILE,
			      !S_ISREG(st.st_mode) ? "not a regular file"
						   : "too large");
		close(fd);
		return ret;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		close(fd);
		return err_fmt(err, errlen, -ENOMEM, "out of memory");
	}
	ret = read_all(fd, data, (size_t)st.st_size, 0);
	close(fd);
	if (ret) {
		free(data);
		return err_fmt(err, errlen, -ENOEXEC, "snapshot %s/%s: %s",
			       rf->path, STATE_FILE,
			       ret == -ENODATA ? "shorter than it was"
					       : strerror(-ret));
	}
	ret = snapfile_parse(&rf->state, data, (size_t)st.st_size, why,
			     sizeof(why));
	if (ret)
		return err_fmt(err, errlen, ret == -ENOMEM ? ret : -ENOEXEC,
			       "snapshot %s/%s: %s", rf->path, STATE_FILE, why);
	rf->have_state = true;
	return 0;
}

static int open_memory(struct restore_files *rf, char *err, size_t errlen)
{
	uint8_t hdr[MEM_HEADER_BYTES];
	struct stat st;
	const char *why = NULL;

	rf->mem_fd = openat(rf->dirfd, MEMORY_FILE,
			    O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (rf->mem_fd < 0)
		return err_fmt(err, errlen, -ENOEXEC, "snapshot %s/%s: %s",
			       rf->path, MEMORY_FILE, strerror(errno));
	if (fstat(rf->mem_fd, &st) < 0 || !S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (read_all(rf->mem_fd, hdr, sizeof(hdr), 0))
		why = "truncated: no header";
	else if (memcmp(hdr, SNAP_MEM_MAGIC, 8) ||
		 le_get(hdr + 32, 8) != SNAP_MEM_DATA_OFFSET)
		why = "not a kvmlite memory file (bad magic)";
	else if (memcmp(hdr + 8, rf->state.id, SNAP_ID_BYTES))
		why = "belongs to another snapshot than the state file";
	if (why)
		return err_fmt(err, errlen, -ENOEXEC, "snapshot %s/%s: %s",
			       rf->path, MEMORY_FILE, why);
	rf->mem_size = le_get(hdr + 24, 8);
	if ((uint64_t)st.st_size != SNAP_MEM_DATA_OFFSET + rf->mem_size)
		return err_fmt(err, errlen, -ENOEXEC,
			       "snapshot %s/%s: truncated or padded: %lld "
			       "bytes, %llu expected",
			       rf->path, MEMORY_FILE, (long long)st.st_size,
			       (unsigned long long)(SNAP_MEM_DATA_OFFSET +
						    rf->mem_size));
	return 0;
}

static const char *keep_string(struct snapshot_config *sc,
			       struct snap_reader *r, bool nullable)
{
	char *buf;

	if (sc->nr_strings >= ARRAY_LEN(sc->strings)) {
		r->err = -EINVAL;
		return NULL;
	}
	buf = malloc(SNAP_MAX_STRING);
	if (!buf) {
		r->err = -ENOMEM;
		return NULL;
	}
	snap_get_str(r, buf, SNAP_MAX_STRING);
	sc->strings[sc->nr_strings++] = buf;
	return nullable && !buf[0] ? NULL : buf;
}

int snapshot_config_decode(const struct snapfile *f, struct snapshot_config *sc)
{
	struct kvmlite_config *cfg = &sc->c.cfg;
	struct snap_reader r;
	const char *name;
	uint32_t nd, nn;
	uint8_t rng;

	if (snapfile_section(f, SNAP_CONFIG, 0, &r))
		return -EINVAL;
	cfg->cpus = snap_get_u32(&r);
	cfg->memory = snap_get_u64(&r);
	sc->linux_kernel = snap_get_u8(&r);
	name = keep_string(sc, &r, true);
	if (!cfg->name)
		cfg->name = name;
	nd = snap_get_u32(&r);
	if (r.err || nd > KVMLITE_MAX_DISKS)
		goto bad;
	for (uint32_t i = 0; i < nd; i++) {
		struct kvmlite_disk *d = &sc->c.disks[i];
		struct snapshot_disk_stamp *st = &sc->stamps[i];

		memset(d, 0, sizeof(*d));
		d->path = keep_string(sc, &r, false);
		d->read_only = snap_get_u8(&r);
		d->serial = keep_string(sc, &r, true);
		d->overlay = snap_get_u8(&r);
		st->blk = snap_get_u8(&r);
		st->size = snap_get_u64(&r);
		st->sec = snap_get_u64(&r);
		st->nsec = snap_get_u32(&r);
	}
	nn = snap_get_u32(&r);
	if (r.err || nn > KVMLITE_MAX_NETS)
		goto bad;
	for (uint32_t i = 0; i < nn; i++) {
		struct kvmlite_net *n = &sc->c.nets[i];
		uint8_t passt;

		n->tap = keep_string(sc, &r, true);
		n->mac = keep_string(sc, &r, false);
		passt = snap_get_u8(&r);
		n->passt = keep_string(sc, &r, false);
		if (r.err || passt > 1 || (passt == !!n->tap) ||
		    (!passt && n->passt[0]))
			goto bad;
		if (!passt)
			n->passt = NULL;
	}
	rng = snap_get_u8(&r);
	cfg->vsock.cid = snap_get_u32(&r);
	cfg->vsock.uds = keep_string(sc, &r, true);
	if (r.err || rng > 1 || !cfg->vsock.cid != !cfg->vsock.uds)
		goto bad;
	cfg->rng = rng;
	if (snap_reader_done(&r))
		goto bad;
	cfg->disks = nd ? sc->c.disks : NULL;
	cfg->nr_disks = nd;
	cfg->nets = nn ? sc->c.nets : NULL;
	cfg->nr_nets = nn;
	return 0;
bad:
	return r.err == -ENOMEM ? -ENOMEM : -EINVAL;
}

void snapshot_config_free(struct snapshot_config *sc)
{
	for (unsigned int i = 0; i < sc->nr_strings; i++)
		free(sc->strings[i]);
	sc->nr_strings = 0;
}

/* The CONFIG section into rf->sc (over the caller's console settings). */
static int decode_config(struct restore_files *rf, char *err, size_t errlen)
{
	int ret = snapshot_config_decode(&rf->state, &rf->sc);

	if (ret)
		return err_fmt(err, errlen, ret == -ENOMEM ? ret : -ENOEXEC,
			       "snapshot %s/%s: the configuration section is "
			       "missing or invalid",
			       rf->path, STATE_FILE);
	return 0;
}

/* Each disk is the one the snapshot used: same kind, same size, and an
 * overlay disk's image not modified since. */
static int check_disks(struct restore_files *rf, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < rf->sc.c.cfg.nr_disks; i++) {
		const struct kvmlite_disk *d = &rf->sc.c.disks[i];
		const struct snapshot_disk_stamp *s = &rf->sc.stamps[i];
		struct stat st;

		if (stat(d->path, &st) < 0)
			return err_fmt(err, errlen, -ENOEXEC,
				       "snapshot %s: disk %s: %s", rf->path,
				       d->path, strerror(errno));
		if ((bool)S_ISBLK(st.st_mode) != s->blk)
			return err_fmt(err, errlen, -ENOEXEC,
				       "snapshot %s: disk %s: was a %s, is "
				       "not now",
				       rf->path, d->path,
				       s->blk ? "block device"
					      : "regular file");
		if (!s->blk && (uint64_t)st.st_size != s->size)
			return err_fmt(err, errlen, -ENOEXEC,
				       "snapshot %s: disk %s: its size changed "
				       "since the snapshot (%lld bytes, was "
				       "%llu)",
				       rf->path, d->path, (long long)st.st_size,
				       (unsigned long long)s->size);
		if (d->overlay && !d->read_only &&
		    ((uint64_t)st.st_mtim.tv_sec != s->sec ||
		     (uint32_t)st.st_mtim.tv_nsec != s->nsec))
			return err_fmt(err, errlen, -ENOEXEC,
				       "snapshot %s: disk %s: modified since "
				       "the snapshot (an overlay disk's image "
				       "must stay as it was)",
				       rf->path, d->path);
	}
	return 0;
}

static void restore_files_free(struct restore_files *rf)
{
	if (rf->have_state)
		snapfile_free(&rf->state);
	if (rf->mem_fd >= 0)
		close(rf->mem_fd);
	if (rf->dirfd >= 0)
		close(rf->dirfd);
	snapshot_config_free(&rf->sc);
	free(rf);
}

/* What a restore keeps of the caller's configuration. */
static void take_callers(struct kvmlite_config *to,
			 const struct kvmlite_config *from)
{
	to->console_in_fd = from->console_in_fd;
	to->console_out_fd = from->console_out_fd;
	to->console_cb = from->console_cb;
	to->console_opaque = from->console_opaque;
	to->console_escapes = from->console_escapes;
	to->kick_signal = from->kick_signal;
	to->seccomp = from->seccomp;
	to->process_start_ns = from->process_start_ns;
	to->name = from->name;
	to->snapshot_dir = from->snapshot_dir;
}

int kvmlite_vm_restore(const char *dir, const struct kvmlite_config *user,
		       struct kvmlite_vm **out, char *err, size_t errlen)
{
	struct restore_files *rf;
	struct config_native caller;
	struct snap_files files;
	struct kvmlite_vm *vm = NULL;
	char why[512];
	int ret;

	*out = NULL;
	if (!dir || !*dir)
		return err_fmt(err, errlen, -EINVAL, "snapshot: no directory");
	rf = calloc(1, sizeof(*rf));
	if (!rf)
		return err_fmt(err, errlen, -ENOMEM, "out of memory");
	rf->mem_fd = -1;
	snprintf(rf->path, sizeof(rf->path), "%s", dir);
	if (user) {
		ret = config_import(user, &caller, err, errlen);
		if (ret)
			goto out;
	} else {
		kvmlite_config_init(&caller.cfg);
	}
	kvmlite_config_init(&rf->sc.c.cfg);
	take_callers(&rf->sc.c.cfg, &caller.cfg);
	rf->dirfd = open_dir(dir, false);
	if (rf->dirfd < 0) {
		ret = err_fmt(err, errlen, -ENOEXEC, "snapshot %s: %s", dir,
			      strerror(-rf->dirfd));
		goto out;
	}
	ret = read_state(rf, err, errlen);
	if (!ret)
		ret = open_memory(rf, err, errlen);
	if (!ret)
		ret = decode_config(rf, err, errlen);
	if (ret)
		goto out;
	if (rf->sc.c.cfg.memory != rf->mem_size) {
		ret = err_fmt(err, errlen, -ENOEXEC,
			      "snapshot %s/%s: holds %llu bytes of RAM, the "
			      "state %llu",
			      dir, MEMORY_FILE,
			      (unsigned long long)rf->mem_size,
			      (unsigned long long)rf->sc.c.cfg.memory);
		goto out;
	}
	ret = config_validate_machine(&rf->sc.c.cfg, why, sizeof(why));
	if (ret) {
		ret = err_fmt(err, errlen, -ENOEXEC, "snapshot %s/%s: %s", dir,
			      STATE_FILE, why);
		goto out;
	}
	ret = check_disks(rf, err, errlen);
	if (ret)
		goto out;

	ret = vm_alloc(&rf->sc.c, &vm, err, errlen);
	if (ret)
		goto out;
	vm->boot.linux_kernel = rf->sc.linux_kernel;
	ret = guest_mem_init_file(&vm->mem, rf->mem_size, rf->mem_fd,
				  SNAP_MEM_DATA_OFFSET);
	if (ret) {
		err_fmt(err, errlen, ret, "snapshot %s/%s: %s", dir,
			MEMORY_FILE, strerror(-ret));
		goto out;
	}
	vm->t.loaded = now_ns();
	ret = vm_create_devices(vm, &rf->sc.c, err, errlen);
	if (!ret)
		ret = vm_create_machine(vm, &rf->sc.c, err, errlen);
	if (ret)
		goto out;
	files = (struct snap_files){ restore_open, &rf->dirfd };
	ret = apply_state(vm, &rf->state, &files, false, why, sizeof(why));
	if (ret) {
		ret = as_unusable(ret);
		err_fmt(err, errlen, ret, "snapshot %s: %s", dir, why);
		goto out;
	}
	/* What a reset goes back to. */
	vm->snaps.last = rf->state;
	vm->snaps.have_last = true;
	rf->have_state = false;
	vm->snaps.mem_fd = rf->mem_fd;
	rf->mem_fd = -1;
	vm->snaps.ram_is_last = true;
	*out = vm;
	vm = NULL;
out:
	kvmlite_vm_destroy(vm);
	restore_files_free(rf);
	return ret;
}
