/*
 * The 9P2000.L server behind virtio-9p: one shared host directory, one
 * client (the guest's kernel), one message at a time. No guest memory
 * here: a request is bytes in, a reply bytes out, so that the unit tests
 * and the fuzzer drive it directly.
 *
 * Confinement: every fid holds a descriptor (O_PATH unless the file was
 * created open) of the file it names, and every name the guest sends is
 * one path component, resolved relative to a fid's descriptor with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
 * or handed to a *at() call that does not traverse it (mkdirat,
 * unlinkat, renameat, symlinkat, linkat's new name, fstatat with
 * AT_SYMLINK_NOFOLLOW). A name holding '/', empty, "." or ".." is refused
 * (EINVAL; Linux resolves "." and ".." itself and never sends them), and
 * no symlink is ever followed on the host: the guest's kernel reads a
 * link (Treadlink) and resolves it in its own namespace, within the
 * share. So neither "..", nor an absolute or relative symlink, nor
 * /proc/self tricks, nor a rename racing a walk reaches outside the
 * directory: a walk moves from descriptor to descriptor, and a directory
 * renamed meanwhile is still the same directory. Files are reopened for
 * I/O through /proc/self/fd/N of the fid's own descriptor (a regular file
 * or directory only: the type of an inode never changes), the way
 * virtiofsd does, since O_PATH descriptors cannot be read or chmod-ed.
 *
 * A host process moving a directory out of the share while the guest holds
 * a fid in it is out of reach of any of this (the fid then names the
 * moved directory); the guest alone cannot.
 *
 * Bounds: msize from P9_MSIZE_MIN to P9_MSIZE_MAX (Tversion), at most
 * P9_MAX_FIDS fids (then EMFILE) of which P9_MAX_OPEN open (then ENFILE).
 * Read-only: every call that would change the share is refused with
 * EROFS, and files open for reading only.
 *
 * Identity: files are created as, and owned by, the VMM's user; the
 * guest's uid/gid in Tlcreate/Tmkdir/... are ignored (a Tsetattr chown is
 * tried and may fail with EPERM). Extended attributes, device nodes, FIFOs
 * and sockets (Tmknod) are refused (EOPNOTSUPP / EPERM). Tlock answers
 * success and Tgetlock "unlocked" without locking on the host: the guest
 * is the only client, and its kernel orders its own processes' locks.
 * Trename and Tremove name a file by fid alone: a fid keeps the
 * descriptor of the directory its walk found it in and its name there,
 * and they act on that name (renameat/unlinkat, single components) once
 * it is seen to still name the fid's file (else ENOENT; the root: EBUSY).
 * Such a fid costs two descriptors.
 */
#ifndef KVMLITE_VIRTIO_P9_SERVER_H
#define KVMLITE_VIRTIO_P9_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P9_VERSION_L "9P2000.L"
#define P9_MSIZE_MIN 4096
#define P9_MSIZE_MAX (512u << 10)
#define P9_MAX_FIDS 1024
#define P9_MAX_OPEN 256

struct p9_fid;

struct p9_server_stats {
	uint64_t requests;
	uint64_t errors; /* answered with Rlerror */
	uint64_t read_bytes, written_bytes;
};

struct p9_server {
	int root_fd; /* O_PATH, the shared directory */
	int proc_fd; /* /proc/self/fd, O_PATH: reopening fids */
	bool read_only;
	uint32_t msize;	     /* 0 until Tversion */
	struct p9_fid *fids; /* P9_MAX_FIDS slots */
	unsigned int nr_fids, nr_open;
	struct p9_server_stats stats; /* atomic counters */
};

/*
 * Share directory @path (which must be one). 0 or -errno with a message
 * naming it. Opens /proc/self/fd too: -errno when /proc is not mounted.
 */
int p9_server_init(struct p9_server *s, const char *path, bool read_only,
		   char *err, size_t errlen);
void p9_server_destroy(struct p9_server *s);
/* Forget the session: every fid clunked, msize unset (device reset). */
void p9_server_reset(struct p9_server *s);

/*
 * Answer the T-message in @req (@len bytes) with an R-message in @resp
 * (@cap bytes, the room the guest offered, at most msize once
 * negotiated). The reply's length, or 0 when there is none to give (fewer
 * than P9_HDR_SIZE bytes came, or not even an Rlerror fits in @cap).
 */
size_t p9_server_handle(struct p9_server *s, const uint8_t *req, size_t len,
			uint8_t *resp, size_t cap);

void p9_server_get_stats(const struct p9_server *s, struct p9_server_stats *st);

#endif
